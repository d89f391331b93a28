"""ServerGroupSoftAffinityWeigher: prefer hosts already running more members of a soft-affinity group."""

from __future__ import annotations

from novactl.scheduler.weights.group_members import GroupMembersWeigher


class ServerGroupSoftAffinityWeigher(GroupMembersWeigher):
    multiplier_option = "soft_affinity_weight_multiplier"
    policy = "soft-affinity"
