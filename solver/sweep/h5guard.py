"""Reading a sweep.h5 that may be hostile without risking the reading process.

The HDF5 library trusts its file: a few bytes zeroed or flipped in a crafted sweep.h5 make it
loop forever or segfault (a damaged global heap of variable-length strings does both), and a
28 kB file can declare a compressed dataset of 2e9 elements. Shapes and sizes are checked from
the metadata before any data is read (solver.sweep.store), and the whole read is first done by
a child process under a time limit: if the child hangs, crashes or is killed, the file is bad
input (one line, exit 2) and the parent never touches it.

    python -m solver.sweep.h5guard STORE      (exit 0: readable; 2: bad, with one line)
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from solver.errors import InputError

BASE_TIMEOUT = 60.0           # s, for any store
SECONDS_PER_GIGABYTE = 120.0  # s, on top: reading is I/O bound


def check_readable(path: Path) -> None:
    """Read the whole store in a child process; InputError if it fails, crashes or hangs."""
    from solver.sweep.launch import clean_mpi_environment

    size = path.stat().st_size
    timeout = BASE_TIMEOUT + SECONDS_PER_GIGABYTE * size / 1e9
    try:
        child = subprocess.run([sys.executable, "-m", "solver.sweep.h5guard", str(path)],
                               capture_output=True, text=True, timeout=timeout,
                               env=clean_mpi_environment(), cwd=_package_parent())
    except subprocess.TimeoutExpired:
        raise InputError(f"{path}: unreadable sweep store (the HDF5 reader did not finish within "
                         f"{timeout:.0f} s: a damaged file)") from None
    if child.returncode == 0:
        return
    lines = child.stderr.strip().splitlines()
    if child.returncode == 2 and lines:
        raise InputError(lines[-1])
    if child.returncode < 0:
        name = signal.Signals(-child.returncode).name
        raise InputError(f"{path}: unreadable sweep store (the HDF5 reader crashed with {name}: a damaged file)")
    detail = lines[-1] if lines else f"exit {child.returncode}"
    raise InputError(f"{path}: unreadable sweep store ({detail})")


def _package_parent() -> str:
    """The directory holding the `solver` package this process runs (the child imports the same)."""
    return str(Path(__file__).resolve().parents[2])


def main(argv: list[str]) -> int:
    from solver.sweep.store import read_sweep

    try:
        read_sweep(Path(argv[0]), checked=True)
    except InputError as err:
        sys.stderr.write(f"{err}\n")  # the child's one line, relayed by check_readable
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
