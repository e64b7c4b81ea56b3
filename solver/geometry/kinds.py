"""The geometry kinds (geometry.kind) and the module that builds each.

    axisymmetric   solver.geometry.cell     the (r, z) half-plane of the cell
    cell3d         solver.geometry.cell3d   the same cell as a 3D cylinder
    tile           solver.geometry.tile     an array of cells with word and bit lines
"""

from __future__ import annotations

from importlib import import_module

from solver.config.schema import Config
from solver.geometry.cell import CellModel

MODULES = {"axisymmetric": "solver.geometry.cell", "cell3d": "solver.geometry.cell3d",
           "tile": "solver.geometry.tile"}


def generate(config: Config, gmsh) -> CellModel:
    """Build and mesh the config's geometry in the current gmsh model."""
    return import_module(MODULES[config.geometry.kind]).generate(config, gmsh)


def probe_cylinders(config: Config) -> list:
    """The probes of a 3D kind as cylinders (solver.geometry.solid.ProbeCylinder)."""
    return import_module(MODULES[config.geometry.kind]).probes(config)
