"""What paramiko raises when an SSH connection or one of its channels is gone, named once.

Besides SSHException: EOFError (a peer that closed the socket, re-raised by every later call on the
transport, and by a send on a dead connection) and socket errors (OSError, which includes timeouts).
Closing a channel sends to the host, so a close fails the same way.
"""

from __future__ import annotations

import paramiko

LOST = (paramiko.SSHException, EOFError, OSError)
