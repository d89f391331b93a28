"""Integration-test lab: N namespaced "KVM hosts" with sshd + libvirtd each."""

from .lab import Lab, LabCommandError, LabError, LabHost, missing_requirements

__all__ = ["Lab", "LabCommandError", "LabError", "LabHost", "missing_requirements"]
