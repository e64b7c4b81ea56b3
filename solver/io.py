"""Atomic file output: write to a temporary name in the same directory, then rename.

A reader never sees a half-written file, and a crash leaves the previous version intact.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from solver.errors import FilathermError, InputError

# mkstemp creates 0600 files; results should get the permissions any new file would get.
_UMASK = os.umask(0)
os.umask(_UMASK)


def ensure_dir(path: str | Path) -> Path:
    """Create a directory (and parents); an unusable location is bad input (exit 2)."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"{path}: exists and is not a directory") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as err:
        raise InputError(f"{path}: cannot create directory ({err.strerror})") from None
    if not os.access(path, os.W_OK):
        raise InputError(f"{path}: directory is not writable")
    return path


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it is renamed onto `target`.

    A failed write (disk full, I/O error) leaves `target` as it was and becomes a one-line
    FilathermError naming the file."""
    target = Path(target)
    ensure_dir(target.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as err:
        raise FilathermError(f"{target}: cannot write ({err.strerror})") from None
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except OSError as err:
        tmp_path.unlink(missing_ok=True)
        raise FilathermError(f"{target}: cannot write ({err.strerror or err}); the previous version is "
                             "untouched") from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


class StagedFiles:
    """Files written by a library into a hidden staging directory beside their target
    directory, moved into place together by `commit` (XDMF writes an .xdmf that names its .h5,
    so the pair must keep its names). Collective over `comm` when one is given."""

    def __init__(self, directory: str | Path, comm=None):
        self.directory = ensure_dir(directory)
        self.comm = comm
        staging = None
        if comm is None or comm.rank == 0:
            try:
                staging = tempfile.mkdtemp(prefix=".staging.", dir=self.directory)
            except OSError as err:
                staging = err
        if comm is not None:
            staging = comm.bcast(staging, root=0)
        if isinstance(staging, OSError):
            raise FilathermError(f"{self.directory}: cannot write ({staging.strerror})")
        self.staging = Path(staging)

    def path(self, name: str) -> Path:
        return self.staging / name

    def commit(self) -> None:
        if self.comm is not None:
            self.comm.barrier()
        if self.comm is None or self.comm.rank == 0:
            try:
                for item in sorted(self.staging.iterdir()):
                    os.replace(item, self.directory / item.name)
                self.staging.rmdir()
            except OSError as err:
                raise FilathermError(f"{self.directory}: cannot write ({err.strerror})") from None
        if self.comm is not None:
            self.comm.barrier()

    def discard(self) -> None:
        if self.comm is None or self.comm.rank == 0:
            shutil.rmtree(self.staging, ignore_errors=True)


def read_bounded(path: str | Path, limit: int, what: str, error: type[InputError] = InputError) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, or a one-line InputError.

    Devices, FIFOs and sockets are refused before they are opened (`/dev/zero` never ends, a
    FIFO blocks until someone writes), and at most `limit` + 1 bytes are read whatever the
    size claimed, so a file that grows while being read cannot exhaust memory either."""
    path = Path(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise error(f"{path}: is a directory, not {what}")
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{path}: not a regular file (a device, FIFO or socket), not {what}")
        if info.st_size > limit:
            raise error(f"{path}: larger than {limit} bytes; not {what}")
        # O_NONBLOCK: should the path have been swapped for a FIFO since stat, open returns
        # at once instead of waiting for a writer (the fstat below then refuses it)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise error(f"{path}: not a regular file, not {what}")
            raw = handle.read(limit + 1)
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except PermissionError:
        raise error(f"{path}: permission denied") from None
    except OSError as err:
        raise error(f"{path}: cannot read ({err.strerror})") from None
    if len(raw) > limit:
        raise error(f"{path}: larger than {limit} bytes; not {what}")
    return raw


MAX_JSON_BYTES = 200_000_000


def read_json(path: str | Path, what: str = "a filatherm JSON file", limit: int = MAX_JSON_BYTES) -> Any:
    """Decoded JSON of a file filatherm wrote, or a one-line InputError naming the file (a
    missing, oversized, truncated or hand-broken file is bad input, not an internal error)."""
    raw = read_bounded(path, limit, what)
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text, not {what}") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}); "
                         f"not {what}") from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply, not {what}") from None


def write_text_atomic(target: str | Path, text: str) -> Path:
    with atomic_path(target) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    return Path(target)


def json_safe(data: Any) -> Any:
    """NaN and infinities become null: JSON has no such numbers."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: json_safe(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [json_safe(value) for value in data]
    return data


def write_json_atomic(target: str | Path, data: Any) -> Path:
    return write_text_atomic(target, json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n")
