"""Helpers for the solver tests: small configs, one-call solves."""

from __future__ import annotations

import copy

from solver.config import validate_config


def slab_config(layers: list[dict], materials: dict, *, radius: float = 0.2, size: float = 0.02,
                units: str = "um", top=None, bottom=None, outer="insulated", extra: dict | None = None) -> dict:
    """Raw config of a stack of slabs (no filament) with constant-property materials."""
    data = {
        "name": "verify",
        "units": units,
        "geometry": {"radius": radius, "layers": copy.deepcopy(layers)},
        "mesh": {"size": size, "filament_size": size, "refine_distance": size},
        "materials": copy.deepcopy(materials),
        "thermal": {"top": top or {"temperature": 300.0}, "bottom": bottom or {"temperature": 300.0},
                    "outer": outer},
    }
    data.update(extra or {})
    return data


def solve(raw: dict, drive: float):
    """(problem, QoI record) of a config at a drive, by continuation from rest (the study
    service, solver.fem.study)."""
    from solver.fem.study import SteadyStudy

    study = SteadyStudy(validate_config(raw))
    return study.problem, study.solve(drive)
