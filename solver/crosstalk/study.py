"""`filatherm crosstalk`: the biasing cases on the tile at every pitch, per-cell temperatures,
powers and rates, the fitted coupling, and the disturbance it adds in the crossbar model.

    result = run_crosstalk(config, model, say=print)      # every rank of the communicator
    write_outputs(result, out)                            # crosstalk.json, crosstalk.png (rank 0)

For each pitch (crosstalk.pitches) the tile is meshed once and every case
(solver.crosstalk.cases) is solved on it from rest to its amplitude, the lines held at their
fractions of the driven row. Per cell: the probe's temperature and field (the compact model's
kinetics probe and statistic), the power in its pillar, the switching rate of the kinetics at
that temperature and field. Per pitch: the coupling fit (solver.crosstalk.coupling), every
cell's neighbour heating and the rate increase it causes, and the disturbance after
crossbar.disturb_pulses half-select pulses with and without that heating
(solver.crosstalk.disturbance).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from solver.compact.model import CompactModel
from solver.config import Config, config_data, with_overrides
from solver.crossbar.array import SCHEMES
from solver.crosstalk.cases import Case, make_case
from solver.crosstalk.coupling import Coupling, fit_coupling, heated_rate_ratio
from solver.errors import InputError

Say = Callable[[str], None]


@dataclass
class CaseResult:
    case: Case
    status: str
    reason: str
    newton_iterations: int
    wall_time: float
    dofs: int
    T_max: float = float("nan")
    T_probe: Optional[np.ndarray] = None  # (rows, cols) [K], the kinetics statistic
    E_probe: Optional[np.ndarray] = None  # [V/m]
    T_probe_max: Optional[np.ndarray] = None  # [K], the hottest node of each probe
    power: Optional[np.ndarray] = None  # [W]
    line_currents: dict = field(default_factory=dict)  # [A], into each line end

    @property
    def converged(self) -> bool:
        return self.status == "ok"


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
    """The compact model must be of the tile's cell: the same layers and materials."""
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


def run_crosstalk(config: Config, model: CompactModel, comm=None, say: Say = lambda text: None) -> CrosstalkResult:
    """Solve every case at every pitch on `comm` (all its ranks take part in each solve)."""
    from mpi4py import MPI

    from solver.fem.mesh import build_mesh

    if config.geometry.kind != "tile":
        raise InputError("geometry.kind: crosstalk needs a tile (kind: tile)")
    check_matching_cell(config, model)
    comm = comm or MPI.COMM_WORLD
    settings = config.crosstalk
    tile = config.geometry.tile
    voltage = pulse_voltage(config, model)
    half = SCHEMES[config.crossbar.scheme]
    result = CrosstalkResult(config, model, voltage, [])
    for pitch in settings.pitches:
        pitched = with_overrides(config, {"geometry.tile.pitch": pitch})
        started = time.perf_counter()
        cell_mesh = build_mesh(pitched, comm)
        say(f"crosstalk: pitch {pitch:g} {config.units}: {cell_mesh.num_cells_global()} cells "
            f"(meshed in {time.perf_counter() - started:.1f} s)")
        cases = []
        for name in settings.cases:
            case = make_case(name, tile.rows, tile.cols, voltage, half)
            cases.append(_solve_case(pitched, cell_mesh, case, model, comm, say))
        pitch_result = PitchResult(pitch, cell_mesh.num_cells_global(), cases)
        solved = [c for c in cases if c.converged]
        if solved:
            pitch_result.coupling = fit_coupling([c.T_probe for c in solved], [c.power for c in solved],
                                                 config.thermal.reference_temperature)
            say(f"  coupling: self {pitch_result.coupling.a1:.4g} K/W, nearest neighbours "
                f"{pitch_result.coupling.K[0, 1]:.4g} K/W (same row) {pitch_result.coupling.K[1, 0]:.4g} K/W "
                f"(same column), "
                f"fit residual {pitch_result.coupling.rms_residual:.2g} K rms")
        result.pitches.append(pitch_result)
    return result


def _solve_case(config: Config, cell_mesh, case: Case, model: CompactModel, comm, say: Say) -> CaseResult:
    from solver.crosstalk.cells import CellPower
    from solver.fem.study import SteadyStudy
    from solver.geometry.tile import cell_name

    case_config = with_overrides(config, {"electrical": case.electrical()})
    probe = model.kinetics.probe
    stat = model.kinetics.statistic
    tile = config.geometry.tile
    with SteadyStudy(case_config, comm, cell_mesh) as study:
        record = study.solve(case.amplitude)
        result = CaseResult(case, record["status"], record["reason"], record["total_newton_iterations"],
                            record["wall_time_s"], study.dofs)
        if result.converged:
            probes = record["probes"]

            def grid(key: str) -> np.ndarray:
                return np.array([[probes[cell_name(probe, i, j)][key] for j in range(tile.cols)]
                                 for i in range(tile.rows)])

            result.T_max = record["T_max"]
            result.T_probe, result.E_probe = grid(f"T_{stat}"), grid(f"E_{stat}")
            result.T_probe_max = grid("T_max")
            powers = CellPower(study.problem).evaluate()
            result.power = np.array([[powers[(i, j)] for j in range(tile.cols)] for i in range(tile.rows)])
            result.line_currents = study.problem.terminal_currents()
    say(f"  {case.name}: {result.status}, {result.newton_iterations} Newton iterations, "
        f"{result.wall_time:.1f} s" + (f", T_max {result.T_max:.0f} K" if result.converged else f" ({result.reason})"))
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
    rate = np.asarray(model.kinetics.rate(case.T_probe, case.E_probe))
    out.update({"T_max": case.T_max, "T_probe": case.T_probe.tolist(), "T_probe_max": case.T_probe_max.tolist(),
                "E_probe": case.E_probe.tolist(), "power": case.power.tolist(), "rate": rate.tolist(),
                "line_currents": case.line_currents})
    if coupling is not None:
        heating = neighbour_heating(case, coupling)
        out["neighbour_heating"] = heating.tolist()
        out["neighbour_heating_model"] = coupling.neighbour_heating(case.power).tolist()
        out["rate_increase"] = heated_rate_ratio(model, case.case.cell_voltages(), heating).tolist()
        # the same heat on the tile cell's own temperature and field (the kinetics alone)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            own = rate / np.asarray(model.kinetics.rate(case.T_probe - heating, case.E_probe))
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
