"""What a scheduling decision returns: the choices, and enough of the working to explain them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from novactl.errors import NoValidHost

if TYPE_CHECKING:
    from novactl.hoststate import HostState


class Reasons(Mapping[str, str]):
    """Rejected host name -> why, each text formatted on first read.

    A request over 10,000 hosts rejects thousands, and most requests are never explained, so the
    filter's `explain` runs only when the reasons are shown. It reads the HostStates then: the
    scheduler formats them itself before it undoes placements (the only change it makes to a
    host it rejected), and a caller reads them before changing the HostStates.
    """

    def __init__(self, hosts: list[HostState], explain: Callable[[HostState], str]):
        self._hosts: list[HostState] | None = hosts
        self._explain = explain
        self._texts: dict[str, str] = {}

    def format(self) -> dict[str, str]:
        """Every reason, formatted now (once)."""
        if self._hosts is not None:
            explain = self._explain
            self._texts = {host.host: explain(host) for host in self._hosts}
            self._hosts = None
        return self._texts

    def __getitem__(self, host: str) -> str:
        return self.format()[host]

    def __iter__(self) -> Iterator[str]:
        return iter(self.format())

    def __len__(self) -> int:
        return len(self._hosts) if self._hosts is not None else len(self._texts)

    def __repr__(self) -> str:
        return repr(self.format())


class HostNames(Sequence[str]):
    """The names of a list of HostStates, listed on first read (the hosts a filter kept)."""

    def __init__(self, hosts: list[HostState]):
        self._hosts = hosts
        self._names: list[str] | None = None

    def _list(self) -> list[str]:
        if self._names is None:
            self._names = [host.host for host in self._hosts]
        return self._names

    def __getitem__(self, index):  # type: ignore[override]
        return self._list()[index]

    def __len__(self) -> int:
        return len(self._hosts)

    def __iter__(self) -> Iterator[str]:
        return iter(self._list())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and self._list() == list(other)

    def __repr__(self) -> str:
        return repr(self._list())


@dataclass
class FilterStep:
    """One filter's verdict in one pass: the hosts it kept and, for each host it removed, why."""

    name: str
    passed: Sequence[str]
    rejected: Mapping[str, str] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        """Nova's part_filter_results entry, e.g. 'RamFilter: (start: 3, end: 2)'."""
        return f"{self.name}: (start: {len(self.passed) + len(self.rejected)}, end: {len(self.passed)})"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": list(self.passed), "rejected": dict(self.rejected)}


@dataclass
class WeighedHostInfo:
    host: str
    weight: float  # Σ multiplier × normalized
    raw: dict[str, float]  # weigher name -> what the weigher returned
    normalized: dict[str, float]  # weigher name -> raw scaled into [0, 1]

    def to_dict(self) -> dict[str, Any]:
        weighers = {name: {"raw": self.raw[name], "normalized": self.normalized[name]} for name in self.raw}
        return {"host": self.host, "weight": self.weight, "weighers": weighers}


@dataclass
class Weighing:
    """One pass's weights, column-wise (cheap to build for 10,000 hosts); rows on demand."""

    hosts: list[str]
    raw: dict[str, list[float]]
    normalized: dict[str, list[float]]
    totals: list[float]

    def ranked(self) -> list[int]:
        """Host indices best first: higher weight, then host name ascending (deterministic ties)."""
        hosts, totals = self.hosts, self.totals
        return sorted(range(len(hosts)), key=lambda i: (-totals[i], hosts[i]))

    def rows(self) -> list[WeighedHostInfo]:
        return [
            WeighedHostInfo(
                self.hosts[i],
                self.totals[i],
                {name: values[i] for name, values in self.raw.items()},
                {name: values[i] for name, values in self.normalized.items()},
            )
            for i in self.ranked()
        ]


@dataclass
class SchedulingResult:
    requested: int  # spec.num_instances
    min_count: int
    selections: list[str] = field(default_factory=list)  # one host per placed instance, in order
    selection_limits: list[dict[str, float]] = field(default_factory=list)  # the filters' limits per selection
    instance_uuids: list[str] = field(default_factory=list)  # uuids given to the planned instances
    passes: list[list[FilterStep]] = field(default_factory=list)  # filter steps per instance attempted
    weighing: Weighing | None = field(default=None, repr=False)  # the first instance's weighing
    fitted: int = 0  # instances that fit before placement stopped (kept even when min_count rolls them back)
    failure: str | None = None  # why placement stopped early (None: all requested instances placed)
    forced: bool = False  # force_hosts: filters were bypassed, as Nova's host manager did
    warnings: list[str] = field(default_factory=list)  # each filter a forced host would have failed, and why

    @property
    def chosen(self) -> str | None:
        return self.selections[0] if self.selections else None

    @property
    def ok(self) -> bool:
        return len(self.selections) >= self.min_count

    @property
    def filters(self) -> list[FilterStep]:
        """The first instance's filter pass, in filter order."""
        return self.passes[0] if self.passes else []

    @property
    def weighed(self) -> list[WeighedHostInfo]:
        """The first instance's weighed hosts, best first."""
        return self.weighing.rows() if self.weighing else []

    @property
    def limits(self) -> dict[str, float]:
        return self.selection_limits[0] if self.selection_limits else {}

    def to_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen,
            "selections": list(self.selections),
            "filters": [step.to_dict() for step in self.filters],
            "weighed": [row.to_dict() for row in self.weighed],
            "limits": dict(self.limits),
            "forced": self.forced,
            "warnings": list(self.warnings),
        }

    def no_valid_host(self) -> NoValidHost:
        return NoValidHost(no_valid_host_message(self))


def _removals(steps: list[FilterStep]) -> list[str]:
    lines = []
    for step in steps:
        if step.rejected:
            hosts = "; ".join(f"{host}: {why}" for host, why in sorted(step.rejected.items()))
            lines.append(f"{step.name} removed {len(step.rejected)} host(s) — {hosts}")
    return lines


def no_valid_host_message(result: SchedulingResult) -> str:
    """Nova's 'No valid host was found', saying which filter removed which hosts and why."""
    placed = result.fitted
    if result.requested > 1 or result.min_count > 1:
        head = f"No valid host was found: {placed} of {result.requested} instance(s) fit, at least {result.min_count} required."
    else:
        head = "No valid host was found."
    first = " ".join([head, result.failure]) if result.failure else head
    lines = [first]  # one line for the verdict, then one per filter that removed hosts
    if result.passes:
        last = result.passes[-1]
        if len(result.passes) > 1:
            lines.append(f"For instance {len(result.passes)}:")
        lines.extend(_removals(last))
    return "\n".join(lines)
