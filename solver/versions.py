"""Versions of filatherm and the numerical stack, for `--version` and stored results."""

from __future__ import annotations

import platform

from solver import __version__


def versions() -> dict[str, str]:
    """filatherm, DOLFINx, PETSc, gmsh, numpy and Python versions ("missing" if absent)."""
    out = {"filatherm": __version__}
    try:
        import dolfinx

        out["dolfinx"] = dolfinx.__version__
    except ImportError:
        out["dolfinx"] = "missing"
    try:
        from petsc4py import PETSc

        out["petsc"] = ".".join(str(v) for v in PETSc.Sys.getVersion())
    except ImportError:
        out["petsc"] = "missing"
    try:
        from solver.geometry.session import keep_sigint

        with keep_sigint():  # importing gmsh resets Ctrl-C handling
            import gmsh
        out["gmsh"] = gmsh.__version__
    except ImportError:
        out["gmsh"] = "missing"
    import numpy

    out["numpy"] = numpy.__version__
    out["python"] = platform.python_version()
    return out
