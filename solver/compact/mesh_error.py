"""Error bars of the headline numbers from the mesh levels of `sweep.error_estimate`.

RESULTS/mesh_error/{coarse,fine}/sweep.h5 hold the config's own parameter set swept on meshes
x2 and /2 (solver.sweep.driver.run_error_sweeps). Each level's table gets the fit of the main
sweep (solver.compact.workflow.fit_table); with the main sweep's model as the medium level,
solver.richardson gives the h -> 0 limit of

    V_write [V] and T_at_write [K] per polarity, and log10 of the half-select ratio
    rate(V_write)/rate(V_write/2) (it spans decades; its error is a factor 10^error).

The numbers are taken from each level's fitted law, which is smooth in h: the report's values,
interpolated in the sweep's voltage grid, move with the mesh in steps as V_write crosses grid
points (an interpolation error of the grid, not of the mesh), which a three-mesh extrapolation
cannot follow. The error bar is the law's; the h -> 0 value is the reported value shifted by
the law's extrapolation.

Written to RESULTS/model/mesh_error.json and read by the report.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Optional

from solver.compact.model import CompactModel
from solver.compact.table import build_rate_tables
from solver.config import Config, solve_hash
from solver.errors import InputError
from solver.fem.mesh_error import MESH_ERROR_DIR, REFINEMENT, error_sweep_configs
from solver.io import write_json_atomic
from solver.richardson import richardson
from solver.sweep.store import read_sweep

HEADLINE = {  # name -> (figure of merit, transform, unit)
    "V_write": ("V_write", lambda v: v, "V"),
    "T_at_write": ("T_at_write", lambda v: v, "K"),
    "log10_nonlinearity_half_select": ("nonlinearity_half_select", math.log10, "1 (log10)"),
}
POLARITIES = ("positive", "negative")


def law_figures(model: CompactModel) -> dict[str, dict[str, Optional[float]]]:
    """The headline numbers of the fitted law (see the module docstring), transformed."""
    target = model.kinetics.target_delta
    out: dict[str, dict[str, Optional[float]]] = {name: {} for name in HEADLINE}
    for polarity in POLARITIES:
        v = model.write_voltage(polarity, target, law=True)
        ratio = None if v is None else float(model.rate(v) / model.rate(v / 2))
        out["V_write"][polarity] = v
        out["T_at_write"][polarity] = None if v is None else float(model.temperature(v))
        out["log10_nonlinearity_half_select"][polarity] = (
            math.log10(ratio) if ratio is not None and math.isfinite(ratio) and ratio > 0 else None)
    return out


def level_figures(results_dir: Path, config: Config, fit: Callable) -> Optional[dict]:
    """law_figures of the coarse and fine levels (None if the levels are missing); a level
    solved for another config is an error."""
    root = Path(results_dir) / MESH_ERROR_DIR
    figures = {}
    for level, level_config in error_sweep_configs(config).items():
        path = root / level / "sweep.h5"
        if not path.exists():
            return None
        sweep = read_sweep(path)
        if sweep.config_hash != solve_hash(level_config):
            raise InputError(f"{path}: solved for another config; run the sweep with --error-estimate again")
        table = build_rate_tables(sweep, config.kinetics, str(path),
                                  config.state.value if config.state is not None else None)[0]
        figures[level] = law_figures(fit(table, sweep, path))
    return figures


def headline_errors(model: CompactModel, levels: dict) -> dict:
    """Richardson estimates of the headline numbers, per polarity (None where a value is
    missing): the reported value (the model's figure of merit), its error and its h -> 0
    value from the levels' laws."""
    figures = {"medium": law_figures(model), **levels}
    merit = model.document.figures_of_merit
    out: dict = {}
    for name, (key, transform, unit) in HEADLINE.items():
        out[name] = {"unit": unit}
        for polarity in POLARITIES:
            values = [figures[level][name][polarity] for level in ("coarse", "medium", "fine")]
            reported = getattr(getattr(merit, key), polarity)
            if reported is None or any(v is None for v in values):
                out[name][polarity] = None
                continue
            estimate = richardson(*values, REFINEMENT).to_data()
            reported = transform(reported)
            out[name][polarity] = {**estimate, "value": reported,
                                   "extrapolated": reported + estimate["extrapolated"] - estimate["value"]}
    return out


def write_mesh_error(results_dir: Path, out_dir: Path, model: CompactModel, config: Config, fit: Callable,
                     say: Callable[[str], None]) -> Optional[Path]:
    """model/mesh_error.json when the mesh levels exist, else None (and no stale file)."""
    levels = level_figures(results_dir, config, fit)
    if levels is None:
        (Path(out_dir) / "mesh_error.json").unlink(missing_ok=True)
        return None
    errors = headline_errors(model, levels)
    for polarity in POLARITIES:
        v, t = errors["V_write"][polarity], errors["T_at_write"][polarity]
        if v is not None and t is not None:
            say(f"  mesh error ({polarity}): V_write {v['value']:+.4f} +- {v['error']:.2g} V, "
                f"T at V_write {t['value']:.1f} +- {t['error']:.2g} K")
    return write_json_atomic(Path(out_dir) / "mesh_error.json", {
        "format": "filatherm-mesh-error", "version": 1, "refinement": REFINEMENT,
        "meshes": {level: {"size": c.mesh.size, "filament_size": c.mesh.filament_size, "unit": config.units}
                   for level, c in {**error_sweep_configs(config), "medium": config}.items()},
        "estimates": errors})
