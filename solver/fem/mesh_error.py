"""Discretisation error of an operating point: the same solve on three meshes.

The config's mesh (`mesh.size`, `mesh.filament_size`) is the medium level; the coarse level
multiplies both sizes by REFINEMENT, the fine level divides them by it (the grading distance
stays). Every scalar quantity of the record and every probe statistic gets a Richardson
estimate (solver.richardson): its h -> 0 limit and the error of the medium value.

    records, estimates = solve_on_three_meshes(config, 1.0)
    estimates["probes/active/T_mean"].error      # K
"""

from __future__ import annotations

from typing import Callable, Optional

from solver.config import Config, with_overrides
from solver.richardson import Estimate, richardson

REFINEMENT = 2.0
MESH_ERROR_DIR = "mesh_error"  # RESULTS/mesh_error/<level>/sweep.h5 of `sweep.error_estimate`
LEVELS = ("coarse", "medium", "fine")
ESTIMATED = ("current", "resistance", "power", "T_max", "heat_out", "matrix_current_share")


def mesh_levels(config: Config) -> dict[str, Config]:
    """The config at the coarse, medium (itself) and fine mesh levels."""
    mesh = config.mesh

    def scaled(factor: float) -> Config:
        return with_overrides(config, {"mesh.size": mesh.size * factor,
                                       "mesh.filament_size": mesh.filament_size * factor})

    return {"coarse": scaled(REFINEMENT), "medium": config, "fine": scaled(1.0 / REFINEMENT)}


def error_sweep_configs(config: Config) -> dict[str, Config]:
    """The coarse and fine levels of a sweep's error estimate: the config's own parameter set
    (its state, its geometry) over the same voltages, on meshes x REFINEMENT and / REFINEMENT."""
    levels = mesh_levels(with_overrides(config, {"sweep.parameters": {}, "sweep.error_estimate": False}))
    return {level: levels[level] for level in ("coarse", "fine")}


def flat_quantities(record: dict) -> dict[str, float]:
    """The record's physical results (not the drive, counters or balances): scalars by name,
    probe statistics as probes/<name>/<stat>."""
    flat = {key: float(record[key]) for key in ESTIMATED if key in record}
    for name, stats in record.get("probes", {}).items():
        flat.update({f"probes/{name}/{stat}": float(value) for stat, value in stats.items()})
    return flat


def estimates_of(records: dict[str, dict]) -> dict[str, Estimate]:
    """Richardson estimates of every quantity the three records share."""
    values = {level: flat_quantities(records[level]) for level in LEVELS}
    shared = [key for key in values["medium"] if key in values["coarse"] and key in values["fine"]]
    return {key: richardson(values["coarse"][key], values["medium"][key], values["fine"][key], REFINEMENT)
            for key in shared}


def solve_on_three_meshes(config: Config, drive: float, comm=None, say: Callable[[str], None] = lambda text: None,
                          solved: Optional[dict[str, dict]] = None) -> tuple[dict[str, dict], dict[str, Estimate]]:
    """(records per level, estimates) of a steady operating point, the levels in `solved`
    (e.g. {"medium": record}) taken as given; the estimates are empty unless all three
    levels converged."""
    from solver.fem.study import SteadyStudy

    records: dict[str, dict] = dict(solved or {})
    for level, level_config in mesh_levels(config).items():
        if level in records:
            continue
        with SteadyStudy(level_config, comm) as study:
            say(f"{level} mesh ({level_config.mesh.size:g} / {level_config.mesh.filament_size:g} "
                f"{config.units}): {study.dofs} dofs")
            records[level] = study.solve(drive)
    converged = all(record["converged"] for record in records.values())
    return records, estimates_of(records) if converged else {}


def error_lines(estimates: dict[str, Estimate], units: Callable[[str], str],
                keys: Optional[list[str]] = None) -> list[str]:
    """One line per quantity: value +- error [unit], the limit and the observed order."""
    lines = []
    for key in keys or list(estimates):
        e = estimates[key]
        unit = units(key)
        order = f"order {e.order:.2f}" if e.observed else "not in the asymptotic range"
        lines.append(f"  {key}: {e.value:.6g} +- {e.error:.2g} {unit} (h -> 0: {e.extrapolated:.6g}; {order})")
    return lines
