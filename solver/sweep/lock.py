"""One writer per sweep store: an exclusive OS lock on OUT/.sweep.lock.

Two processes writing one store (two `--resume` runs, or a second one started with `--force`
and another config) would both solve every point and interleave their rows. The lock is
`flock`, taken without waiting: a second writer is refused at once with one line naming the
holder (pid and host, which the holder writes into the lock file). The kernel releases the
lock when its holder exits, however it exits (SIGKILL, a node reboot), so a stale lock never
needs cleaning up: the next writer takes it and overwrites the holder line. On NFS, flock is
mapped to POSIX byte-range locks (Linux >= 2.6.12), which NFSv4 servers honour across nodes.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

from solver.errors import InputError

LOCK_NAME = ".sweep.lock"


class StoreLock:
    def __init__(self, directory: str | Path, name: str = LOCK_NAME, what: str = "sweep store"):
        """`name` is the lock file in `directory`; `what` names the thing written under it in
        the messages (the calibration journal takes the same lock as `.journal.lock`)."""
        self.path = Path(directory) / name
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> "StoreLock":
        if os.path.islink(self.path):
            raise InputError(f"{self.path}: is a symbolic link; a {self.what} does not write through links")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
        except OSError as err:
            raise InputError(f"{self.path}: cannot create the {self.what} lock ({err.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise InputError(f"{self.path.parent}: another filatherm is writing this {self.what} ({holder}); "
                             "wait for it to finish or stop it") from None
        except OSError as err:
            os.close(fd)
            raise InputError(f"{self.path}: cannot lock the {self.what} ({err.strerror})") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "StoreLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
