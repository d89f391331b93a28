"""Build (or find) the Linux test guest by hand: `python3 -m tests.linux_guest` prints its path."""

from tests.linux_guest import image

print(image())
