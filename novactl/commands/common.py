"""What every command shares: the application context and the output options."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from novactl import output

if TYPE_CHECKING:
    from novactl.models import Inventory

FORMATS = ("table", "json", "yaml", "csv", "value")


class App:
    """Carried in click's context: global options, the inventory loaded once on first use."""

    def __init__(self, inventory_path: str | None, debug: bool):
        self.inventory_path = inventory_path
        self.debug = debug
        self._inventory: Inventory | None = None

    @property
    def inventory(self) -> Inventory:
        if self._inventory is None:
            from novactl.inventory import find_inventory, load_inventory

            self._inventory = load_inventory(find_inventory(self.inventory_path))
        return self._inventory


pass_app = click.make_pass_decorator(App)


def with_output(func: Callable[..., Any]) -> Callable[..., None]:
    """Add -f/-c/--sort-column to a command whose body returns a Listing or ShowOne, and print it."""

    @click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True, help="Output format.")
    @click.option("-c", "--column", "columns", multiple=True, help="Show only this column (repeatable).")
    @click.option("--sort-column", "sort_columns", multiple=True, help="Sort rows by this column (repeatable).")
    @functools.wraps(func)
    def wrapper(*args: Any, fmt: str, columns: tuple[str, ...], sort_columns: tuple[str, ...], **kwargs: Any) -> None:
        result = func(*args, **kwargs)
        text = output.render(result, fmt, columns, sort_columns, tty=sys.stdout.isatty())
        if text:
            click.echo(text)
        if result.exit_code:
            raise click.exceptions.Exit(result.exit_code)

    return wrapper
