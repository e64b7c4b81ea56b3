"""Estimates made from the config alone, before anything is built: how many cells the mesh
will have and how many points the sweep plan holds. Beyond a limit the work is refused with
one line naming the estimate, instead of gmsh running out of memory (`mesh.filament_size:
1e-6` asks for ~1e14 triangles) or the plan expansion taking minutes and gigabytes (a
`sweep.parameters` product of 2.7e12 points). `--allow-large` (the environment variable
FILATHERM_ALLOW_LARGE=1, which child processes inherit) lifts both limits.

Mesh estimate: the size field of solver.geometry.cell is `filament_size` on and in each
filament, growing linearly with the distance d from it to `size` at `refine_distance`. A
region within distance s of a filament of width w (on the axis) and height t has area
A(s) = w t + (2 w + t) s + pi s^2 / 2 (clipped to the cell), and a triangle of size h covers
sqrt(3)/4 h^2, so cells ~ integral of dA / (sqrt(3)/4 h(s)^2). It is within a factor of about
two of what gmsh makes (tests/test_hostile_inputs.py compares it on two meshes).
"""

from __future__ import annotations

import math
import os

import numpy as np

from solver.errors import InputError

MAX_CELLS = 2_000_000     # a 2D mesh beyond this needs many GB for its LU factorisation
MAX_POINTS = 10_000_000   # sweep points (rows of one store)
TRIANGLE = math.sqrt(3.0) / 4.0


def large_allowed() -> bool:
    return os.environ.get("FILATHERM_ALLOW_LARGE") == "1"


def allow_large() -> None:
    """Lift the limits for this process and its children (`--allow-large`)."""
    os.environ["FILATHERM_ALLOW_LARGE"] = "1"


def estimated_cells(config) -> float:
    """Triangles gmsh will make for the config's cell (see the module docstring)."""
    mesh = config.mesh
    geometry = config.geometry
    area = geometry.radius * geometry.height
    h_min, h_max, spread = mesh.filament_size, mesh.size, mesh.refine_distance
    filaments = [(layer.filament, layer.thickness) for layer in geometry.layers if layer.filament is not None]
    if not filaments:
        return area / (TRIANGLE * h_max**2)
    cells, covered = 0.0, 0.0
    distances = np.linspace(0.0, spread, 2001)
    h = h_min + (h_max - h_min) * distances / spread
    for filament, thickness in filaments:
        width = max(filament.radius, filament.top_radius or 0.0)
        height = filament.height or thickness
        core = width * height
        grown = np.minimum(core + (2 * width + height) * distances + math.pi * distances**2 / 2, area)
        band = np.diff(grown)
        cells += core / (TRIANGLE * h_min**2) + float(np.sum(band / (TRIANGLE * (0.5 * (h[1:] + h[:-1]))**2)))
        covered += grown[-1]
    return cells + max(area - covered, 0.0) / (TRIANGLE * h_max**2)


def check_mesh_size(config) -> None:
    """Refuse a mesh beyond MAX_CELLS (unless --allow-large), naming the estimate."""
    cells = estimated_cells(config)
    if cells > MAX_CELLS and not large_allowed():
        raise InputError(f"mesh: about {cells:.2g} cells from mesh.size {config.mesh.size:g} and "
                         f"mesh.filament_size {config.mesh.filament_size:g} {config.units} (the limit is "
                         f"{MAX_CELLS:.0e}; pass --allow-large to mesh it anyway)")


def plan_points(config) -> int:
    """Points of the sweep plan, counted without expanding it."""
    plan = config.sweep.voltage
    drives = 1 if plan is None else (plan.num if hasattr(plan, "num") else len(plan.values))
    lengths = [len(values) for values in config.sweep.parameters.values()]
    if not lengths:
        return drives
    combos = min(lengths) if config.sweep.combine == "zip" else math.prod(lengths)
    return drives * combos


def check_plan_size(config) -> None:
    """Refuse a sweep plan beyond MAX_POINTS (unless --allow-large), naming the count."""
    points = plan_points(config)
    if points > MAX_POINTS and not large_allowed():
        raise InputError(f"sweep: {points:.3g} points planned (sweep.voltage x sweep.parameters; the limit is "
                         f"{MAX_POINTS:.0e}; pass --allow-large to run it anyway)")
