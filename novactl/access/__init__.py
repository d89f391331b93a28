"""Getting into guests: the interactive serial console and ssh with a pinned host key."""
