"""Nova's FilterScheduler (Pike/Queens, when filters still checked capacity), run locally.

For each instance of a request: narrow the hosts with the filters, weigh the survivors, pick one of
the best `host_subset_size`, and consume the instance's resources from that HostState before the
next instance, so a multi-create sees its own earlier placements. The HostStates and the request's
server group are mutated as Nova's scheduler mutated its own (limits, usage, group hosts/members).
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from itertools import compress
from typing import Protocol

from novactl.errors import UsageError
from novactl.hoststate import HostState, InstanceInfo
from novactl.models import SchedulerConfig
from novactl.scheduler import pci
from novactl.scheduler.filters import make_filters
from novactl.scheduler.filters.base import ResourceFilter
from novactl.scheduler.request import RequestSpec
from novactl.scheduler.result import FilterStep, HostNames, Reasons, SchedulingResult, Weighing
from novactl.scheduler.weights import make_weighers, normalize

LOG = logging.getLogger("novactl.scheduler")


class Chooser(Protocol):
    def choice(self, seq: list[HostState]) -> HostState: ...


class Scheduler:
    def __init__(self, config: SchedulerConfig):
        self.config = config
        self.filters = make_filters(list(config.filters), config)
        # A down host reports no resources: a capacity filter listed ahead of ComputeFilter leaves it
        # to ComputeFilter, which says it is down, instead of rejecting it for "0 MB of RAM".
        names = list(config.filters)
        compute_at = names.index("ComputeFilter") if "ComputeFilter" in names else -1
        for filt in self.filters[:compute_at] if compute_at > 0 else ():
            if isinstance(filt, ResourceFilter):
                filt.passes_down_hosts = True
        self.weighers = make_weighers(list(config.weighers), config)

    # -- the request loop ------------------------------------------------------------------------
    def select(self, hosts: list[HostState], spec: RequestSpec, min_count: int = 1, rng: Chooser | None = None) -> SchedulingResult:
        """Place spec.num_instances instances; fewer if only min_count..num_instances fit.

        Among the `host_subset_size` best hosts the pick is `rng.choice` (default: the `random`
        module, as Nova). The subset is ordered deterministically — higher weight first, then host
        name ascending — so a seeded rng, or a subset size of 1, always gives the same answer.
        If fewer than `min_count` instances fit, nothing is placed: every consumption is undone
        and `result.failure` / `no_valid_host_message(result)` say why.
        """
        if not 1 <= min_count <= max(spec.num_instances, 1):
            raise UsageError(f"min_count must be between 1 and the number of instances ({spec.num_instances}), got {min_count}")
        chooser: Chooser = rng if rng is not None else random  # type: ignore[assignment]
        pci_requests = pci.requests_for(spec.flavor, self.config.pci_alias)
        result = SchedulingResult(requested=spec.num_instances, min_count=min_count, forced=bool(spec.force_hosts))
        candidates, pre_steps = self.candidates(hosts, spec)
        undo = _Undo(spec)
        for index in range(spec.num_instances):
            if result.forced:
                survivors, steps = candidates, []  # Nova skipped every filter for forced hosts
            else:
                survivors, steps = self.filter_hosts(candidates, spec, index)
            result.passes.append(pre_steps + steps if index == 0 else steps)
            if not survivors:
                result.failure = self._log_no_hosts(spec, pre_steps + steps if index == 0 else steps, index)
                break
            weighing = self.weigh_hosts(survivors, spec)
            if index == 0:
                result.weighing = weighing
            chosen = self._pick(survivors, weighing, chooser)
            if result.forced:  # before limits are reset: asking a filter may set one
                result.warnings += self._forced_host_warnings(chosen, spec, index)
            chosen.limits = {}  # exactly the limits of the filters that just passed it
            for filt in self.filters:
                if filt.run_for_index(index) and not result.forced:
                    filt.record_limit(chosen)
            LOG.debug("Selected host: %s", chosen.host)
            result.selections.append(chosen.host)
            result.selection_limits.append(dict(chosen.limits))
            undo.remember(chosen)
            result.instance_uuids.append(self.consume(chosen, spec, pci_requests))
            candidates = survivors  # Nova filters the next instance against this pass's survivors
        result.fitted = len(result.selections)
        if result.fitted < min_count:
            _format_reasons(result.passes)  # while the rejected hosts still hold what their reasons say
            undo.rollback()
            result.selections, result.selection_limits, result.instance_uuids = [], [], []
        return result

    def candidates(self, hosts: list[HostState], spec: RequestSpec) -> tuple[list[HostState], list[FilterStep]]:
        """Apply ignore_hosts and force_hosts as Nova's host manager did (case-insensitive names)."""
        steps = []
        if spec.ignore_hosts:
            ignored = {name.lower() for name in spec.ignore_hosts}
            hosts, step = _split("ignore_hosts", hosts, lambda h: h.host.lower() not in ignored, "ignored for this request")
            steps.append(step)
            LOG.info("Host filter ignoring hosts: %s", ", ".join(step.rejected))
        if spec.force_hosts and hosts:
            forced = {name.lower() for name in spec.force_hosts}
            why = f"not in force_hosts ({', '.join(spec.force_hosts)})"
            hosts, step = _split("force_hosts", hosts, lambda h: h.host.lower() in forced, why)
            steps.append(step)
            if hosts:
                LOG.info("Host filter forcing available hosts to %s", ", ".join(step.passed))
            else:
                LOG.info("No hosts matched due to not matching 'force_hosts' value of '%s'", ", ".join(spec.force_hosts))
        return hosts, steps

    def filter_hosts(
        self, hosts: list[HostState], spec: RequestSpec, index: int = 0, explain: bool = True
    ) -> tuple[list[HostState], list[FilterStep]]:
        """Run the enabled filters in order, stopping at the first that leaves no host (as Nova).

        With explain=False no FilterStep is built except for the filter that emptied the list.
        """
        LOG.debug("Starting with %d host(s)", len(hosts))
        steps: list[FilterStep] = []
        if not hosts:
            return hosts, steps
        names = HostNames(hosts)
        for filt in self.filters:
            if not filt.run_for_index(index):
                continue
            if filt.applies(spec):
                flags = filt.passes_all(hosts, spec)
                survivors = list(compress(hosts, flags))
            else:
                survivors = hosts
            if len(survivors) != len(hosts) or not survivors:
                if explain or not survivors:
                    removed = [h for h, ok in zip(hosts, flags, strict=True) if not ok]
                    names = HostNames(survivors)
                    steps.append(FilterStep(filt.name, names, Reasons(removed, partial(filt.explain, spec=spec))))
            elif explain:
                steps.append(FilterStep(filt.name, names))  # nothing removed: share the name list
            hosts = survivors
            if not hosts:
                LOG.info("Filter %s returned 0 hosts", filt.name)
                break
            LOG.debug("Filter %s returned %d host(s)", filt.name, len(hosts))
        return hosts, steps

    def weigh_hosts(self, hosts: list[HostState], spec: RequestSpec) -> Weighing:
        """Raw weights per weigher, normalised over these hosts, times each weigher's multiplier."""
        count = len(hosts)
        zeros = [0.0] * count
        weighing = Weighing([h.host for h in hosts], {}, {}, list(zeros))
        for weigher in self.weighers:
            raw = weigher.weigh_all(hosts, spec) if weigher.applies(spec) else zeros
            # Nova gives a lone host weight 0 without asking the weighers to scale anything.
            norm = normalize(raw, *weigher.bounds(raw)) if count > 1 else zeros
            weighing.raw[weigher.name] = raw
            weighing.normalized[weigher.name] = norm
            multiplier = weigher.multiplier()
            if multiplier and norm is not zeros:
                weighing.totals = [t + multiplier * n for t, n in zip(weighing.totals, norm, strict=True)]
        if LOG.isEnabledFor(logging.DEBUG):
            ranked = ", ".join(f"WeighedHost [host: {row.host}, weight: {row.weight}]" for row in weighing.rows())
            LOG.debug("Weighed [%s]", ranked)
        return weighing

    def consume(self, host_state: HostState, spec: RequestSpec, pci_requests: list[pci.PciRequest]) -> str:
        """Account one planned instance on its host; returns the uuid it was planned under."""
        planned = str(uuid.uuid4())
        group = spec.instance_group
        if group is None:
            host_state.consume(spec.flavor)
        else:
            # The planned instance joins the group on that host, so the group filters and the
            # soft-(anti-)affinity weighers see it when placing the request's next instance.
            info = InstanceInfo(planned, "(planned)", host_state.host, spec.flavor, group=group.name, zone=host_state.zone)
            host_state.consume(spec.flavor, info)
            group.members.append(planned)
            group.hosts.append(host_state.host)
        if pci_requests:
            pci.claim(host_state, pci_requests, planned)
        return planned

    # -- helpers -----------------------------------------------------------------------------------
    def _forced_host_warnings(self, host: HostState, spec: RequestSpec, index: int) -> list[str]:
        """Nova skips every filter for a host forced with AZ:HOST, and so does novactl; but each filter is
        still asked, for each instance (the earlier ones already consumed on that host), and says what
        the host would fail and why."""
        which = f" for instance {index + 1} of {spec.num_instances}" if spec.num_instances > 1 else ""
        return [
            f"forced host {host.host} would fail {filt.name}{which}: {filt.explain(host, spec)}"
            for filt in self.filters
            if filt.run_for_index(index) and filt.applies(spec) and not filt.host_passes(host, spec)
        ]

    def _pick(self, hosts: list[HostState], weighing: Weighing, chooser: Chooser) -> HostState:
        size = max(1, self.config.host_subset_size)
        totals, names = weighing.totals, weighing.hosts
        if size == 1:
            best = max(totals)
            return min((h for h, t in zip(hosts, totals, strict=True) if t == best), key=lambda h: h.host)
        top = sorted(range(len(hosts)), key=lambda i: (-totals[i], names[i]))[:size]
        return chooser.choice([hosts[i] for i in top])

    def _log_no_hosts(self, spec: RequestSpec, steps: list[FilterStep], index: int) -> str:
        LOG.info(
            "Filtering removed all hosts for the request with instance ID '%s'. Filter results: %s",
            spec.instance_uuid or "",
            [step.summary for step in steps],
        )
        emptied = next((step.name for step in reversed(steps) if not step.passed), None)
        which = f"instance {index + 1}" if spec.num_instances > 1 else "the request"
        if emptied is None:
            return f"There are no hosts to consider for {which}."
        return f"{emptied} removed the last host(s) for {which}."


def _split(name: str, hosts: list[HostState], keep: Callable[[HostState], bool], why: str) -> tuple[list[HostState], FilterStep]:
    kept = [h for h in hosts if keep(h)]
    return kept, FilterStep(name, [h.host for h in kept], {h.host: why for h in hosts if not keep(h)})


def _format_reasons(passes: list[list[FilterStep]]) -> None:
    for steps in passes:
        for step in steps:
            if isinstance(step.rejected, Reasons):
                step.rejected.format()


class _Undo:
    """Remembers what placements change, so a request that cannot reach min_count leaves no trace."""

    def __init__(self, spec: RequestSpec):
        self.spec = spec
        group = spec.instance_group
        self.group_sizes = (len(group.hosts), len(group.members)) if group else (0, 0)
        self.saved: dict[int, tuple[HostState, HostState]] = {}

    def remember(self, host_state: HostState) -> None:
        if id(host_state) not in self.saved:
            self.saved[id(host_state)] = (host_state, replace(host_state, instances=dict(host_state.instances)))

    def rollback(self) -> None:
        for host_state, before in self.saved.values():
            host_state.memory_mb_used = before.memory_mb_used
            host_state.local_gb_used = before.local_gb_used
            host_state.vcpus_used = before.vcpus_used
            host_state.instances = before.instances
            host_state.pci_devices = before.pci_devices
        group = self.spec.instance_group
        if group is not None:
            del group.hosts[self.group_sizes[0] :]
            del group.members[self.group_sizes[1] :]
