"""What a calibration writes (docs/measurements.md, "Outputs"):

- calibration.json: provenance (config and measurement hashes, versions), the fitted
  parameters with standard errors and status, correlations, identifiability, chi-square, the
  counts and times, every residual, and the warnings;
- calibrated.yaml: the config with the fitted values (loadable by every verb), a header that
  lists them with their errors and what the data could not identify;
- residuals.png (solver.calibration.plots) and summary.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import numpy as np
import yaml

from solver.calibration.fit import MEMBER, NULL_SPREAD, FitResult
from solver.calibration.parameters import ParameterSpace
from solver.calibration.plots import plot_residuals
from solver.calibration.predict import Observable
from solver.config import Config, config_data, config_hash, solve_hash
from solver.io import write_json_atomic, write_text_atomic

FORMAT = "filatherm-calibration"
VERSION = 1
CHI2_WARNING = 4.0  # reduced chi-square above which the model and the stated uncertainties disagree


@dataclass
class Context:
    """Everything a report needs besides the fit."""

    config: Config
    calibrated: Config
    space: ParameterSpace
    observables: list[Observable]
    measured: np.ndarray
    sigma: np.ndarray
    predicted: np.ndarray
    initial: np.ndarray
    measurements_path: str
    measurements_sha256: str
    versions: dict
    ranks: int
    evaluations: int
    points_solved: int
    solve_time: float
    wall_time: float


def shown_unit(unit: str) -> str:
    """A unit as printed after a number ("1", dimensionless, is not printed)."""
    return "" if unit in ("1", "") else f" {unit}"


def _num(value) -> Optional[float]:
    value = float(value)
    return value if math.isfinite(value) else None


def parameter_entries(space: ParameterSpace, fit: FitResult) -> list[dict]:
    analysis = fit.analysis
    values = space.values(fit.x)
    scaled = math.sqrt(analysis.reduced_chi2) if analysis.reduced_chi2 > 1 else 1.0
    entries = []
    for j, (p, value) in enumerate(zip(space.parameters, values)):
        std = analysis.std[j]
        identified = bool(analysis.identified[j])
        if not identified:
            status = "not identified"
        elif j in fit.at_bound:
            status = "at bound"
        else:
            status = "identified"
        absolute = value * std if p.log else std  # linearised: d p = p d ln p
        entries.append({
            "path": p.path, "label": p.label, "unit": p.unit, "scale": "log" if p.log else "linear",
            "bounds": [p.lower, p.upper], "initial": p.initial, "value": float(value),
            "std_error": _num(absolute) if identified else None,
            "std_error_scaled": _num(absolute * scaled) if identified else None,
            "relative_error": (_num(std) if p.log else _num(absolute / abs(value)) if value else None)
            if identified else None,
            "status": status, "changes_solves": p.fem,
        })
    return entries


def warnings_of(space: ParameterSpace, fit: FitResult, context: Context) -> list[str]:
    analysis = fit.analysis
    labels = space.labels
    out = []
    explained: set[int] = set()
    # Directions the data leave free first; a weak direction among parameters already named
    # there adds nothing.
    for k in sorted(analysis.unidentified, key=lambda k: -analysis.spread[k]):
        weights = analysis.directions[k]
        members = [j for j in range(len(labels)) if abs(weights[j]) >= MEMBER]
        spread = analysis.spread[k]
        if spread <= NULL_SPREAD and set(members) <= explained:
            continue
        explained.update(members)
        combination = " ".join(f"{weights[j]:+.2f} {'ln ' if space.parameters[j].log else ''}{labels[j]}"
                               for j in members)
        names = ", ".join(labels[j] for j in members)
        if spread > NULL_SPREAD:
            out.append(f"not identified: {names}: the data leave the combination ({combination}, scaled to the "
                       "bounds) free; their values are one point of a valley of equal fit: fix all but one, or add "
                       "measurements that separate them")
        else:
            lost = all(not analysis.identified[j] for j in members)
            out.append(f"{'not identified' if lost else 'poorly constrained'}: {names}: the data fix the combination "
                       f"({combination}, scaled to the bounds) only to {spread:.2g} of the bounds")
    for j in np.flatnonzero(~analysis.identified):
        if j not in explained:
            out.append(f"not identified: {labels[j]}: its standard error exceeds "
                       f"{context.config.calibration.identifiability:g} of its bounds")
    for j in fit.at_bound:
        p = space.parameters[j]
        side = "lower" if abs(fit.x[j] - p.variable_bounds[0]) < abs(fit.x[j] - p.variable_bounds[1]) else "upper"
        out.append(f"at its {side} bound: {p.label} = {space.values(fit.x)[j]:.6g} {p.unit}: the data pull it "
                   "further; its standard error ignores the bound")
    if analysis.dof > 0 and analysis.reduced_chi2 > CHI2_WARNING:
        out.append(f"chi2/dof = {analysis.reduced_chi2:.3g}: the calibrated cell does not reproduce the data within "
                   "their stated uncertainties (a model error, or understated uncertainties); std_error_scaled "
                   "scales the errors by sqrt(chi2/dof)")
    if analysis.dof <= 0:
        out.append(f"{len(context.measured)} measured values for {int(analysis.identified.sum())} identified "
                   "parameters: no degrees of freedom left, the fit cannot be checked against the uncertainties")
    if not fit.success:
        out.append(f"the fit did not converge: {fit.message} (raise calibration.max_evaluations and rerun with --resume)")
    for obs in context.observables:
        if obs.notes.get("extrapolated"):
            out.append(f"{obs.kind}[{obs.index}]: the predicted amplitude lies beyond the solved amplitudes "
                       f"(±{2 * obs.spacing:.0%} of the measured one): extrapolated")
    return out


def residual_entries(context: Context) -> list[dict]:
    out, position = [], 0
    for obs in context.observables:
        for i, label in enumerate(obs.labels):
            k = position + i
            measured, sigma, predicted = context.measured[k], context.sigma[k], context.predicted[k]
            out.append({"kind": obs.kind, "index": obs.index, "label": label, "unit": obs.unit,
                        "state": obs.state, "abscissa": float(obs.abscissa[i]), "measured": float(measured),
                        "uncertainty": float(sigma), "predicted": _num(predicted),
                        "start": _num(context.initial[k]), "normalised": _num((predicted - measured) / sigma)})
        position += len(obs.measured)
    return out


def calibrated_config_text(context: Context, entries: list[dict], warnings: list[str]) -> str:
    """The calibrated config as YAML (materials the geometry does not use left out), with a
    header naming the fit."""
    data = config_data(context.calibrated)
    data["name"] = f"{context.config.name}_calibrated"
    used = {layer.material for layer in context.config.geometry.layers}
    used |= {layer.filament.material for layer in context.config.geometry.layers if layer.filament}
    data["materials"] = {name: law for name, law in data["materials"].items() if name in used}
    for parameter in data.get("calibration", {}).get("parameters", []):
        parameter.pop("initial", None)  # the fitted value is the config's value now
    lines = [f"# Calibrated by `filatherm calibrate` from config {context.config.name} (hash "
             f"{config_hash(context.config)}) to {Path(context.measurements_path).name} "
             f"(sha256 {context.measurements_sha256[:16]}...).",
             "# Fitted values +- standard errors (docs/measurements.md):"]
    for entry in entries:
        error = "(not identified)" if entry["std_error"] is None else \
            f"+- {entry['std_error']:.3g}{shown_unit(entry['unit'])} ({entry['status']})"
        lines.append(f"#   {entry['path']} = {entry['value']:.6g}{shown_unit(entry['unit'])} {error}")
    lines += [f"# warning: {w}" for w in warnings]
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
    return "\n".join(lines) + "\n" + body


def summary_text(context: Context, entries: list[dict], residuals: list[dict], fit: FitResult,
                 warnings: list[str]) -> str:
    a = fit.analysis
    out = [f"# Calibration of {context.config.name}", "",
           f"Measurements: `{context.measurements_path}` (sha256 `{context.measurements_sha256[:16]}`); "
           f"{len(residuals)} measured values, {len(entries)} parameters.", "",
           "| parameter | start | fitted | standard error | status |", "|---|---|---|---|---|"]
    for e in entries:
        unit = shown_unit(e["unit"])
        error = "—" if e["std_error"] is None else f"{e['std_error']:.3g}{unit}"
        if e["relative_error"] is not None:
            error += f" ({100 * e['relative_error']:.2g} %)"
        out.append(f"| `{e['path']}` | {e['initial']:.6g}{unit} | {e['value']:.6g}{unit} | {error} | {e['status']} |")
    out += ["", f"chi2 = {a.chi2:.4g} for {a.dof} degrees of freedom (chi2/dof = {a.reduced_chi2:.3g}); "
            f"{fit.evaluations} residual evaluations and {fit.jacobians} Jacobians, {context.points_solved} FEM "
            f"points solved on {context.ranks} rank(s) in {context.solve_time:.1f} s (wall {context.wall_time:.1f} s).",
            "", "| measured value | measured | uncertainty | start | calibrated | (calibrated − measured) / uncertainty |",
            "|---|---|---|---|---|---|"]
    for r in residuals:
        def show(value):
            return "failed" if value is None else f"{value:.5g}"
        out.append(f"| {r['label']} | {r['measured']:.5g}{shown_unit(r['unit'])} | {r['uncertainty']:.3g} | "
                   f"{show(r['start'])} | "
                   f"{show(r['predicted'])} | {show(r['normalised'])} |")
    if len(entries) > 1:
        out += ["", "Correlations of the identified parameters:", ""]
        labels = [e["label"] for e in entries]
        out.append("| | " + " | ".join(labels) + " |")
        out.append("|---" * (len(labels) + 1) + "|")
        for i, label in enumerate(labels):
            cells = ["—" if not np.isfinite(a.correlation[i, j]) else f"{a.correlation[i, j]:+.2f}"
                     for j in range(len(labels))]
            out.append(f"| {label} | " + " | ".join(cells) + " |")
    if warnings:
        out += ["", "Warnings:", ""] + [f"- {w}" for w in warnings]
    out += ["", "![residuals](residuals.png)", ""]
    return "\n".join(out)


def write_report(out: Path, context: Context, fit: FitResult) -> dict:
    """Write every output into OUT; returns the calibration.json data."""
    entries = parameter_entries(context.space, fit)
    warnings = warnings_of(context.space, fit, context)
    residuals = residual_entries(context)
    a = fit.analysis
    labels = context.space.labels
    data = {
        "format": FORMAT, "version": VERSION,
        "provenance": {
            "config_name": context.config.name, "config_hash": config_hash(context.config),
            "solve_hash": solve_hash(context.config), "measurements": context.measurements_path,
            "measurements_sha256": context.measurements_sha256, "versions": context.versions,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "ranks": context.ranks,
        },
        "settings": config_data(context.config).get("calibration", {}),
        "parameters": entries,
        "correlation": {"parameters": labels, "matrix": [[_num(v) for v in row] for row in a.correlation]},
        "identifiability": {
            "threshold": context.config.calibration.identifiability,
            "directions": [{"singular_value": float(a.singular_values[k]), "spread": _num(a.spread[k]),
                            "identified": k not in a.unidentified,
                            "weights": dict(zip(labels, (float(w) for w in a.directions[k])))}
                           for k in range(len(labels))],
        },
        "fit": {"chi2": a.chi2, "dof": a.dof, "reduced_chi2": _num(a.reduced_chi2), "success": fit.success,
                "message": fit.message, "evaluations": fit.evaluations, "jacobians": fit.jacobians,
                "parameter_sets_evaluated": context.evaluations, "fem_points_solved": context.points_solved,
                "solve_time_s": context.solve_time, "wall_time_s": context.wall_time},
        "residuals": residuals,
        "warnings": warnings,
        "calibrated_config": "calibrated.yaml",
    }
    write_json_atomic(out / "calibration.json", data)
    write_text_atomic(out / "calibrated.yaml", calibrated_config_text(context, entries, warnings))
    plot_entries, position = [], 0
    for obs in context.observables:
        n = len(obs.measured)
        plot_entries.append({"kind": obs.kind, "state": obs.state, "abscissa": obs.abscissa, "measured": obs.measured,
                             "sigma": obs.sigma, "predicted": context.predicted[position:position + n],
                             "initial": context.initial[position:position + n], "labels": obs.labels})
        position += n
    state_unit = context.config.state.unit if context.config.state is not None else ""
    plot_residuals(out / "residuals.png", plot_entries, state_unit)
    write_text_atomic(out / "summary.md", summary_text(context, entries, residuals, fit, warnings))
    return data
