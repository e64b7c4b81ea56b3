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

import time
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

import numpy as np

from solver import quantities
from solver.config import Config, with_overrides
from solver.errors import FilathermError
from solver.fem.balances import PulseEnergy
from solver.fem.continuation import Continuation
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
        self.continuation = Continuation(self.problem, settings.max_step, settings.min_step)

    def __enter__(self) -> SteadyStudy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def dofs(self) -> int:
        return self.problem.dofs

    def solve(self, drive: float) -> dict:
        """Continue from rest to `drive` (V, or A at a current terminal); the QoI record,
        with the continuation's solve and iteration counts."""
        start = time.perf_counter()
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
        points are recorded as `runaway` without being solved (no steady state exists there).
        `stop()` is asked before each point; True ends the branch."""
        self.continuation.reset()
        beyond: Optional[float] = None
        for drive in drives:
            if stop():
                return
            start = time.perf_counter()
            if beyond is not None:
                record = qoi_record(self.problem, self.probes, drive, "runaway", 0, 0.0,
                                    f"beyond the runaway point at {beyond:.6g}", beyond)
            else:
                try:
                    result = self.continuation.advance(drive)
                except FilathermError as err:  # a failure inside one solve: record it, go on
                    record = qoi_record(self.problem, self.probes, drive, "failed", 0,
                                        time.perf_counter() - start, str(err))
                else:
                    record = qoi_record(self.problem, self.probes, drive, result.status, result.iterations,
                                        time.perf_counter() - start, result.reason, result.last_converged)
                    if result.status == "runaway":
                        beyond = result.last_converged
            yield drive, record

    def write_fields(self, path: Path) -> Path:
        """fields.xdmf (+ .h5) of the current state, atomically."""
        return write_fields(self.problem, Path(path))

    def temperature_snapshot(self) -> dict:
        """T on the mesh triangles (config units) for report figures (serial, 2D)."""
        return temperature_snapshot(self.problem)

    def close(self) -> None:
        self.problem.newton.destroy()


def precompile(config: Config) -> None:
    """JIT-compile every form once, on this process alone, before MPI workers start (no compile
    races on a shared cache). Compiled forms depend on neither the mesh nor the law parameters
    (Constants), so a mesh ten times coarser serves every point."""
    from mpi4py import MPI

    coarse = with_overrides(config, {"mesh.size": 10 * config.mesh.size,
                                     "mesh.filament_size": min(10 * config.mesh.filament_size,
                                                               10 * config.mesh.size)})
    SteadyStudy(coarse, MPI.COMM_SELF).close()


class PulseStudy:
    """One pulse train (config.analysis.pulse) through time: the QoI record of its end state
    plus the series, peaks and step counts; series.csv and fields.xdmf (at the snapshot
    times) in an output directory."""

    def __init__(self, config: Config, comm=None, cell_mesh: Optional[CellMesh] = None, say: Say = _silent):
        self.config = config
        self.say = say
        self.solver = TransientSolver(config, cell_mesh if cell_mesh is not None
                                      else build_mesh(config, comm or _world()))
        self.problem = self.solver.problem
        self.probes = ProbeQuantities(self.problem)
        self.energy = PulseEnergy(self.problem)

    def snapshot_times(self) -> list[float]:
        configured = self.config.analysis.time.snapshots
        shape = self.solver.shape
        return list(configured if configured is not None else shape.plateau_ends() + [shape.duration])

    def run(self, out: Path) -> dict:
        """March the pulse, write out/series.csv and out/fields.xdmf; the QoI record."""
        config, solver, problem, probes = self.config, self.solver, self.problem, self.probes
        snapshots = self.snapshot_times()
        writer = FieldWriter(problem, Path(out) / "fields.xdmf", snapshots=len(snapshots))
        columns = [q.name for q in quantities.SERIES]
        series: dict[str, list] = {name: [] for name in columns}
        probe_series = {name: {q.name: [] for q in quantities.SERIES_PROBE} for name in problem.cell_mesh.probe_cells}
        last_report = [time.perf_counter()]

        def observe(p: ElectroThermalProblem, t: float, drive: float) -> None:
            U = float(p.U.value)
            for name, value in (("time", t), ("voltage_applied", U if p.current_mode else drive),
                                ("voltage_device", U), ("current", p.current()), ("T_max", p.T_max())):
                series[name].append(value)
            self.energy.observe(t)
            for name, values in probes.evaluate().items():
                for key in probe_series[name]:
                    probe_series[name][key].append(values[key])
            if any(abs(t - s) <= 1e-12 * max(s, 1e-30) for s in snapshots):
                writer.write(t)
            if time.perf_counter() - last_report[0] > 2.0:
                self.say(f"  t = {t:.4g} s of {solver.shape.duration:.4g} s, T_max {series['T_max'][-1]:.1f} K")
                last_report[0] = time.perf_counter()

        self.say(f"pulse on {config.name}: {problem.dofs} dofs, amplitude {solver.shape.pulse.amplitude:g}, "
                 f"{solver.shape.duration:.3g} s")
        try:
            result = solver.run(observe, snapshots)
            writer.close()
        except BaseException:
            writer.discard()
            raise
        record = qoi_record(problem, probes, series["voltage_applied"][-1], result.status, result.newton_iterations,
                            result.wall_time, result.reason)
        times = np.array(series["time"])
        T_max = np.array(series["T_max"])
        current = np.array(series["current"])
        peak = int(np.argmax(T_max))
        record.update({
            "series": {**series, "probes": probe_series},
            "peaks": {
                "T_max": float(T_max[peak]), "T_max_time": float(times[peak]),
                "current": float(current[np.argmax(np.abs(current))]),
                "probes": {name: {"T_mean": max(v["T_mean"]), "T_max": max(v["T_max"])}
                           for name, v in probe_series.items()},
            },
            "thermal_time_constant": thermal_time_constant(times, T_max, config.thermal.reference_temperature,
                                                           solver.shape.plateau_ends()[0]),
            **self.energy.record(),  # energy in = stored + out over the pulse (solver.fem.balances)
            "steps": result.steps,
            "rejected_steps": result.rejected,
            "end_time": result.end_time,
        })
        if problem.comm.rank == 0:
            write_series_csv(Path(out) / "series.csv", series, probe_series)
        return record

    def close(self) -> None:
        self.problem.newton.destroy()


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
    if "peaks" in record:
        peaks = record["peaks"]
        return (f"peak T_max {peaks['T_max']:.1f} K at {peaks['T_max_time']:.3g} s, peak current "
                f"{peaks['current']:.4g} A, 90% rise time {record['thermal_time_constant']:.3g} s, "
                f"{record['steps']} steps ({record['rejected_steps']} rejected), "
                f"{record['wall_time_s']:.1f} s")
    return (f"V_device {record['voltage_device']:.4g} V  I {record['current']:.4g} A  "
            f"T_max {record['T_max']:.1f} K  energy balance {record['energy_balance']:.1e}  "
            f"{record['newton_iterations']} Newton iterations  {record['wall_time_s']:.2f} s")


def record_with_units(record: dict) -> dict:
    """A QoI record as written to qoi.json: the values plus `units`, the unit of every key
    (probe statistics under `probes`)."""
    units: dict = {}
    for key, value in record.items():
        if key == "probes":
            units["probes"] = {q.name: q.unit for q in quantities.PROBE}
        elif key == "peaks":
            units["peaks"] = {q.name: q.unit for q in quantities.PEAKS}
        elif key == "series":
            continue  # the same names as series.csv, whose header carries the units
        elif key == "mesh_error":
            continue  # per quantity, in that quantity's unit
        else:
            units[key] = quantities.describe(key).unit
    return {**record, "units": units}

