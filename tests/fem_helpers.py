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


def small_device(num: int = 11, **sweep) -> dict:
    """Raw config of a small default-like cell (fast to solve) with a voltage sweep."""
    return {
        "name": "sweeptest", "units": "nm",
        "geometry": {"radius": 60, "layers": [
            {"name": "bottom_electrode", "material": "TiN", "thickness": 20},
            {"name": "oxide", "material": "HfOx", "thickness": 5,
             "filament": {"material": "filament", "radius": 5, "top_radius": 3}},
            {"name": "cmo", "material": "TaOx", "thickness": 10},
            {"name": "top_electrode", "material": "TiN", "thickness": 20}]},
        "mesh": {"size": 6, "filament_size": 0.5, "refine_distance": 8},
        "probes": {"active": {"layer": "cmo", "r_max": 6, "z_min": 0, "z_max": 2}},
        "sweep": {"voltage": {"start": -1.0, "stop": 1.0, "num": num}, **sweep},
    }
