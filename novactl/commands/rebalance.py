"""rebalance: a plan of live migrations evening out the hosts' free RAM (Ganeti's hbal), and its execution."""

from __future__ import annotations

import click

from novactl.commands.common import App, command, pass_app, with_output
from novactl.output import Listing


@command("rebalance", "hosts", examples=["rebalance", "rebalance --execute --max-moves 3"])
@click.option("--dry-run", is_flag=True, help="Print the plan and touch nothing (the default).")
@click.option("--execute", is_flag=True, help="Run the plan's live migrations one by one; stop at the first failure.")
@click.option("--max-moves", type=click.IntRange(min=0), help="Plan at most N moves.")
@with_output
@pass_app
def rebalance(app: App, dry_run: bool, execute: bool, max_moves: int | None) -> Listing:
    """Plan live migrations that even out the hosts' free-RAM ratio, as Ganeti's hbal.

    The score is the standard deviation of the up hosts' free-RAM ratio (0: even). Each move lowers
    it, passes the scheduler's filters for that instance (server groups included) and stays in its
    zone; anti-affinity groups with two members on one host are repaired first.
    """
    from novactl import rebalance as core

    if dry_run and execute:
        raise click.UsageError("--dry-run and --execute are exclusive")
    plan = core.make_plan(app.inventory, max_moves)
    notes = [f"Score (std dev of free RAM ratio): {plan.score_before:.4f} before, {plan.score_after:.4f} after {len(plan.moves)} move(s)."]
    notes += [f"Not repaired: {text}" for text in plan.unrepaired]
    document = plan.to_dict()
    if not execute:
        rows = [[m.instance.name, m.source, m.target, m.reason, round(m.score_after, 4)] for m in plan.moves]
        return Listing(["Instance", "From", "To", "Reason", "Score after"], rows, footer="\n".join(notes), document=document)
    results = core.execute(app.inventory, plan, progress=lambda text: click.echo(text, err=True))
    failed = next((r for r in results if r.exit_code), None)
    if failed is not None:
        pending = sum(1 for r in results if r.detail == "not attempted")
        notes.append(
            f"Stopped at {failed.move.instance.name}: it is still on {failed.move.source}; "
            f"{pending} later move(s) not attempted. The Now on column says where each instance is."
        )
    for row, result in zip(document["moves"], results, strict=True):
        row.update(done=result.done, result=result.detail)
    rows = [[r.move.instance.name, r.move.source, r.move.target, r.detail, r.move.target if r.done else r.move.source] for r in results]
    return Listing(
        ["Instance", "From", "To", "Result", "Now on"],
        rows,
        footer="\n".join(notes),
        exit_code=failed.exit_code if failed else 0,
        document=document,
    )
