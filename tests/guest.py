"""A guest that proves it ran from its overlay without downloading anything.

A 512-byte x86 boot sector (assembled here by hand, 16-bit real mode) that writes a marker line to the
first serial port (0x3F8) and then halts, or (count=True) prints a dot
about every second forever, so a test can see it keep running (e.g. across a live migration).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

MARKER = "NOVACTL-GUEST-BOOTED"
LOAD = 0x7C00


def boot_sector(marker: str = MARKER, count: bool = False) -> bytes:
    """The marker line, then either halt (idle: no CPU used) or print a dot about every second forever."""
    message = f"{marker}\r\n".encode()
    code = bytearray()
    code += b"\xfa\xfc"  # cli; cld
    code += b"\x31\xc0\x8e\xd8"  # xor ax, ax; mov ds, ax
    code += b"\xbe\x00\x00"  # mov si, <message>  (patched below)
    code += b"\xba\xf8\x03"  # mov dx, 0x3f8
    loop = len(code)
    code += b"\xac\x84\xc0"  # lodsb; test al, al
    code += b"\x74\x03"  # jz +3 (past the next two instructions)
    code += b"\xee"  # out dx, al
    code += _jmp(loop, len(code))
    tail = len(code)
    if not count:
        code += b"\xf4"  # hlt (interrupts are off: stays halted)
        code += _jmp(tail, len(code))
    else:
        code += b"\xbb\x00\x10"  # mov bx, 0x1000      outer delay
        outer = len(code)
        code += b"\xb9\xff\xff"  # mov cx, 0xffff      inner delay
        code += b"\xe2\xfe"  # loop $
        code += b"\x4b"  # dec bx
        code += bytes([0x75, (outer - (len(code) + 2)) & 0xFF])  # jnz outer
        code += b"\xb0\x2e\xee"  # mov al, '.'; out dx, al
        code += _jmp(tail, len(code))
    code[7:9] = (LOAD + len(code)).to_bytes(2, "little")
    sector = bytes(code) + message + b"\x00"
    assert len(sector) <= 510, "boot sector too long"
    return sector.ljust(510, b"\x00") + b"\x55\xaa"


def _jmp(target: int, at: int) -> bytes:
    """A short jmp placed at offset `at` to offset `target`."""
    return bytes([0xEB, (target - (at + 2)) & 0xFF])


def make_image(path: Path, fmt: str = "qcow2", marker: str = MARKER, size_mb: int = 1, count: bool = False) -> Path:
    """Write the marker guest as a raw file of size_mb, converted to qcow2 when asked."""
    raw = path.with_suffix(".raw") if fmt != "raw" else path
    raw.write_bytes(boot_sector(marker, count).ljust(size_mb * 1024 * 1024, b"\x00"))
    if fmt != "raw":
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", fmt, str(raw), str(path)], check=True)
        raw.unlink()
    return path
