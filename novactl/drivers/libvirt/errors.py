"""libvirt's errors as novactl's: one place turns a `libvirtError` into a `HostError` naming the host.

`libvirt_errors(host)` is both a context manager and a decorator factory; `host_errors` decorates a
function whose first argument is the `Host` it works on. `reason(exc)` is the one-line text of any
error a driver step can raise, for logs and for the HostError that reports a failed step.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

import libvirt

from novactl.errors import HostError

if TYPE_CHECKING:
    from novactl.drivers.libvirt.host import Host

P = ParamSpec("P")
R = TypeVar("R")


def reason(exc: BaseException) -> str:
    """libvirt's own message, a HostError's reason, or the exception's text."""
    if isinstance(exc, libvirt.libvirtError):
        return exc.get_error_message()
    return getattr(exc, "reason", None) or str(exc)


@contextlib.contextmanager
def libvirt_errors(host_name: str) -> Iterator[None]:
    """Raise a libvirtError from the block as HostError(host_name, "libvirt: <message>")."""
    try:
        yield
    except libvirt.libvirtError as exc:
        raise HostError(host_name, f"libvirt: {reason(exc)}") from None


def host_errors(func: Callable[Concatenate[Host, P], R]) -> Callable[Concatenate[Host, P], R]:
    """`libvirt_errors` around a helper whose first argument is its Host."""

    @functools.wraps(func)
    def wrapper(host: Host, *args: P.args, **kwargs: P.kwargs) -> R:
        with libvirt_errors(host.name):
            return func(host, *args, **kwargs)

    return wrapper
