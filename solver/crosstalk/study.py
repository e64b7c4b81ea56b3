"""`filatherm crosstalk`: the biasing cases on the tile at every pitch (solved by
solver.crosstalk.solve), the fitted coupling, per-cell rates and neighbour heating, and the
disturbance that heating adds in the crossbar model.

    previous = reusable_cases(config, model, out / "cases.json")   # None: solve them
    result = run_crosstalk(config, model, comm, say, previous)      # every rank of the communicator
    cases_document(result)                                          # -> cases.json (rank 0)
    write_outputs(result, model_path, out)                          # crosstalk.json, .png (rank 0)

The solved cases are kept in cases.json with a fingerprint of what defines them (the solve
sections of the config, the crosstalk section, the scheme, the pulse voltage and the code of
the FEM, the geometry, the materials and solver.crosstalk.{cases,cells,solve}); a later run
with the same fingerprint reuses them and only refits and rederives, so a changed crossbar
setting or a failure after the solves costs no solve.

Per pitch: the coupling fit (solver.crosstalk.coupling), every cell's switching rate (the
kinetics at its probe's temperature and field), its neighbour heating and the rate increase it
causes, and the disturbance after crossbar.disturb_pulses half-select pulses with and without
that heating (solver.crosstalk.disturbance).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from solver.compact.model import CompactModel
from solver.config import Config, config_data, section_hash
from solver.config.sections import STEADY
from solver.crosstalk.cases import Case
from solver.crosstalk.coupling import Coupling, fit_coupling, heated_rate_ratio
from solver.crosstalk.solve import CaseResult, Say, solve_pitches
from solver.errors import InputError


@dataclass
class PitchResult:
    pitch: float
    cells: int
    cases: list[CaseResult]
    coupling: Optional[Coupling] = None


@dataclass
class CrosstalkResult:
    config: Config
    model: CompactModel
    voltage: float
    pitches: list[PitchResult]


def model_location(path: Path) -> tuple[Path, Path]:
    """(compact_model.json, the results directory it belongs to) of a results directory or
    of the path of a compact_model.json."""
    if path.is_dir():
        model_path, root = path / "model" / "compact_model.json", path
    elif path.suffix == ".json":
        model_path = path
        root = path.parent.parent if path.parent.name == "model" else path.parent
    else:
        raise InputError(f"{path}: not a results directory or a compact_model.json")
    if not model_path.is_file():
        raise InputError(f"{model_path}: no compact model (run `filatherm run` on the matching axisymmetric cell)")
    return model_path, root


def check_matching_cell(config: Config, model: CompactModel) -> None:
    """The compact model must be of the tile's cell: the same layers, materials and state."""
    stored = model.document.source.config
    mine = config_data(config)
    theirs_layers = stored.get("geometry", {}).get("layers")
    if theirs_layers != mine["geometry"]["layers"]:
        raise InputError("crosstalk: the compact model was fitted to a cell with other layers than this tile's "
                         f"(its config {model.document.source.config_name!r}); fit the matching axisymmetric cell")
    used = {layer["material"] for layer in mine["geometry"]["layers"]}
    used |= {layer["filament"]["material"] for layer in mine["geometry"]["layers"] if "filament" in layer}
    for name in sorted(used):
        if stored.get("materials", {}).get(name) != mine["materials"].get(name):
            raise InputError(f"crosstalk: material {name} differs between the compact model's cell and the tile")
    if model.state is not None and (config.state is None or config.state.value != model.state):
        given = "none" if config.state is None else f"{config.state.value:g}"
        raise InputError(f"state.value: the compact model is of the device at state {model.state:g}, the tile's is "
                         f"{given}; tile the state the model was fitted at (one variant's results directory)")
    if config.kinetics is not None and config.kinetics.probe != model.kinetics.probe:
        raise InputError("crosstalk: kinetics.probe differs from the compact model's")
    if model.kinetics.probe not in config.probes:
        raise InputError(f"probes: the tile needs the compact model's kinetics probe {model.kinetics.probe!r}")


def pulse_voltage(config: Config, model: CompactModel) -> float:
    """The full pulse V [V], signed: crosstalk.voltage or the compact model's V_write."""
    settings = config.crosstalk
    if settings.voltage is not None:
        return settings.voltage
    value = getattr(model.document.figures_of_merit.V_write, settings.polarity)
    if value is None:
        raise InputError(f"crosstalk.voltage: the compact model has no {settings.polarity} V_write; give one")
    return float(value)


CASES_FORMAT = "filatherm-crosstalk-cases"
SOLVE_CODE = ("fem", "geometry", "materials", "config", "crosstalk/cases.py", "crosstalk/cells.py",
              "crosstalk/solve.py")


def solve_fingerprint(config: Config, voltage: float) -> str:
    """What defines the solved cases: the solve sections, the crosstalk section, the scheme,
    the pulse voltage and the code that meshes and solves them."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for part in SOLVE_CODE:
        paths = [package / part] if part.endswith(".py") else sorted((package / part).rglob("*"))
        for path in paths:
            if path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(package)).encode())
                digest.update(path.read_bytes())
    data = config_data(config)
    digest.update(json.dumps({"solve": section_hash(config, STEADY), "crosstalk": data["crosstalk"],
                              "scheme": config.crossbar.scheme, "voltage": voltage}, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def cases_document(result: "CrosstalkResult") -> dict:
    """cases.json: every solved case's raw maps, with the fingerprint that says when they can
    be reused."""
    def case_data(case: CaseResult) -> dict:
        data = {"name": case.case.name, "amplitude": case.case.amplitude,
                "row_fractions": list(case.case.row_fractions), "col_fractions": list(case.case.col_fractions),
                "status": case.status, "reason": case.reason, "newton_iterations": case.newton_iterations,
                "wall_time_s": case.wall_time, "dofs": case.dofs, "line_currents": case.line_currents}
        if case.converged:
            data.update({"T_max": case.T_max, **{key: getattr(case, key).tolist() for key in MAPS}})
        return data

    return {"format": CASES_FORMAT, "version": 1,
            "fingerprint": solve_fingerprint(result.config, result.voltage), "voltage": result.voltage,
            "pitches": [{"pitch": p.pitch, "cells": p.cells, "cases": [case_data(c) for c in p.cases]}
                        for p in result.pitches]}


def reusable_cases(config: Config, model: CompactModel, path: Path) -> Optional[dict]:
    """The cases of `path` (cases.json) if they were solved for this config, voltage and code."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != CASES_FORMAT:
        return None
    return data if data.get("fingerprint") == solve_fingerprint(config, pulse_voltage(config, model)) else None


MAPS = ("T_probe", "E_probe", "T_probe_max", "power")


def _case_from_data(data: dict) -> CaseResult:
    case = Case(data["name"], data["amplitude"], tuple(data["row_fractions"]), tuple(data["col_fractions"]))
    result = CaseResult(case, data["status"], data["reason"], data["newton_iterations"], data["wall_time_s"],
                        data["dofs"], line_currents=data.get("line_currents", {}))
    if result.converged:
        result.T_max = data["T_max"]
        for key in MAPS:
            setattr(result, key, np.array(data[key]))
    return result


def run_crosstalk(config: Config, model: CompactModel, comm=None, say: Say = lambda text: None,
                  previous: Optional[dict] = None) -> CrosstalkResult:
    """Solve every case at every pitch on `comm` (all its ranks take part in each solve), or
    take them from `previous` (a reusable cases.json), and fit each pitch's coupling."""
    from mpi4py import MPI

    if config.geometry.kind != "tile":
        raise InputError("geometry.kind: crosstalk needs a tile (kind: tile)")
    check_matching_cell(config, model)
    voltage = pulse_voltage(config, model)
    result = CrosstalkResult(config, model, voltage, [])
    if previous is not None:
        say("crosstalk: the solved cases of cases.json are reused (same config, voltage and code)")
        for entry in previous["pitches"]:
            result.pitches.append(PitchResult(entry["pitch"], entry["cells"],
                                              [_case_from_data(c) for c in entry["cases"]]))
    else:
        for pitch, cells, cases in solve_pitches(config, model, comm or MPI.COMM_WORLD, voltage, say):
            result.pitches.append(PitchResult(pitch, cells, cases))
    for pitch_result in result.pitches:
        solved = [c for c in pitch_result.cases if c.converged]
        if solved:
            pitch_result.coupling = fit_coupling([c.T_probe for c in solved], [c.power for c in solved],
                                                 config.thermal.reference_temperature)
            say(f"  pitch {pitch_result.pitch:g} {config.units}: coupling: self {pitch_result.coupling.a1:.4g} K/W, "
                f"nearest neighbours {pitch_result.coupling.K[0, 1]:.4g} K/W (same row) "
                f"{pitch_result.coupling.K[1, 0]:.4g} K/W (same column), fit residual "
                f"{pitch_result.coupling.rms_residual:.2g} K rms")
    return result


# -- derived per case -------------------------------------------------------------------------


def case_summary(case: CaseResult, coupling: Optional[Coupling], model: CompactModel) -> dict:
    """Every cell's numbers of one solved case ((rows, cols) lists), with the neighbour heating
    and the rate increase it causes (NaN-free only when the case converged)."""
    out = {"amplitude": case.case.amplitude, "status": case.status, "reason": case.reason,
           "newton_iterations": case.newton_iterations, "wall_time_s": case.wall_time, "dofs": case.dofs,
           "voltage": case.case.cell_voltages().tolist()}
    if not case.converged:
        return out
    polarity = np.sign(case.case.cell_voltages())
    rate = np.asarray(model.kinetics.rate(case.T_probe, case.E_probe, model.state, polarity))
    out.update({"T_max": case.T_max, "T_probe": case.T_probe.tolist(), "T_probe_max": case.T_probe_max.tolist(),
                "E_probe": case.E_probe.tolist(), "power": case.power.tolist(), "rate": rate.tolist(),
                "line_currents": case.line_currents})
    if coupling is not None:
        heating = neighbour_heating(case, coupling)
        out["neighbour_heating"] = heating.tolist()
        out["neighbour_heating_model"] = coupling.neighbour_heating(case.power).tolist()
        out["rate_increase"] = heated_rate_ratio(model, case.case.cell_voltages(), heating).tolist()
        # a lower bound: the same heat on the tile cell's own temperature and field, without the
        # rise of its own power that the compact model's feedback adds
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            own = rate / np.asarray(model.kinetics.rate(case.T_probe - heating, case.E_probe, model.state, polarity))
        out["rate_increase_tile"] = np.where(case.case.cell_voltages() == 0, 1.0, own).tolist()
    return out


def neighbour_heating(case: CaseResult, coupling: Coupling) -> np.ndarray:
    """T_i - T0 - self-heating(P_i) [K]: what the solve shows beyond the cell's own heat."""
    return case.T_probe - coupling.T0 - coupling.self_heating(case.power)


def half_selected_cell(case: Case) -> Optional[tuple[int, int]]:
    """The half-selected cell next to the selected ones that the headline follows: in `row`,
    the middle cell of the row below the selected one; in `column`, the cell left of the
    selected column's middle; in `one_cell`, the selected cell's left neighbour; in
    `all_half`, the middle cell (all are half-selected)."""
    rows, cols = len(case.row_fractions), len(case.col_fractions)
    s, t = rows // 2, cols // 2
    cell = {"row": (s - 1, t), "column": (s, t - 1), "one_cell": (s, t - 1), "all_half": (s, t)}[case.name]
    return cell if cell[0] >= 0 and cell[1] >= 0 else None
