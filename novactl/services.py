"""nova-compute's service status per host (service-enable/-disable): the flag is kept on the host."""

from __future__ import annotations

from novactl.drivers import make_driver
from novactl.errors import HostError
from novactl.models import Inventory


def set_service_status(inventory: Inventory, host: str, disabled: bool, reason: str | None) -> None:
    """Write the enabled flag (and reason) on HOST; one connection, closed on return."""
    driver = make_driver(inventory.host(host), inventory)
    try:
        driver.set_service_status(disabled, reason)
    except HostError as exc:
        raise HostError(host, f"cannot change the service status: {exc.reason}") from None
    finally:
        driver.close()
