"""Typed errors and the exit codes the CLI maps them to (documented in README.md)."""

from collections.abc import Iterable

EXIT_FAILED = 1  # the operation was attempted and failed (host error, every attempt failed)
EXIT_USAGE = 2  # bad input: inventory, options, names; nothing touched any host
EXIT_NO_VALID_HOST = 3  # the scheduler found no host for the request
EXIT_NOT_FOUND = 4  # the named instance, host or group does not exist
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as a shell reports a command the signal ended


class NovactlError(Exception):
    """Base of every error the CLI reports as one line on stderr."""

    exit_code = EXIT_FAILED


class InventoryError(NovactlError):
    """The inventory is malformed; the message names FILE:LINE:COLUMN."""

    exit_code = EXIT_USAGE


class UsageError(NovactlError):
    """A request names something unknown or unsafe (flavor, image, host, name)."""

    exit_code = EXIT_USAGE


class NotFound(NovactlError):
    exit_code = EXIT_NOT_FOUND


class NoValidHost(NovactlError):
    """Nova's NoValidHost, with the explanation of which filter removed which host."""

    exit_code = EXIT_NO_VALID_HOST


class HostError(NovactlError):
    """A host could not be reached or refused an operation; names the host."""

    def __init__(self, host: str, message: str):
        super().__init__(f"{host}: {message}")
        self.host = host
        self.reason = message


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """' Did you mean X?' for the known name closest to a mistyped one ('' when none is close).

    A different case alone (`Cirros`) always matches; otherwise difflib's ratio of at least 0.6.
    """
    import difflib  # only for a mistyped name

    known = list(known)
    same = [k for k in known if k.lower() == word.lower()]
    close = same or difflib.get_close_matches(word.lower(), [k.lower() for k in known], n=1)
    if not close:
        return ""
    match = same[0] if same else next(k for k in known if k.lower() == close[0])
    return f" Did you mean {match!r}?"


def unknown(message: str, name: str, known: Iterable[str]) -> str:
    """`message`, and when a known name is close to `name`, '. Did you mean X?' after it."""
    hint = did_you_mean(name, known)
    return f"{message}.{hint}" if hint else message
