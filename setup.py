from setuptools import find_packages, setup

setup(
    name="novactl",
    version="0.1.0",
    description="OpenStack Nova's scheduling and VM lifecycle for small KVM clusters, with no control plane",
    packages=find_packages(include=["novactl", "novactl.*"]),
    python_requires=">=3.11",
    install_requires=[
        "click>=8.1",
        "rich>=13",
        "paramiko>=3.4",
        "libvirt-python>=9.0",
        "PyYAML>=6.0",
        "sh>=2.0",
        "jsonschema>=4.18",
        "pycdlib>=1.14",  # the config drive ISO (ISO 9660 + Joliet + Rock Ridge)
    ],
    # python-openstackclient: only its argument parsers, to check `export openstack`'s script.
    # nova: only bench/scheduler.py's Nova column (its FilterScheduler path on the same input); best
    # installed in a venv of its own (--system-site-packages), given with --nova-python.
    extras_require={
        "test": ["pytest>=8", "hypothesis>=6", "ruff", "python-openstackclient>=6", "coverage>=7"],
        "bench": ["nova==34.0.0"],
    },
    entry_points={"console_scripts": ["novactl = novactl.cli:run"]},
)
