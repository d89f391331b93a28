"""ServerGroupSoftAntiAffinityWeigher: prefer hosts running fewer members of a soft-anti-affinity group."""

from __future__ import annotations

from novactl.scheduler.weights.group_members import GroupMembersWeigher


class ServerGroupSoftAntiAffinityWeigher(GroupMembersWeigher):
    multiplier_option = "soft_anti_affinity_weight_multiplier"
    policy = "soft-anti-affinity"
    sign = -1  # Nova negates the member count, so the emptiest host normalises to 1
