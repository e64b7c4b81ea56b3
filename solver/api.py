"""The public Python API, re-exported by the `filatherm` package (docs/api.md).

    import filatherm

    filatherm.configure()                                   # once per process (see below)
    config = filatherm.load_config("configs/default.yaml", {"mesh.size": 4})
    result = filatherm.solve(config, voltage=1.0)          # SolveResult
    print(result["T_max"], result.probes["active"]["T_mean"])   # values with units
    table = filatherm.sweep(config, "results/mine")        # SweepResult (sweep.h5)
    models = filatherm.fit("results/mine")                 # FitResult: CompactModels
    arrays = filatherm.crossbar("results/mine")            # CrossbarResult
    nets = filatherm.train("results/mine")                 # TrainingResult
    response = filatherm.pulses("results/mine")            # PulseResponse (device with a state)

Every function takes and returns typed objects; values carry their unit (`Value`), arrays are
numpy. Files are written only by `sweep`, `fit`, `pulses`, `crossbar`, `train` and `pulse`, into the
directory given. Errors in the input raise solver.errors.InputError with a one-line message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Union

import numpy as np

from solver import quantities
from solver.config import Config, with_overrides
from solver.config import load_config as _load_config
from solver.errors import InputError

Overrides = Union[Mapping[str, Any], Iterable[str]]


def configure() -> None:
    """Process-wide settings for solving: FFCx's compiler log kept to warnings, HDF5 error
    stacks not printed (errors still raise). The CLI does this before it solves; a script or a
    notebook calls it once. Nothing is changed on import."""
    from solver.fem.compat import configure as configure_fem

    configure_fem()


def load_config(path: Union[str, Path], overrides: Overrides = ()) -> Config:
    """Read and validate a YAML config. `overrides` are `--set` assignments ("mesh.size=4") or a
    mapping of key paths to values ({"mesh.size": 4})."""
    if isinstance(overrides, Mapping):
        return with_overrides(_load_config(path), dict(overrides))
    return _load_config(path, list(overrides))


# ---------------------------------------------------------------- values and results


@dataclass(frozen=True)
class Value:
    """A number with its unit ("1": dimensionless)."""

    value: float
    unit: str

    def __float__(self) -> float:
        return float(self.value)

    def __str__(self) -> str:
        return f"{self.value:.6g} {self.unit}" if self.unit not in ("1", "-") else f"{self.value:.6g}"


@dataclass(frozen=True)
class Fields:
    """Nodal fields of a solve: `coordinates` (n, len(axes)) [m] along `axes` (("r", "z") in
    the axisymmetric cell), potential `phi` [V] and temperature `T` [K] at those points."""

    axes: tuple[str, ...]
    coordinates: np.ndarray
    phi: np.ndarray
    T: np.ndarray


@dataclass(frozen=True)
class SolveResult:
    """One steady operating point: status, quantities with units, per-probe statistics, fields."""

    status: str
    reason: str
    quantities: dict[str, Value]
    probes: dict[str, dict[str, Value]]
    fields: Optional[Fields]
    record: dict = field(repr=False)  # the qoi.json record

    @property
    def converged(self) -> bool:
        return self.status == "ok"

    def __getitem__(self, name: str) -> Value:
        return self.quantities[name]

    def __str__(self) -> str:
        from solver.fem.study import summary_line

        return summary_line(self.record)


@dataclass(frozen=True)
class PulseResult:
    """One pulse train: its quantities with units (`peaks`: peak_T_max, energy, switching, ...;
    solver.quantities.PULSE), the time series (numpy arrays, units in `units`) and files."""

    status: str
    reason: str
    peaks: dict[str, Any]
    series: dict[str, np.ndarray]
    units: dict[str, str]
    output: Path
    record: dict = field(repr=False)


@dataclass(frozen=True)
class SweepResult:
    """A stored sweep: one row per point, columns as numpy arrays with their units."""

    path: Path
    columns: dict[str, np.ndarray]
    units: dict[str, str]
    config_hash: str

    def __len__(self) -> int:
        return len(self.columns.get("point_id", ()))

    def __getitem__(self, column: str) -> np.ndarray:
        return self.columns[column]


@dataclass(frozen=True)
class FitResult:
    """The fitted compact model(s): the primary one (the config's own parameters) first."""

    models: list
    files: list[Path]

    @property
    def model(self):
        return self.models[0]


@dataclass(frozen=True)
class CrossbarResult:
    """Headline numbers of the crossbar experiments (fractions of the weight range), per
    device ("fitted", "linear") and polarity or target; files in `files`."""

    disturbance_max: dict[str, dict[str, float]]
    mapping_read_verify_rms: dict[str, dict[str, float]]
    fidelity_correlation: dict[str, Optional[float]]
    files: list[Path]


@dataclass(frozen=True)
class TrainingResult:
    """Final test accuracy per device: (mean, std) over seeds, as fractions; curves per epoch."""

    final_accuracy: dict[str, tuple[float, float]]
    test_accuracy: dict[str, np.ndarray]
    files: list[Path]


# ---------------------------------------------------------------- operations


def solve(config: Config, voltage: Optional[float] = None, current: Optional[float] = None,
          comm=None, fields: bool = True) -> SolveResult:
    """Solve the steady state at `voltage` [V] (or `current` [A] at a current terminal) by
    continuation from rest; default: the driven terminal's own value."""
    from solver.config.schema import CurrentTerminal
    from solver.fem.study import SteadyStudy

    terminal = config.electrical.terminal
    is_current = isinstance(terminal, CurrentTerminal)
    if voltage is not None and current is not None:
        raise InputError("solve: give voltage or current, not both")
    if (current is not None and not is_current) or (voltage is not None and is_current):
        raise InputError(f"solve: the driven terminal is {'current' if is_current else 'voltage'}-controlled")
    drive = next(v for v in (voltage, current, terminal.current if is_current else terminal.voltage)
                 if v is not None)
    with SteadyStudy(config, comm) as study:
        record = study.solve(float(drive))
        nodal = _fields(study) if fields and record["converged"] else None
    return _solve_result(record, nodal)


def _fields(study) -> Fields:
    """phi and T at the temperature dofs (phi interpolated there: phi0 + U w_drive)."""
    import dolfinx.fem

    from solver.fem import compat

    problem = study.problem
    phi = dolfinx.fem.Function(problem.V_T)
    compat.interpolate_expression(phi, problem.phi)
    points = problem.V_T.tabulate_dof_coordinates()[:, :problem.coordinates.gdim].copy()
    return Fields(problem.coordinates.axes, points, phi.x.array.copy(),
                  problem.u.x.array[problem.T_map].copy())


def _solve_result(record: dict, nodal: Optional[Fields]) -> SolveResult:
    scalars = {key: Value(value, quantities.describe(key).unit) for key, value in record.items()
               if key not in ("probes", "status", "reason") and isinstance(value, (int, float))}
    probes = {name: {stat: Value(value, quantities.describe(f"probes/{name}/{stat}").unit)
                     for stat, value in stats.items()} for name, stats in record["probes"].items()}
    return SolveResult(record["status"], record["reason"], scalars, probes, nodal, record)


def pulse(config: Config, output: Union[str, Path], amplitude: Optional[float] = None, comm=None) -> PulseResult:
    """March `config.analysis.pulse` (its amplitude replaced by `amplitude` [V] if given) through
    time; writes series.csv and fields.xdmf into `output`."""
    from solver.config import config_data
    from solver.fem.study import PulseStudy
    from solver.io import ensure_dir

    pulse_data = dict(config_data(config)["analysis"].get("pulse") or {})
    if amplitude is not None:
        pulse_data["amplitude"] = float(amplitude)
    if not pulse_data:
        raise InputError("analysis.pulse: pulse() needs a pulse in the config")
    config = with_overrides(config, {"analysis.kind": "transient", "analysis.pulse": pulse_data})
    out = ensure_dir(Path(output))
    study = PulseStudy(config, comm)
    try:
        record = study.run(out)
    finally:
        study.close()
    series = {key: np.array(values) for key, values in record["series"].items() if key != "probes"}
    for probe, stats in record["series"]["probes"].items():
        series.update({f"{probe}.{stat}": np.array(values) for stat, values in stats.items()})
    units = {key: quantities.describe(key).unit for key in series}
    peaks = {q.name: Value(record[q.name], q.unit) for q in quantities.PULSE
             if isinstance(record.get(q.name), (int, float))}
    return PulseResult(record["status"], record["reason"], peaks, series, units, out, record)


def sweep(config: Config, output: Union[str, Path], ranks: int = 1, resume: bool = True,
          force: bool = False) -> SweepResult:
    """Solve the config's sweep into OUTPUT/sweep.h5 (on `ranks` MPI ranks: a child mpirun job)
    and read it back. Stored points of the same problem are kept (`resume`); `force` starts over."""
    from solver.sweep.store import read_sweep

    out = Path(output)
    if ranks > 1:
        from solver.sweep.launch import sweep_under_mpirun

        sweep_under_mpirun(config, out, ranks, start_over=force)
    else:
        from solver.sweep.driver import run_sweep

        run_sweep(config, out, resume=resume, force=force)
    table = read_sweep(out / "sweep.h5")
    units = {name: quantities.describe(name).unit for name in table.columns}
    return SweepResult(out / "sweep.h5", table.columns, units, table.config_hash)


def fit(results: Union[str, Path], overrides: Iterable[str] = (), force: bool = True) -> FitResult:
    """Fit the compact model(s) to RESULTS/sweep.h5 and write RESULTS/model/."""
    from solver.compact.workflow import fit_results

    outcome = fit_results(results, overrides=overrides, force=force, say=lambda text: None)
    return FitResult(outcome.models, outcome.files)


def pulses(results: Union[str, Path], overrides: Iterable[str] = (), force: bool = True):
    """The pulse response of a fitted device with a state (LTP/LTD, distinguishable states,
    symmetry point, half-select ratio per state) -> RESULTS/pulses/; a
    solver.compact.pulses.PulseResponse."""
    from solver.compact.pulses import run_pulses

    response, _ = run_pulses(results, overrides=overrides, force=force)
    return response


def crossbar(results: Union[str, Path], overrides: Iterable[str] = (), force: bool = True) -> CrossbarResult:
    """The crossbar experiments with RESULTS/model/compact_model.json -> RESULTS/crossbar/."""
    import json

    from solver.crossbar.experiments import run_experiments

    files = run_experiments(results, overrides=overrides, force=force, say=lambda text: None)
    summary = json.loads(Path(files[-1]).read_text())
    disturbance = {device: {polarity: values["max"] for polarity, values in by_polarity.items()}
                   for device, by_polarity in summary["disturbance_after_all_pulses"].items()}
    return CrossbarResult(disturbance, summary["mapping_read_verify_rms"], summary["fidelity_correlation"], files)


def train(results: Union[str, Path], overrides: Iterable[str] = (), force: bool = True) -> TrainingResult:
    """Hardware-aware training with RESULTS/model/compact_model.json -> RESULTS/train/."""
    import json

    from solver.crossbar.training_run import run_training

    files = run_training(results, overrides=overrides, force=force, say=lambda text: None)
    data = json.loads(Path(files[0]).read_text())
    final = {device: (run["final_mean"], run["final_std"]) for device, run in data["devices"].items()}
    curves = {device: np.array(run["test_accuracy"]) for device, run in data["devices"].items()}
    return TrainingResult(final, curves, files)
