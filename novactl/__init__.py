"""novactl: OpenStack Nova's scheduling and VM lifecycle for small KVM clusters, with no control plane."""

__version__ = "0.1.0"
