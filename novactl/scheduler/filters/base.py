"""The filter contract: Nova's BaseHostFilter, plus the explanation novactl owes for every rejection."""

from __future__ import annotations

from typing import ClassVar

from novactl.hoststate import HostState
from novactl.models import SchedulerConfig
from novactl.scheduler.request import InstanceGroup, RequestSpec


class BaseHostFilter:
    """One yes/no test of a host against a request.

    `host_passes` is the hot path (run for every host, every instance) and must stay cheap;
    `reason` is called only for rejected hosts, so it may recompute and format freely.
    """

    name: ClassVar[str] = ""
    # Nova's run_filter_once_per_request: the answer cannot change while one request places its
    # instances, so instances after the first skip it (the host list is already narrowed).
    run_filter_once_per_request: ClassVar[bool] = False

    def __init__(self, config: SchedulerConfig):
        self.config = config

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = cls.__name__

    def applies(self, spec: RequestSpec) -> bool:
        """False when the request gives this filter nothing to check, so every host passes unseen.

        Saves a loop over all hosts for the many requests without hints, groups or extra specs;
        may raise UsageError for a request this filter finds malformed.
        """
        return True

    def run_for_index(self, index: int) -> bool:
        return index == 0 or not self.run_filter_once_per_request

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        raise NotImplementedError

    def explain(self, host_state: HostState, spec: RequestSpec) -> str:
        """Why this host was rejected (what the scheduler records)."""
        return self.reason(host_state, spec)

    def reason(self, host_state: HostState, spec: RequestSpec) -> str:
        """Why `host_passes` said no, with the numbers behind it."""
        return "rejected"

    def record_limit(self, host_state: HostState) -> None:
        """Store in host_state.limits what this filter lets the compute claim test against (if any)."""

    def passes_all(self, hosts: list[HostState], spec: RequestSpec) -> list[bool]:
        """host_passes for each host, in order (the scheduler keeps the hosts whose flag is True)."""
        passes = self.host_passes
        return [passes(host, spec) for host in hosts]


class ResourceFilter(BaseHostFilter):
    """A capacity filter: one amount requested per instance, compared with what each host has left.

    `fits` is the pure test. `host_passes` also records the host's limit, as Nova's filters did; the
    batch path (`passes_all`, the hot loop over every host) leaves limits alone and the scheduler
    records them on the one host it picks: writing 10,000 limits dicts per request cost more than
    the tests themselves. The request's amount is computed once per pass, not once per host.
    """

    resource: ClassVar[str] = ""  # what runs out when this filter says no: ram, disk, vcpu
    limit_key: ClassVar[str] = ""  # its key in host_state.limits
    passes_down_hosts = False  # set by the scheduler when ComputeFilter comes later and rejects them

    def requested(self, spec: RequestSpec) -> int:
        raise NotImplementedError

    def fits(self, host_state: HostState, requested: int) -> bool:
        raise NotImplementedError

    def limit(self, host_state: HostState) -> float | None:
        raise NotImplementedError

    def record_limit(self, host_state: HostState) -> None:
        limit = self.limit(host_state)
        if limit is not None:
            host_state.limits[self.limit_key] = limit

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        if self.passes_down_hosts and not host_state.up:
            return True
        passes = self.fits(host_state, self.requested(spec))
        if passes:
            self.record_limit(host_state)
        return passes

    def passes_all(self, hosts: list[HostState], spec: RequestSpec) -> list[bool]:
        requested, fits = self.requested(spec), self.fits
        if self.passes_down_hosts:
            return [not host.up or fits(host, requested) for host in hosts]
        return [fits(host, requested) for host in hosts]

    def explain(self, host_state: HostState, spec: RequestSpec) -> str:
        # A host that did not answer the poll reports no resources at all: its zeros are not the reason.
        if not host_state.up:
            return f"no resource data: compute service down ({host_state.down_reason})"
        return self.reason(host_state, spec)


def group_with_policy(spec: RequestSpec, policy: str) -> InstanceGroup | None:
    """The request's server group if it has `policy`, as the group filters and weighers need it."""
    group = spec.instance_group
    if group is not None and group.policy == policy:
        return group
    return None


def hinted_uuids(spec: RequestSpec, hint: str) -> set[str]:
    """Instance uuids named by a same_host/different_host hint (one or many values)."""
    return set(spec.scheduler_hints.get(hint) or ())
