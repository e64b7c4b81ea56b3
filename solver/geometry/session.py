"""Keeping Python's Ctrl-C handling intact around Gmsh.

The gmsh module sets SIGINT to SIG_DFL when it is imported (so that Ctrl-C kills a long
meshing run), and gmsh.finalize() puts back whatever handler was there at import time. Either
would silently replace the handler a sweep installs to stop cleanly between points, so every
use of gmsh runs inside `keep_sigint()`.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def keep_sigint() -> Iterator[None]:
    previous = signal.getsignal(signal.SIGINT)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


@contextmanager
def gmsh_session() -> Iterator[object]:
    """An initialised, quiet gmsh module for one model; finalised afterwards."""
    with keep_sigint():
        import gmsh

        gmsh.initialize([], readConfigFiles=False)
        try:
            gmsh.option.setNumber("General.Terminal", 0)
            yield gmsh
        finally:
            gmsh.finalize()
