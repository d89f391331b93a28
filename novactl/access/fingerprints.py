"""A guest's SSH host key fingerprints, as cloud-init prints them on the serial console.

cloud-init's keys-to-console module writes

    -----BEGIN SSH HOST KEY FINGERPRINTS-----
    256 SHA256:<43 base64 characters> root@host (ED25519)
    -----END SSH HOST KEY FINGERPRINTS-----

(on some clouds each line behind a syslog prefix such as `<14>Nov 26 ... ec2: `). The console is the
one channel from the guest that does not cross the guest network, so `novactl ssh` pins the host key
to these fingerprints instead of trusting whatever key answers first on the network. The console log
is guest output, read from the host: it is parsed as hostile input (bounded lines and counts, a strict
fingerprint pattern, anything else in the block ignored).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

BEGIN = "-----BEGIN SSH HOST KEY FINGERPRINTS-----"
END = "-----END SSH HOST KEY FINGERPRINTS-----"
MAX_KEYS = 16  # a host has a handful of key types; a block longer than this is not cloud-init's
_MAX_LINE = 1024
# BITS SHA256:BASE64 COMMENT (TYPE), the TYPE in ssh-keygen -l's words (ED25519, ECDSA, RSA, DSA, ...).
_FINGERPRINT = re.compile(r"(?:^|\s)(\d{2,5}) SHA256:([A-Za-z0-9+/]{43})(?: [^\n]*)? \(([A-Z0-9-]{2,20})\)\s*\Z")


@dataclass(frozen=True)
class Fingerprint:
    bits: int
    sha256: str  # base64 without padding, as ssh-keygen prints it after "SHA256:"
    key_type: str  # ED25519, ECDSA, RSA, ...

    def __str__(self) -> str:
        return f"SHA256:{self.sha256} ({self.key_type})"


def sha256(key_blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a public key blob (the wire format), without the prefix."""
    return base64.b64encode(hashlib.sha256(key_blob).digest()).decode().rstrip("=")


def parse(console: str) -> list[Fingerprint] | None:
    """The fingerprints of the last complete block on the console (the latest boot's), or None.

    None when no block is complete; an empty list when the last one holds no SHA256 fingerprint.
    """
    end = console.rfind(END)
    if end < 0:
        return None
    begin = console.rfind(BEGIN, 0, end)
    if begin < 0:
        return None
    body = console[begin + len(BEGIN) : end]
    found: list[Fingerprint] = []
    for line in body.splitlines()[1:]:  # the rest of BEGIN's line, then one line per key
        line = line[-_MAX_LINE:].rstrip("\r")
        match = _FINGERPRINT.search(line)
        if match and len(found) < MAX_KEYS:
            fingerprint = Fingerprint(int(match.group(1)), match.group(2), match.group(3))
            if fingerprint not in found:
                found.append(fingerprint)
    return found


def matching(fingerprints: list[Fingerprint], key_blob: bytes) -> Fingerprint | None:
    """The fingerprint the key has, if any: the digest covers the key's type and data, so the type matches too."""
    digest = sha256(key_blob)
    return next((f for f in fingerprints if f.sha256 == digest), None)
