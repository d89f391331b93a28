"""The CLI's commands, one module per subject; `index.py` says which module holds which command."""

# --help lists commands under these headings, in this order (novaclient's grouping).
HELP_GROUPS = {
    "servers": "Servers",
    "scheduling": "Scheduling",
    "hosts": "Hosts",
    "images": "Images and flavors",
    "groups": "Server groups",
    "access": "Keypairs and access",
    "other": "Other",
}
