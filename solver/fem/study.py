"""The study service: mesh -> problem -> continuation -> QoIs -> fields -> clean-up, written once.

Every caller that solves the cell goes through here: `filatherm solve`, the pipeline's solves
at +/-V_write and its pulse, the sweep's worker groups, the public API (filatherm.solve) and
the tests.

    with SteadyStudy(config) as study:          # mesh (or a given CellMesh), problem, probes
        record = study.solve(1.0)               # from rest to 1 V by continuation: a QoI record
        study.write_fields("out/fields.xdmf")

    for drive, record in study.branch([0.2, 0.4, 0.6]):   # one branch, continued point to point
        ...

    record = PulseStudy(config).run(Path("out"))          # a transient: series.csv, fields.xdmf

Progress goes to a `say(text)` callback (the CLI prints it; the library never prints).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

import numpy as np

from solver import quantities
from solver.config import Config, with_overrides
from solver.errors import FilathermError, InputError
from solver.fem.balances import PulseEnergy
from solver.fem.continuation import Continuation, step_limits
from solver.fem.mesh import CellMesh, build_mesh
from solver.fem.output import FieldWriter, temperature_snapshot, write_fields
from solver.fem.problem import ElectroThermalProblem
from solver.fem.qoi import ProbeQuantities, qoi_record
from solver.fem.transient import TransientSolver, thermal_time_constant
from solver.io import write_text_atomic

Say = Callable[[str], None]


def _silent(text: str) -> None:
    pass


def _world():
    from mpi4py import MPI

    return MPI.COMM_WORLD


class SteadyStudy:
    """One cell, one problem: steady solves by continuation in the drive, their QoI records
    and fields. Close it (or use it as a context manager) to free the solver."""

    def __init__(self, config: Config, comm=None, cell_mesh: Optional[CellMesh] = None, say: Say = _silent):
        self.config = config
        self.say = say
        self.cell_mesh = cell_mesh if cell_mesh is not None else build_mesh(config, comm or _world())
        self.problem = ElectroThermalProblem(config, self.cell_mesh)
        self.probes = ProbeQuantities(self.problem)
        settings = config.solver.continuation
        self.continuation = Continuation(self.problem, *self._steps(1.0), max_solves=settings.max_solves,
                                         max_temperature=settings.max_temperature)

    def __enter__(self) -> SteadyStudy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def dofs(self) -> int:
        return self.problem.dofs

    def _steps(self, largest_drive: float) -> tuple[float, float]:
        return step_limits(self.config.solver.continuation, self.problem.current_mode, largest_drive)

    def _set_steps(self, drives: Iterable[float]) -> None:
        """Continuation steps for drives up to the largest |drive| (they scale with it at a
        current terminal)."""
        largest = max((abs(d) for d in drives), default=1.0)
        self.continuation.max_step, self.continuation.min_step = self._steps(largest)

    def solve(self, drive: float) -> dict:
        """Continue from rest to `drive` (V, or A at a current terminal); the QoI record,
        with the continuation's solve and iteration counts."""
        if not math.isfinite(drive):
            raise InputError(f"drive {drive!r}: not a finite number")
        start = time.perf_counter()
        self._set_steps([drive])
        self.continuation.reset()
        result = self.continuation.advance(drive)
        record = qoi_record(self.problem, self.probes, drive, result.status, result.iterations,
                            time.perf_counter() - start, result.reason, result.last_converged)
        record["continuation_solves"] = result.solves
        record["total_newton_iterations"] = result.total_iterations
        return record

    def branch(self, drives: Iterable[float], stop: Callable[[], bool] = lambda: False
               ) -> Iterator[tuple[float, dict]]:
        """Solve the drives of one branch (one polarity, increasing |drive|) in order, each
        continued from the one before, starting from rest. After thermal runaway the later
        points are recorded as `runaway` without being solved (no steady state exists there),
        and after a T_max above the ceiling as `unphysical`. `stop()` is asked before each
        point; True ends the branch."""
        drives = list(drives)
        if not all(math.isfinite(d) for d in drives):
            raise InputError(f"drives {drives!r}: not all finite numbers")
        self._set_steps(drives)
        self.continuation.reset()
        beyond: Optional[tuple[str, float]] = None
        for drive in drives:
            if stop():
                return
            start = time.perf_counter()
            if beyond is not None:
                status, where = beyond
                point = "runaway point" if status == "runaway" else "point where T_max left the physical range"
                record = qoi_record(self.problem, self.probes, drive, status, 0, 0.0,
                                    f"beyond the {point} at {where:.6g}", where)
            else:
                try:
                    result = self.continuation.advance(drive)
                except FilathermError as err:  # a failure inside one solve: record it, go on
                    record = qoi_record(self.problem, self.probes, drive, "failed", 0,
                                        time.perf_counter() - start, str(err))
                else:
                    record = qoi_record(self.problem, self.probes, drive, result.status, result.iterations,
                                        time.perf_counter() - start, result.reason, result.last_converged)
                    if result.status in ("runaway", "unphysical"):
                        beyond = (result.status, result.last_converged)
            yield drive, record

    def write_fields(self, path: Path) -> Path:
        """fields.xdmf (+ .h5) of the current state, atomically."""
        return write_fields(self.problem, Path(path))

    def temperature_snapshot(self) -> dict:
        """T on the mesh triangles (config units) for report figures (serial, 2D)."""
        return temperature_snapshot(self.problem)

    def close(self) -> None:
        self.problem.newton.destroy()


def coarse_config(config: Config) -> Config:
    """The config on a mesh ten times coarser: compiled forms depend on neither the mesh nor
    the law parameters (Constants), so compiling them there serves every point."""
    return with_overrides(config, {"mesh.size": 10 * config.mesh.size,
                                   "mesh.filament_size": min(10 * config.mesh.filament_size, 10 * config.mesh.size)})


def precompile(config: Config) -> None:
    """JIT-compile every form once, on this process alone, before MPI workers start (no compile
    races on a shared cache), on `coarse_config`'s mesh."""
    from mpi4py import MPI

    SteadyStudy(coarse_config(config), MPI.COMM_SELF).close()


class PulseStudy:
    """One pulse train (config.analysis.pulse) through time: its record (the peaks first, the
    end state under `end_state`, the series), and with an output directory series.csv and
    fields.xdmf (at the snapshot times)."""

    def __init__(self, config: Config, comm=None, cell_mesh: Optional[CellMesh] = None, say: Say = _silent):
        self.config = config
        self.say = say
        self.solver = TransientSolver(config, cell_mesh if cell_mesh is not None
                                      else build_mesh(config, comm or _world()))
        self.problem = self.solver.problem
        self.probes = ProbeQuantities(self.problem)
        self.energy = PulseEnergy(self.problem)

    @property
    def cell_mesh(self) -> CellMesh:
        return self.problem.cell_mesh

    def snapshot_times(self) -> list[float]:
        configured = self.config.analysis.time.snapshots
        shape = self.solver.shape
        return list(configured if configured is not None else shape.plateau_ends() + [shape.duration])

    def run(self, out: Optional[Path] = None) -> dict:
        """March the pulse; the record (`pulse_record`). With `out`, also out/series.csv and
        out/fields.xdmf. A T_max above solver.continuation.max_temperature ends the march as
        `unphysical` (the cell would have molten)."""
        config, solver, problem, probes = self.config, self.solver, self.problem, self.probes
        snapshots = self.snapshot_times()
        writer = FieldWriter(problem, Path(out) / "fields.xdmf", snapshots=len(snapshots)) if out else None
        columns = [q.name for q in quantities.SERIES]
        series: dict[str, list] = {name: [] for name in columns}
        probe_series = {name: {q.name: [] for q in quantities.SERIES_PROBE} for name in problem.cell_mesh.probe_cells}
        last_report = [time.perf_counter()]
        ceiling = config.solver.continuation.max_temperature

        def observe(p: ElectroThermalProblem, t: float, drive: float) -> None:
            U = float(p.U.value)
            for name, value in (("time", t), ("voltage_applied", U if p.current_mode else drive),
                                ("voltage_device", U), ("current", p.current()), ("T_max", p.T_max())):
                series[name].append(value)
            self.energy.observe(t)
            for name, values in probes.evaluate().items():
                for key in probe_series[name]:
                    probe_series[name][key].append(values[key])
            if writer is not None and any(abs(t - s) <= 1e-12 * max(s, 1e-30) for s in snapshots):
                writer.write(t)
            if series["T_max"][-1] > ceiling:
                raise _AboveCeiling(t)
            if time.perf_counter() - last_report[0] > 2.0:
                self.say(f"  t = {t:.4g} s of {solver.shape.duration:.4g} s, T_max {series['T_max'][-1]:.1f} K")
                last_report[0] = time.perf_counter()

        self.say(f"pulse on {config.name}: {problem.dofs} dofs, amplitude {solver.shape.pulse.amplitude:g}, "
                 f"{solver.shape.duration:.3g} s")
        start = time.perf_counter()
        try:
            result = solver.run(observe, snapshots)
            outcome = (result.status, result.reason, result.newton_iterations, result.steps, result.rejected,
                       result.end_time)
            if writer is not None:
                writer.close()
        except _AboveCeiling as above:
            if writer is not None:
                writer.discard()
            outcome = ("unphysical", f"T_max {series['T_max'][-1]:.4g} K at t = {above.time:.4g} s is above the "
                                     f"ceiling of {ceiling:g} K (solver.continuation.max_temperature)",
                       0, len(series["time"]) - 1, 0, above.time)
        except BaseException:
            if writer is not None:
                writer.discard()
            raise
        record = self._record(series, probe_series, outcome, time.perf_counter() - start)
        if out is not None and problem.comm.rank == 0:
            write_series_csv(Path(out) / "series.csv", series, probe_series)
        return record

    def _record(self, series: dict, probe_series: dict, outcome: tuple, wall_time: float) -> dict:
        """A pulse's quantities (solver.quantities.PULSE), its end state and its series."""
        config, shape = self.config, self.solver.shape
        status, reason, iterations, steps, rejected, end_time = outcome
        end_state = qoi_record(self.problem, self.probes, series["voltage_applied"][-1], status, iterations,
                               wall_time, reason)
        times = np.array(series["time"])
        T_max = np.array(series["T_max"])
        current = np.array(series["current"])
        peak = int(np.argmax(T_max))
        switching = pulse_switching(config, times, probe_series)
        return {
            "status": status, "reason": reason, "converged": status == "ok",
            "pulse_amplitude": shape.pulse.amplitude, "pulse_width": shape.pulse.width,
            "pulse_count": shape.pulse.count,
            "peak_T_max": float(T_max[peak]), "peak_T_max_time": float(times[peak]),
            "peak_current": float(current[np.argmax(np.abs(current))]),
            **self.energy.record(),  # energy in = stored + out over the pulse (solver.fem.balances)
            "switching": switching, "switching_per_pulse": switching / shape.pulse.count,
            "rise_time_90": thermal_time_constant(times, T_max, config.thermal.reference_temperature,
                                                  shape.plateau_ends()[0]),
            "probes": {name: {"peak_T_mean": max(v["T_mean"]), "peak_T_max": max(v["T_max"]),
                              "peak_E_mean": max(v["E_mean"])} for name, v in probe_series.items()},
            "steps": steps, "rejected_steps": rejected, "end_time": end_time,
            "newton_iterations": iterations, "dofs": self.problem.dofs, "wall_time_s": wall_time,
            "end_state": end_state,
            "series": {**series, "probes": probe_series},
        }

    def close(self) -> None:
        self.problem.newton.destroy()


class _AboveCeiling(Exception):
    def __init__(self, at: float):
        super().__init__(at)
        self.time = at


def pulse_switching(config: Config, times: np.ndarray, probe_series: dict) -> float:
    """The integral of the kinetics' rate at the kinetics probe's T and |E| over the train
    (trapezoid rule on the accepted steps); NaN without kinetics or its probe."""
    kinetics = config.kinetics
    if kinetics is None or kinetics.probe not in probe_series or len(times) < 2:
        return math.nan
    probe = probe_series[kinetics.probe]
    stat = kinetics.statistic
    state = config.state.value if config.state is not None else None
    polarity = math.copysign(1.0, config.analysis.pulse.amplitude)
    with np.errstate(over="ignore", invalid="ignore"):
        rate = kinetics.rate(np.array(probe[f"T_{stat}"]), np.abs(np.array(probe[f"E_{stat}"])), state, polarity)
    return _integral(rate, times)


def _integral(values: np.ndarray, times: np.ndarray) -> float:
    """Trapezoid rule over the accepted steps (np.trapz is gone from numpy 2)."""
    if len(times) < 2:
        return 0.0
    return float(np.sum(0.5 * (values[1:] + values[:-1]) * np.diff(times)))


def write_series_csv(path: Path, series: dict, probe_series: dict) -> Path:
    """series.csv: one row per accepted time step; the header names each column with its unit,
    `name [unit]` (solver.quantities)."""
    columns = [q.name for q in quantities.SERIES]
    names = columns + [f"{probe}.{key}" for probe in probe_series for key in probe_series[probe]]
    header = [f"{name} [{quantities.describe(name).unit}]" for name in names]
    lines = [",".join(header)]
    for i in range(len(series["time"])):
        row = [series[c][i] for c in columns]
        row += [probe_series[n][k][i] for n in probe_series for k in probe_series[n]]
        lines.append(",".join(repr(float(v)) for v in row))
    return write_text_atomic(path, "\n".join(lines) + "\n")


def summary_line(record: dict) -> str:
    """One line on a solve's outcome, with units."""
    if not record["converged"]:
        return f"status {record['status']}: {record['reason']}"
    if "peak_T_max" in record:
        return (f"peak T_max {record['peak_T_max']:.1f} K at {record['peak_T_max_time']:.3g} s, peak current "
                f"{record['peak_current']:.4g} A, energy {record['energy_in']:.4g} J, 90% rise time "
                f"{record['rise_time_90']:.3g} s, {record['steps']} steps ({record['rejected_steps']} rejected), "
                f"{record['wall_time_s']:.1f} s")
    return (f"V_device {record['voltage_device']:.4g} V  I {record['current']:.4g} A  "
            f"T_max {record['T_max']:.1f} K  energy balance {record['energy_balance']:.1e}  "
            f"{record['newton_iterations']} Newton iterations  {record['wall_time_s']:.2f} s")


def record_with_units(record: dict) -> dict:
    """A QoI record as written to qoi.json: the values plus `units`, the unit of every key
    (probe statistics under `probes`; a pulse's end state carries its own)."""
    units: dict = {}
    for key, value in record.items():
        if key == "probes":
            units["probes"] = {stat: quantities.describe(f"probes/_/{stat}").unit
                               for stats in value.values() for stat in stats}
        elif key == "end_state":
            continue  # nested: record_with_units(value) below
        elif key == "series":
            continue  # the same names as series.csv, whose header carries the units
        elif key == "mesh_error":
            continue  # per quantity, in that quantity's unit
        else:
            units[key] = quantities.describe(key).unit
    out = {**record, "units": units}
    if "end_state" in record:
        out["end_state"] = record_with_units(record["end_state"])
    return out
