"""`rebalance`: a plan of live migrations that evens out the hosts, as Ganeti's hbal does for Ganeti.

Score: the population standard deviation of the up hosts' free-RAM ratio (free_ram_mb / memory_mb,
as Nova's resource tracker counts usage), hbal's main metric; 0 is perfectly even.

Planning works on a copy of the polled HostStates. Each step first repairs anti-affinity groups that
have two members on one host (all but the oldest member there must go, even if the score rises),
then takes the single move that lowers the score most, until no move lowers it or --max-moves is
reached. A move is a running (or paused) instance to another up host of its zone that passes the
scheduler's filters for that instance, with its server group counted where the plan has put the
other members so far (the same request `live-migration` schedules with). Each instance moves at most
once, so a plan can be executed move by move and each move is a plain live migration.

Executing runs the moves in order through `moves.live_migration`, which polls again and re-checks
the target with the scheduler and its claim: a plan made earlier is never trusted blindly.
The first failure stops the run; the instance that failed is still on its source (live migration
rolls back), and the moves after it were not attempted.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from novactl import server_groups
from novactl.errors import NovactlError
from novactl.hoststate import HostState, InstanceInfo
from novactl.lifecycle import check_state
from novactl.models import Inventory
from novactl.moves import live_migration, move_spec
from novactl.poller import Cluster, poll
from novactl.scheduler.scheduler import Scheduler

# A move must lower the score by more than this: float noise must not buy a live migration.
MIN_GAIN = 1e-9
LIVE_STATES = {"active", "paused"}  # what live migration accepts (moves.live_migration)


@dataclass
class Move:
    instance: InstanceInfo
    source: str
    target: str
    reason: str  # "balance" or "anti-affinity <group>"
    score_after: float

    def to_dict(self) -> dict[str, str]:
        return {"instance": self.instance.name, "from": self.source, "to": self.target}


@dataclass
class Plan:
    score_before: float
    score_after: float
    moves: list[Move] = field(default_factory=list)
    # Anti-affinity violations no legal move could repair, in words.
    unrepaired: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "score_before": round(self.score_before, 6),
            "score_after": round(self.score_after, 6),
            "moves": [m.to_dict() for m in self.moves],
        }


@dataclass
class MoveResult:
    move: Move
    done: bool
    detail: str  # "live-migrated in 1.2 s", the error, or "not attempted"
    exit_code: int = 0


def score(states: list[HostState]) -> float:
    """Standard deviation of the free-RAM ratio over hosts with memory (0 for fewer than two)."""
    ratios = [s.free_ram_mb / s.memory_mb for s in states if s.memory_mb > 0]
    return statistics.pstdev(ratios) if len(ratios) > 1 else 0.0


def plan(cluster: Cluster, max_moves: int | None = None) -> Plan:
    """The greedy plan over the polled cluster (nothing on any host is touched)."""
    planner = _Planner(cluster)
    before = planner.score()
    result = Plan(before, before)
    while max_moves is None or len(result.moves) < max_moves:
        move = planner.next_move(result.unrepaired)
        if move is None:
            break
        planner.apply(move)
        result.moves.append(move)
        result.score_after = move.score_after
    return result


class _Planner:
    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.scheduler = Scheduler(cluster.inventory.scheduler)
        # Copies: the plan consumes and releases on them as if the moves were made.
        self.states = {
            name: dataclasses.replace(state, instances=dict(state.instances), limits={})
            for name, state in cluster.states.items()
            if state.up
        }
        self.instances = {i.uuid: i for i in cluster.instances if i.host in self.states}
        self.planned: dict[str, str] = {}  # uuid -> target host (what moves.move_spec counts groups by)
        self.groups = server_groups.definitions(cluster)
        self.gave_up: set[str] = set()  # violators no legal move could repair

    def score(self) -> float:
        return score(list(self.states.values()))

    def host_of(self, instance: InstanceInfo) -> str:
        return self.planned.get(instance.uuid, instance.host)

    def next_move(self, unrepaired: list[str]) -> Move | None:
        movable = self._movable()
        live = {i.uuid for i in movable}
        for instance, group in self._violators():
            move = self._best_move(instance, f"anti-affinity {group}") if instance.uuid in live else None
            if move is not None:
                return move
            self.gave_up.add(instance.uuid)
            why = "no legal host to move it to" if instance.uuid in live else "it cannot be live-migrated in its state"
            unrepaired.append(f"{instance.name} shares {self.host_of(instance)} with another member of {group}: {why}")
        current = self.score()
        best = None
        for instance in movable:
            move = self._best_move(instance, "balance")
            if move is not None and (best is None or (move.score_after, move.instance.name) < (best.score_after, best.instance.name)):
                best = move
        if best is None or best.score_after >= current - MIN_GAIN:
            return None
        return best

    def apply(self, move: Move) -> None:
        flavor = move.instance.flavor
        self.states[move.source].release(flavor, move.instance.uuid)
        self.states[move.target].consume(flavor, move.instance)
        self.planned[move.instance.uuid] = move.target

    # -- candidates ------------------------------------------------------------------------------------

    def _movable(self) -> list[InstanceInfo]:
        """Instances live migration accepts, not yet moved by this plan, by name (deterministic)."""
        movable = []
        for instance in sorted(self.instances.values(), key=lambda i: (i.name, i.uuid)):
            if instance.uuid in self.planned:
                continue
            try:
                check_state("live-migrate", instance, LIVE_STATES)
            except NovactlError:
                continue
            movable.append(instance)
        return movable

    def _violators(self) -> list[tuple[InstanceInfo, str]]:
        """Members of anti-affinity groups sharing a host, all but the oldest on each host (those the
        plan has moved or given up on excepted)."""
        found = []
        for definition in self.groups.values():
            if definition.policy != "anti-affinity":
                continue
            members = [i for i in self.instances.values() if i.group in (definition.name, definition.id)]
            by_host: dict[str, list[InstanceInfo]] = {}
            for member in sorted(members, key=lambda i: (i.created, i.name, i.uuid)):
                by_host.setdefault(self.host_of(member), []).append(member)
            for crowded in by_host.values():
                found += [(m, definition.name) for m in crowded[1:] if m.uuid not in self.planned and m.uuid not in self.gave_up]
        return found

    def _best_move(self, instance: InstanceInfo, reason: str) -> Move | None:
        """The legal target (same zone, other host) that leaves the lowest score, or None."""
        source = self.host_of(instance)
        try:
            spec = move_spec(self.cluster, instance, instance.flavor, self.planned)
        except NovactlError:  # e.g. its group is gone: live-migration would refuse it too
            return None
        best = None
        for name in sorted(self.states):
            target = self.states[name]
            if name == source or target.zone != self.states[source].zone:
                continue
            try:
                passed, _ = self.scheduler.filter_hosts([target], spec, explain=False)
            except NovactlError:
                return None
            if not passed:
                continue
            after = self._score_if_moved(instance, source, name)
            if best is None or after < best.score_after:
                best = Move(instance, source, name, reason, after)
        return best

    def _score_if_moved(self, instance: InstanceInfo, source: str, target: str) -> float:
        ram = instance.flavor.ram
        ratios = []
        for name, state in self.states.items():
            if state.memory_mb <= 0:
                continue
            used = state.memory_mb_used + (ram if name == target else -ram if name == source else 0)
            ratios.append((state.memory_mb - used) / state.memory_mb)
        return statistics.pstdev(ratios) if len(ratios) > 1 else 0.0


def make_plan(inventory: Inventory, max_moves: int | None = None) -> Plan:
    with poll(inventory) as cluster:
        return plan(cluster, max_moves)


def execute(inventory: Inventory, the_plan: Plan, progress: Callable[[str], None] | None = None) -> list[MoveResult]:
    """Run the moves one by one; stop at the first failure (the rest: not attempted)."""
    say = progress or (lambda _text: None)
    results: list[MoveResult] = []
    total = len(the_plan.moves)
    for index, move in enumerate(the_plan.moves, 1):
        if results and not results[-1].done:
            results.append(MoveResult(move, False, "not attempted"))
            continue
        say(f"[{index}/{total}] live-migrating {move.instance.name} from {move.source} to {move.target}")
        try:
            _, seconds = live_migration(inventory, move.instance.uuid, move.target, expected_host=move.source)
        except NovactlError as exc:
            say(f"[{index}/{total}] {move.instance.name} failed: {exc}")
            results.append(MoveResult(move, False, f"ERROR: {exc}", exc.exit_code))
            continue
        say(f"[{index}/{total}] {move.instance.name} is on {move.target} ({seconds:.1f} s)")
        results.append(MoveResult(move, True, f"live-migrated in {seconds:.1f} s"))
    return results
