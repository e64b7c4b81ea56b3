"""`sensitivity`: normalised local sensitivities d ln y / d ln p of a cell's headline figures to
its material, geometry and kinetics numbers, ranked, with a tornado plot (no data needed).

Headline figures y (the compact model's figures of merit, solver.compact.model, from a coarse
sweep fitted like `filatherm fit` does):
  V_write per polarity [V], T_probe at V_write per polarity [K], the half-select ratio
  rate(V_write/2) / rate(V_write) per polarity [1], the polarity asymmetry as the ratio of the
  probe's temperature rises (T(+V) - T0) / (T(-V) - T0) at the mean |V_write| [1] (a ratio:
  the difference may be near 0, which makes d ln y meaningless); with a device state also
  G_min, G_max at the read voltage (the state's minimum and maximum) and the window G_max / G_min.

Each parameter p is multiplied by exp(-h) and exp(+h) (`step` h, default 0.05), and
S = (ln|y(p e^h)| - ln|y(p e^-h)|) / 2h. A parameter of the kinetics changes no solved point:
its perturbations reuse the base sweep. Cost: one coarse sweep (`points` voltages per polarity,
continued from rest) per perturbation of a parameter that changes solved points, 1 + 2 x those
in all, solved in parallel on the ranks of the pool.

The computation reuses the calibration machinery: the figures are an observable (all of them a
vector), the perturbed parameter sets are evaluated in one batch, the points go to a journal
(OUT/.journal.jsonl), so `resume` continues a killed study.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from solver.calibration.evaluate import Evaluator
from solver.compact.table import MIN_BRANCH_POINTS
from solver.calibration.journal import Journal
from solver.calibration.parameters import (
    POST_SECTIONS,
    Candidate,
    enumerate_parameters,
    parameter_unit,
)
from solver.calibration.plots import plot_tornado
from solver.calibration.pool import TaskPool, run_with_pool
from solver.calibration.predict import Observable, Solved
from solver.calibration.report import shown_unit
from solver.config import Config, config_data, config_hash, with_overrides
from solver.config.keypath import get_path, parse_path
from solver.errors import ConfigError, FilathermError, InputError
from solver.io import write_json_atomic, write_text_atomic

FORMAT = "filatherm-sensitivity"
VERSION = 1
DEFAULT_STEP = 0.05
DEFAULT_POINTS = 8

# (name, unit, meaning)
FIGURES = (
    ("V_write_positive", "V", "write voltage, positive polarity"),
    ("V_write_negative", "V", "write voltage, negative polarity"),
    ("T_at_write_positive", "K", "probe temperature at V_write, positive"),
    ("T_at_write_negative", "K", "probe temperature at V_write, negative"),
    ("half_select_positive", "1", "rate(V_write/2) / rate(V_write), positive"),
    ("half_select_negative", "1", "rate(V_write/2) / rate(V_write), negative"),
    ("heating_ratio", "1", "polarity asymmetry: (T(+V) - T0) / (T(-V) - T0) at the mean |V_write|"),
)
WINDOW = (
    ("G_min", "S", "conductance at the read voltage, state minimum"),
    ("G_max", "S", "conductance at the read voltage, state maximum"),
    ("window", "1", "G_max / G_min"),
)


def sweep_drives(config: Config, points: int) -> list[float]:
    """`points` voltages per polarity, evenly spaced up to the config's largest swept |V|."""
    from solver.sweep.plan import drives

    reach = max(abs(v) for v in drives(config))
    if reach == 0:
        raise InputError("sensitivity: the config's sweep.voltage reaches no voltage")
    magnitudes = np.linspace(reach / points, reach, points)
    return [float(v) for v in np.concatenate([magnitudes, -magnitudes])]


@dataclass
class HeadlineObservable(Observable):
    """The headline figures as one vector (NaN where a figure does not exist)."""

    drives: tuple = ()
    window_states: tuple = ()
    read_voltage: float = 0.2

    def needs(self):
        keys = [(self.state, v) for v in self.drives]
        return keys + [(N, self.read_voltage) for N in self.window_states]

    def predict(self, solved: Solved, config: Config) -> np.ndarray:
        values = dict.fromkeys(self.names(), math.nan)
        try:
            values.update(figures_of_merit(solved, config, self.state, self.drives))
        except (InputError, FilathermError, ValueError, np.linalg.LinAlgError) as err:
            self.notes["failed"] = str(err)
        if self.window_states:
            low, high = (solved.record(N, self.read_voltage) for N in self.window_states)
            if low is not None and high is not None:
                values["G_min"] = low["current"] / self.read_voltage
                values["G_max"] = high["current"] / self.read_voltage
                values["window"] = values["G_max"] / values["G_min"]
        return np.array([values[name] for name in self.names()])

    def names(self) -> list[str]:
        return [name for name, _, _ in FIGURES] + ([name for name, _, _ in WINDOW] if self.window_states else [])


def figures_of_merit(solved: Solved, config: Config, state: Optional[float], drives: Sequence[float]) -> dict:
    """The compact model's figures of merit from the solved points of a coarse sweep."""
    from solver.compact.table import build_rate_tables
    from solver.compact.workflow import fit_table
    from solver.sweep.store import SweepTable, rows_to_columns

    rows = []
    for index, drive in enumerate(drives):
        record = solved.records.get((state, drive))
        if record is None:
            continue
        rows.append({**record, "point_id": f"p{index}", "point_index": index})
    sweep = SweepTable(rows_to_columns(rows), "", "", {})
    table = build_rate_tables(sweep, config.kinetics, "sensitivity sweep", state)[0]
    model = fit_table(table, config, "", {}, "sensitivity sweep", [])
    merit = model.document.figures_of_merit
    asymmetry = merit.T_asymmetry
    ratio = lambda value: math.nan if value is None or value == 0 else 1.0 / value  # noqa: E731
    number = lambda value: math.nan if value is None else float(value)  # noqa: E731
    return {
        "V_write_positive": number(merit.V_write.positive), "V_write_negative": number(merit.V_write.negative),
        "T_at_write_positive": number(merit.T_at_write.positive),
        "T_at_write_negative": number(merit.T_at_write.negative),
        "half_select_positive": ratio(merit.nonlinearity_half_select.positive),
        "half_select_negative": ratio(merit.nonlinearity_half_select.negative),
        "heating_ratio": math.nan if asymmetry.T_positive is None
        else (asymmetry.T_positive - model.T0) / (asymmetry.T_negative - model.T0),
    }


@dataclass
class SensitivityOutcome:
    data: dict
    files: list[Path]


def _candidates(config: Config, parameters: Optional[Sequence[str]], scope: str) -> list[Candidate]:
    if not parameters:
        return enumerate_parameters(config, scope)
    data = config_data(config)
    out = []
    for path in parameters:
        try:
            section = str(parse_path(path)[0])
            value = get_path(data, path)
        except ConfigError as err:
            raise InputError(f"sensitivity: --parameter {err}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"sensitivity: --parameter {path}: not a number")
        if value == 0:
            raise InputError(f"sensitivity: --parameter {path}: is 0 (a relative perturbation cannot move it)")
        out.append(Candidate(path, float(value), parameter_unit(config, path), section))
    return out


def sensitivity(config: Config, out: Path, parameters: Optional[Sequence[str]] = None, scope: str = "default",
                step: float = DEFAULT_STEP, points: int = DEFAULT_POINTS, resume: bool = False, force: bool = False,
                comm=None, say: Callable[[str], None] = lambda text: None,
                watchdog: float = 300.0) -> SensitivityOutcome:
    """Collective over `comm` (default COMM_WORLD): see the module docstring. `watchdog` [s]: the
    least silence of a rank that counts as frozen (solver.calibration.pool)."""
    import solver.fem.compat  # noqa: F401 (PETSc initialises collectively)
    from solver.sweep.driver import job_communicator
    from solver.sweep.runner import StopRequest
    from solver.versions import versions

    comm = job_communicator(comm)  # N one-rank jobs from a misconfigured launcher: refused
    started = time.perf_counter()
    if not 0 < step <= 0.5:
        raise InputError(f"sensitivity: step {step}: expected 0 < step <= 0.5 (a relative change in ln p)")
    if not MIN_BRANCH_POINTS <= points <= 200:
        raise InputError(f"sensitivity: points {points}: expected {MIN_BRANCH_POINTS} ... 200 per polarity")
    if config.kinetics is None:
        raise InputError("sensitivity: the config needs a kinetics block (the headline figures come from it)")
    candidates = _candidates(config, parameters, scope)
    paths = [c.path for c in candidates]
    base = np.array([c.value for c in candidates])
    fem = [str(parse_path(p)[0]) not in POST_SECTIONS for p in paths]
    state = float(config.state.value) if config.state is not None else None
    window = ()
    if config.state is not None and config.state.minimum is not None and config.state.maximum is not None:
        window = (float(config.state.minimum), float(config.state.maximum))
    observable = HeadlineObservable("sensitivity", 0, state, np.zeros(0), np.zeros(0), np.zeros(0), [],
                                    drives=tuple(sweep_drives(config, points)), window_states=window,
                                    read_voltage=config.pulses.read_voltage)
    names = observable.names()
    observable.measured = np.zeros(len(names))  # one value per figure (the evaluator's NaN fill)
    units = {name: unit for name, unit, _ in FIGURES + WINDOW}

    def assignments(x) -> tuple:
        return tuple((p, float(v)) for p, v, f in zip(paths, x, fem) if f)

    def config_at(x) -> Config:
        try:
            return with_overrides(config, dict(zip(paths, (float(v) for v in x))))
        except ConfigError as err:
            raise InputError(f"sensitivity: {err}") from None

    vectors = [base]
    for j in range(len(paths)):
        for sign in (-1.0, 1.0):
            x = base.copy()
            x[j] = base[j] * math.exp(sign * step)
            vectors.append(x)
    fem_sets = 1 + 2 * sum(fem)

    def run(journal: Journal, pool: TaskPool) -> tuple[dict, list[Path]]:
        with StopRequest() as stop:
            say(f"sensitivity of {config.name}: {len(paths)} parameters ({sum(fem)} change solved points), "
                f"{len(names)} headline figures; {fem_sets} sweeps of {2 * points} points on {comm.size} rank(s)")
            evaluator = Evaluator(config, assignments, config_at, [observable], journal, pool,
                                  lambda: stop.requested)
            predictions = evaluator.predict(vectors)
            y0 = predictions[0]
            observable.notes.clear()
            evaluator.refresh(base)
            rows, notes = [], []
            if "failed" in observable.notes:
                notes.append(f"base point: {observable.notes['failed']}")
            for j, candidate in enumerate(candidates):
                low, high = predictions[1 + 2 * j], predictions[2 + 2 * j]
                with np.errstate(divide="ignore", invalid="ignore"):
                    same_sign = (np.sign(low) == np.sign(high)) & (low != 0) & (high != 0)
                    normalised = np.where(same_sign, (np.log(np.abs(high)) - np.log(np.abs(low))) / (2 * step),
                                          np.nan)
                    changes = {name: (float(low[i] / y0[i] - 1.0), float(high[i] / y0[i] - 1.0))
                               for i, name in enumerate(names)}
                failure = None
                if not (np.any(np.isfinite(low)) and np.any(np.isfinite(high))):
                    for x in vectors[1 + 2 * j: 3 + 2 * j]:
                        failure = failure or evaluator.failure(x)
                    notes.append(f"{candidate.path}: no figure at exp(+-{step:g}): {failure or 'failed'}")
                rows.append({"path": candidate.path, "label": candidate.path, "unit": candidate.unit,
                             "failure": failure,
                             "value": candidate.value, "group": candidate.group, "changes_solves": fem[j],
                             "sensitivity": {name: _num(normalised[i]) for i, name in enumerate(names)},
                             "changes": changes,
                             "largest": _num(np.nanmax(np.abs(normalised)) if np.any(np.isfinite(normalised))
                                             else math.nan)})
            rows.sort(key=lambda row: -(row["largest"] or 0.0))
            figures = {name: {"value": _num(y0[i]), "unit": units[name]} for i, name in enumerate(names)}
            wall = time.perf_counter() - started
            data = {
                "format": FORMAT, "version": VERSION,
                "provenance": {"config_name": config.name, "config_hash": config_hash(config),
                               "versions": versions(), "ranks": comm.size},
                "settings": {"step": step, "points_per_polarity": points, "scope": scope if not parameters else "given",
                             "drives_V": list(observable.drives), "state": state, "window_states": list(window)},
                "figures": figures,
                "parameters": rows,
                "cost": {"parameter_sets": len(vectors), "sweeps_solved": fem_sets,
                         "fem_points_solved": evaluator.points_solved, "solve_time_s": evaluator.solve_time,
                         "wall_time_s": wall},
                "notes": notes,
            }
            files = [write_json_atomic(out / "sensitivity.json", data),
                     write_text_atomic(out / "sensitivity.md", _table(data, names)),
                     plot_tornado(out / "tornado.png", figures,
                                  [{"label": _short(r["path"]), "changes": r["changes"]} for r in rows], step)]
            for row in rows[:10]:
                say(f"  {row['path']}: largest |d ln y / d ln p| = {_show(row['largest'])}")
            say(f"sensitivity written to {out} ({evaluator.points_solved} FEM points, {wall:.1f} s)")
        return data, files

    return SensitivityOutcome(*run_with_pool(config, comm, out, resume, force, watchdog, run))


def _num(value) -> Optional[float]:
    value = float(value)
    return value if math.isfinite(value) else None


def _show(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:+.3g}"


def _short(path: str) -> str:
    return path.replace("materials.", "").replace("electrical_conductivity", "sigma") \
        .replace("thermal_conductivity", "kappa").replace("geometry.", "")


def _table(data: dict, names: list[str]) -> str:
    figures = data["figures"]
    cost = data["cost"]
    out = [f"# Sensitivity of {data['provenance']['config_name']}", "",
           f"Normalised local sensitivities d ln y / d ln p (central differences, p x exp(±{data['settings']['step']:g})), "
           f"ranked by the largest |S| over the headline figures. {cost['sweeps_solved']} sweeps of "
           f"{2 * data['settings']['points_per_polarity']} points, {cost['fem_points_solved']} FEM points, "
           f"{cost['wall_time_s']:.0f} s on {data['provenance']['ranks']} rank(s).", "",
           "Headline figures at the base point: " + ", ".join(
               f"{name} = {_value(figures[name])}" for name in names) + ".", "",
           "| parameter | value | " + " | ".join(names) + " |",
           "|---|---|" + "---|" * len(names)]
    for row in data["parameters"]:
        out.append(f"| `{row['path']}` | {row['value']:.4g}{shown_unit(row['unit'])} | "
                   + " | ".join(_show(row["sensitivity"][name]) for name in names) + " |")
    out += [""] + [f"- {note}" for note in data["notes"]] + ["", "![tornado](tornado.png)", ""]
    return "\n".join(out)


def _value(entry: dict) -> str:
    return "—" if entry["value"] is None else f"{entry['value']:.4g}{shown_unit(entry['unit'])}"
