"""PID 1 of one lab host's PID namespace.

Run by ``unshare --pid --fork ...`` as ``python3 nsinit.py HOSTNAME``.  It sets the
UTS hostname, says ``ready`` on stdout and then only reaps children.

Reaping matters: daemons started with ``nsenter`` double-fork and get re-parented
to us, and QEMU is daemonized by libvirtd the same way.  A zombie QEMU still
answers ``kill(pid, 0)``, so libvirt would wait for it in ``virsh destroy``.

Killing this process (SIGKILL from the root namespace) makes the kernel kill
every process in the namespace, which is how the lab tears a host down.
"""

import os
import signal
import socket
import sys


def main() -> None:
    socket.sethostname(sys.argv[1])
    # PID 1 gets only the signals it handles; let TERM/INT end the host gently.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: os._exit(0))
    # SIGCHLD stays blocked so sigtimedwait() below cannot miss one that
    # arrives between reaping and waiting.  We never fork, so no child inherits
    # the mask.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    os.write(1, b"ready\n")
    # The parent stops reading after "ready"; make sure nothing can hit the pipe.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    while True:
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        signal.sigtimedwait({signal.SIGCHLD}, 5.0)


if __name__ == "__main__":
    main()
