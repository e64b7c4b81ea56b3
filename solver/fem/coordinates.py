"""Coordinate systems: what turns the weak form and every total into the physical cell's.

The axisymmetric cell is solved on the half-plane (r, z): every integrand carries the weight r
and every total (a current, a power, a volume) the factor 2 pi of the revolution
(docs/physics.md, "Axisymmetry"). A Cartesian 3D cell has weight 1 and factor 1. Forms, QoIs,
mesh summaries and plots go through one :class:`CoordinateSystem`, so a new geometry kind is a
new geometry module plus a coordinate system, not edits in every module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CoordinateSystem:
    name: str
    axes: tuple[str, ...]  # names of the mesh coordinates, in order
    revolution: float  # factor from an integral over the mesh to the physical total

    @property
    def gdim(self) -> int:
        return len(self.axes)

    def weight(self, mesh):
        """The integration weight of the weak form (UFL): r, or 1."""
        raise NotImplementedError

    def volume_weight(self, mesh):
        """revolution x weight: integrated over a region, its physical volume."""
        return self.revolution * self.weight(mesh)

    def position(self, point: np.ndarray) -> dict[str, float]:
        """A mesh point (3 coordinates, as DOLFINx stores them) by axis name."""
        return {axis: float(point[i]) for i, axis in enumerate(self.axes)}


class Axisymmetric(CoordinateSystem):
    """(r, z) half-plane, r >= 0, revolved about the z axis."""

    def __init__(self):
        super().__init__("axisymmetric", ("r", "z"), 2 * math.pi)

    def weight(self, mesh):
        import ufl

        return ufl.SpatialCoordinate(mesh)[0]


class Cartesian(CoordinateSystem):
    """Plain x, y (, z) coordinates."""

    def __init__(self, dim: int):
        super().__init__(f"cartesian{dim}d", ("x", "y", "z")[:dim], 1.0)

    def weight(self, mesh):
        import dolfinx.fem

        return dolfinx.fem.Constant(mesh, 1.0)


def coordinate_system(config) -> CoordinateSystem:
    """The coordinate system of a config's geometry: the layered cell is axisymmetric, the
    3D kinds (cell3d, tile) are Cartesian x, y, z."""
    return Axisymmetric() if config.geometry.kind == "axisymmetric" else Cartesian(3)
