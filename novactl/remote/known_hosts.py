"""Host keys checked as OpenSSH checks them (sshd's `known_hosts` format, `StrictHostKeyChecking yes`).

paramiko's own reader breaks on lines it does not know (`@cert-authority`, `@revoked`: a padding
error for every host) and accepts only one key per type, offering the server only the first type
it finds. Here, as in OpenSSH (hostfile.c, sshconnect.c):

- a line is `[@marker] patterns keytype base64-key [comment]`; lines that do not parse are skipped;
- patterns are comma-separated names with `*`/`?` wildcards and `!` negation (a matching negated
  pattern excludes the line), or one hashed name `|1|salt|hmac-sha1`; a host on a port other than
  22 is named `[host]:port`; names compare case-insensitively;
- a host may be listed with several keys: any of them is accepted;
- `@revoked` keys are refused for the hosts they name, even when also listed as plain keys;
- `@cert-authority` lines sign certificates; novactl connects with plain host keys and ignores them;
- a host with no listed key, or whose key differs from every listed one, is refused.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
from dataclasses import dataclass

# OpenSSH's key names -> the host key algorithms that prove them (an RSA key signs with SHA-2 today).
_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")}


@dataclass(frozen=True)
class Entry:
    marker: str  # "", "@revoked" or "@cert-authority"
    patterns: tuple[str, ...]
    key_type: str
    blob: bytes  # the key in SSH wire format, as the server sends it

    def names(self, host: str) -> bool:
        """Whether this line's patterns name `host` (already in `[host]:port` form when needed)."""
        host = host.lower()
        matched = False
        for pattern in self.patterns:
            if pattern.startswith("|1|"):
                matched = matched or _hashed_matches(pattern, host)
            elif pattern.startswith("!"):
                if _glob_matches(pattern[1:], host):
                    return False
            elif _glob_matches(pattern, host):
                matched = True
        return matched


def _glob_matches(pattern: str, host: str) -> bool:
    """OpenSSH's wildcards, `*` and `?` only: `[host]:port` is a literal name, not a character class."""
    if "*" not in pattern and "?" not in pattern:  # most lines: a plain name (no regex to build per host)
        return pattern.lower() == host
    return _glob_regex(pattern.lower()).fullmatch(host) is not None


@functools.lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def _hashed_matches(pattern: str, host: str) -> bool:
    try:
        _, _, salt, digest = pattern.split("|")
        expected = base64.b64decode(digest, validate=True)
        mac = hmac.new(base64.b64decode(salt, validate=True), host.encode(), hashlib.sha1).digest()
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(mac, expected)


def parse(text: str) -> list[Entry]:
    """Every well-formed line of a known_hosts file; comments, blanks and broken lines are skipped."""
    entries = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        marker = fields.pop(0) if fields[0].startswith("@") else ""
        if marker not in ("", "@revoked", "@cert-authority") or len(fields) < 3:
            continue
        patterns, key_type, key = fields[0], fields[1], fields[2]
        try:
            blob = base64.b64decode(key, validate=True)
        except (ValueError, binascii.Error):
            continue
        entries.append(Entry(marker, tuple(p for p in patterns.split(",") if p), key_type, blob))
    return entries


def host_name(address: str, port: int) -> str:
    """The name a known_hosts line uses for a host: `address`, or `[address]:port` off port 22."""
    return address if port == 22 else f"[{address}]:{port}"


class KnownHosts:
    def __init__(self, entries: list[Entry], source: str):
        self._entries = entries
        self._source = source  # the file, named in refusals
        self._naming: dict[str, list[Entry]] = {}

    @classmethod
    def from_text(cls, text: str, source: str) -> KnownHosts:
        return cls(parse(text), source)

    def _for(self, name: str, marker: str) -> list[Entry]:
        if name not in self._naming:  # each connection asks up to three times about the same name
            self._naming[name] = [e for e in self._entries if e.names(name)]
        return [e for e in self._naming[name] if e.marker == marker]

    def key_types(self, name: str) -> list[str]:
        """Host key algorithms to ask the server for first: those of the keys listed for `name`."""
        types: list[str] = []
        for entry in self._for(name, ""):
            for algorithm in _ALGORITHMS.get(entry.key_type, (entry.key_type,)):
                if algorithm not in types:
                    types.append(algorithm)
        return types

    def refusal(self, name: str, key_type: str, blob: bytes) -> str | None:
        """None if the server's key is accepted for `name`, else why it is refused."""
        if any(e.blob == blob for e in self._for(name, "@revoked")):
            return f"the {key_type} host key of {name} is marked @revoked in {self._source}; refusing to connect"
        listed = self._for(name, "")
        if any(e.blob == blob for e in listed):
            return None
        if listed:
            return f"host key for {name} does not match {self._source}; refusing to connect"
        return f"{name} is not in {self._source}; refusing an unknown host key"
