"""Throwaway certificates for QEMU's native TLS migration on a lab (live_migration_transport: tls).

One CA per lab; every host gets a server and a client certificate (its name and address as subject
alternative names: QEMU checks the target's address from the migration URI) in
`/etc/libvirt/pki-migrate`, named as qemu.conf's migrate_tls_x509_cert_dir wants them, and its
libvirtd is restarted to read qemu.conf again. This is the operator's set-up that novactl never does
(no key ever goes from novactl to a host).
"""

from __future__ import annotations

import grp
import os
import subprocess
from pathlib import Path

from .lab import Lab

CERT_DIR = "/etc/libvirt/pki-migrate"  # inside a host; <host root>/etc-libvirt/pki-migrate outside


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _issue(ca: Path, name: str, address: str, out: Path, usage: str) -> None:
    key, csr, ext = out.with_suffix(".key"), out.with_suffix(".csr"), out.with_suffix(".ext")
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key))
    _openssl("req", "-new", "-key", str(key), "-subj", f"/CN={name}", "-out", str(csr))
    ext.write_text(f"subjectAltName=DNS:{name},IP:{address}\nextendedKeyUsage={usage}\nkeyUsage=digitalSignature,keyEncipherment\n")
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca / "ca-cert.pem"), "-CAkey", str(ca / "ca-key.pem"),
        "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(out),
    )  # fmt: skip


def configure_migration_tls(lab: Lab) -> None:
    ca = lab.workdir / "migration-ca"
    ca.mkdir(exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
             "-subj", "/CN=novactl lab migration CA", "-keyout", str(ca / "ca-key.pem"), "-out", str(ca / "ca-cert.pem"))  # fmt: skip
    qemu_gid = grp.getgrnam("libvirt-qemu").gr_gid  # QEMU, not libvirtd, reads the keys
    for host in lab.hosts:
        target = host.root / "etc-libvirt" / "pki-migrate"
        target.mkdir(exist_ok=True)
        (target / "ca-cert.pem").write_bytes((ca / "ca-cert.pem").read_bytes())
        for role, usage in (("server", "serverAuth"), ("client", "clientAuth")):
            _issue(ca, host.name, host.address, target / f"{role}-cert.pem", usage)
            key = target / f"{role}-cert.key"
            key.rename(target / f"{role}-key.pem")
            os.chown(target / f"{role}-key.pem", 0, qemu_gid)
            os.chmod(target / f"{role}-key.pem", 0o640)
        for leftover in [*target.glob("*.csr"), *target.glob("*.ext")]:
            leftover.unlink()
        with open(host.root / "etc-libvirt" / "qemu.conf", "a") as conf:
            conf.write(f'\nmigrate_tls_x509_cert_dir = "{CERT_DIR}"\n')
        lab.restart_libvirtd(host)
