"""Benchmarks of filatherm on the current machine (`make bench`; issues 10 and 23).

    .venv/bin/python scripts/bench.py [--quick] [--only SECTION ...] [--repeats N] [--output PATH]
                                      [--details]

Writes results/bench/bench.json (atomically) and prints a one-screen summary: per headline
figure its value, target, whether it is met, the previous run's value and the change. The
bench.json found there before is kept as bench.prev.json, and bench.json's `change` block holds
the change per figure, so a regression is seen at once. --details also prints every figure.
Every timed figure is the median of `--repeats` (default 3) repetitions, stored as
{"median", "min", "max"}.

Sections (one function each, `bench_<section>`):
  mesh       build_mesh of the default device: `build_s`, `cells`.
  solve      the default device at 4 refinements (mesh sizes scaled; about 10k to 500k dofs),
             full Newton (solver.newton.reuse_jacobian false: a fresh Jacobian every iteration; the
             chord's saving shows in sweep and peer). Per refinement: `wall_per_point_s` (one
             continued sweep step, 0.925 -> 1.0 V),
             `newton_iterations`, `time_per_iteration_s`, and `floor_s` = one Jacobian assembly
             + one residual assembly + one linear solve (numeric factorisation + solve) of the
             same system, with plain DOLFINx/PETSc calls. Keys: `iteration_over_floor` (per
             repetition the median over refinements of time per iteration / floor),
             `scaling_exponent` (per repetition the least-squares slope of log time per
             iteration vs log dofs), `newton_iterations_median` (median over the points of a
             continued sweep of the default device, 41 voltages x 5 states, min/max over the points).
  sweep      `filatherm sweep` of the default sweep (41 voltages x 5 states) under mpirun on 1
             and 2 ranks (end-to-end wall time, start-up included): `speedup_2_ranks`, and
             `amdahl_serial_fraction` f = 2/S - 1 (the share of the 1-rank wall that did not
             parallelise; other ranks mesh while rank 0 compiles the forms).
  peer       a 41-point sweep of configs/static_cell.yaml (--peer-config; the stock peer fails
             every point of the default CMO cell) solved by filatherm and by the stock-DOLFINx peer
             (solver.fem.stock: NonlinearProblem + NewtonSolver, phi = V on the top electrode,
             each point from the previous converged one), both in this process, runs
             interleaved. Each wall is end to end from a loaded config to every point's result;
             see PEER_INCLUDES. `sweep_ratio` = stock wall / filatherm wall (per repetition),
             `*_newton_iterations_median` (median over the converged points, min/max over
             them), `*_factorisations` (numeric LU factorisations per sweep, PETSc's log),
             `*_failed_points`, and `agreement` (the two solutions at the points both reach).
             `default_device`: both once on the default CMO cell at its own state (wall and
             failed points of each; the stock peer fails there).
  transient  one 60 ns pulse of the default device (TransientSolver): `wall_s`, `steps`.
  crossbar   `updates_per_s` (device-pulse updates per second, one core, aihwkit counting)
             and `training_epoch_s` (solver.crossbar.bench).
  training   per training algorithm (sgd, tiki_taka, chopped_tiki_taka, mixed_precision, default
             parameters): `epoch_s_<algorithm>`, one epoch on digits (default training settings,
             the default-like synthetic fitted device), and `updates_per_s_<algorithm>`, whole
             optimizer steps of a 256 x 256 layer counted as 256 x 256 x BL device-pulse
             updates each, transfers and writes included (solver.crossbar.bench).
  spice      one fully parallel update of a 16x16 1R array with 2 Ohm line segments in ngspice
             and in the numpy model with line resistance: `ngspice_16x16_s`, `numpy_16x16_s`,
             `wall_ratio` (ngspice / numpy); `ir_drop_256_updates_per_s` (numpy, 256x256, line
             resistance on) and its device-pulse updates per second (solver.spice.bench).
  tile       the 3x3 tile of configs/tile.yaml (3D, GMRES + fieldsplit BoomerAMG) under mpirun:
             ~500k dofs on 1 and 2 ranks, ~250k dofs on 1 rank (with the 2-rank run: weak
             scaling). Per run (`runs`): `time_per_newton_iteration_s` (a continued solve from
             rest to 0.5 V, divided by its Newton iterations), `linear_iterations_per_newton`,
             `floor_s` = one scalar Poisson solve on the same mesh (assembly + CG with the same
             BoomerAMG settings to the same relative tolerance: the floor of any iterative 3D
             solve), `iteration_over_floor`, `peak_memory_mb` (largest VmHWM of a rank, meshing
             on rank 0 included) and `memory_after_mesh_mb`. Keys `speedup_2_ranks` (same mesh)
             and `weak_scaling_efficiency` (time per iteration, half the dofs on 1 rank / all of
             them on 2 ranks).

  calibration  a 3-parameter `filatherm calibrate` of the default device (noise-free synthetic
             data from the config itself; the probe layer's sigma, kappa and Seebeck numbers
             from a start away from them) under mpirun on 1 and 2 ranks: `fem_points`,
             `evaluations`, `jacobians`, `wall_1_rank_s`, `wall_2_ranks_s`, `speedup_2_ranks`,
             `recovered` (largest relative error of a fitted value). Run once per rank count
             unless --repeats is given: on the default mesh (49.6k dofs) it solved 112 FEM points
             in 7 evaluations and 8 Jacobians, 942 s on 1 rank and 592 s on 2 (idle machine;
             966 s and 604 s with a fresh Jacobian every Newton iteration); the
             --quick mesh (2.8k dofs): 112 points, 62 s at load 5 on 2 cores.

--quick: 1 repetition, the 2 coarsest refinements, an 11-point sweep, spice at 8x8 and 64x64,
the calibration on a mesh 3 times coarser, tiles of ~10k dofs; for development and the smoke
test only (the JSON says `"quick": true`; its figures are not comparable to a full run).
--only SECTION (repeatable): run those sections and keep the others already in the output file.
A full run takes about 1.2 hours on 2 cores (measured section by section on an idle machine):
solve ~18 minutes (its finest refinement, ~500k dofs, and the full-Newton sweep dominate),
sweep 3 x (120 + 66) s, peer ~3 minutes (3 x 2 sweeps of 6 and 14 s and the default device's two),
calibration ~26 minutes, tile ~5 minutes with --repeats 1 (three 3D runs; more with the default 3
repetitions).
The machine should be otherwise idle: each section records the load average around it.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_CONFIG = ROOT / "configs" / "default.yaml"
# The stock peer cannot solve the default CMO cell: its Newton from rest fails in the first
# linear solve (MUMPS) at every point, where filatherm's continuation converges; it is compared
# on the cell with constant-activation materials.
STATIC_CONFIG = ROOT / "configs" / "static_cell.yaml"
PEER_CONFIG = STATIC_CONFIG
DEFAULT_OUTPUT = ROOT / "results" / "bench" / "bench.json"
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]

SCALES = (2.2, 1.2, 0.6, 0.31)  # mesh size factors: ~10k, 36k, 140k, 500k dofs (the default mesh: 49.6k)
SWEEP_POINTS = 41
POINT_VOLTAGE = 1.0  # the timed point; it is continued from one 41-point sweep step below
SECTIONS = ("mesh", "solve", "sweep", "peer", "transient", "crossbar", "training", "spice", "calibration", "tile")
TILE_CONFIG = ROOT / "configs" / "tile.yaml"
# mesh-size factors of configs/tile.yaml: ~500k and ~250k dofs (quick: ~10k and ~5k)
TILE_SCALES = {False: (0.445, 0.56), True: (1.6, 2.0)}
TILE_VOLTAGE = 0.5  # V on the driven row (the rest at V/2 as in configs/tile.yaml)
# The solve section measures Newton itself: a fresh Jacobian every iteration (its cost against
# the assembly + factorisation floor, and the iterations it needs). What keeping the factorised
# Jacobian saves (solver.newton.reuse_jacobian, the default with LU) shows end to end in sweep and peer.
FULL_NEWTON = ("solver.newton.reuse_jacobian=false",)
TARGETS = {  # key: (section, "<=" | ">=", bound)
    "iteration_over_floor": ("solve", "<=", 1.3),
    "newton_iterations_median": ("solve", "<=", 4),
    "scaling_exponent": ("solve", "<=", 1.25),
    "speedup_2_ranks": ("sweep", ">=", 1.7),
    "sweep_ratio": ("peer", ">=", 2),  # filatherm at least twice as fast as the stock peer
    "filatherm_failed_points": ("peer", "<=", 0),  # and no failed point, where stock may fail some
    "updates_per_s": ("crossbar", ">=", 5e7),
}
# The summary's figures: (section, key, unit, which way is better; None: not filatherm's own).
SUMMARY = (
    ("mesh", "build_s", "s", "lower"),
    ("solve", "iteration_over_floor", "-", "lower"),
    ("solve", "scaling_exponent", "-", "lower"),
    ("solve", "newton_iterations_median", "-", "lower"),
    ("sweep", "wall_1_rank_s", "s", "lower"),
    ("sweep", "speedup_2_ranks", "-", "higher"),
    ("peer", "filatherm_wall_s", "s", "lower"),
    ("peer", "sweep_ratio", "-", "higher"),
    # LU factorisations, not Newton iterations: a chord iteration costs a fraction of one
    # (both paths' iteration medians are in bench.json)
    ("peer", "filatherm_factorisations", "-", "lower"),
    ("peer", "stock_factorisations", "-", None),
    ("peer", "filatherm_failed_points", "-", "lower"),
    ("peer", "stock_failed_points", "-", None),
    ("transient", "wall_s", "s", "lower"),
    ("crossbar", "updates_per_s", "1/s", "higher"),
    ("crossbar", "training_epoch_s", "s", "lower"),
    ("calibration", "wall_1_rank_s", "s", "lower"),
    ("calibration", "speedup_2_ranks", "-", "higher"),
    ("tile", "time_per_newton_iteration_1_rank_s", "s", "lower"),
    ("tile", "time_per_newton_iteration_2_ranks_s", "s", "lower"),
    ("tile", "linear_iterations_per_newton", "-", "lower"),
    ("tile", "iteration_over_floor", "-", "lower"),
    ("tile", "peak_memory_mb", "MB", "lower"),
    # in bench.json only (one screen): the stock wall, calibration FEM points, tile speedup and weak scaling
)
NOISE = 0.10  # a change for the worse beyond this fraction is flagged as a regression
PEER_INCLUDES = (
    "both walls: mesh build (Gmsh + distribution) and everything after it up to every point's "
    "result, in this process, forms JIT-compiled beforehand (cache warm), imports and MPI "
    "start-up excluded. filatherm: solver.sweep.driver.run_sweep on 1 rank, i.e. `filatherm "
    "sweep` without the CLI: plan, store (sweep.h5 + sweep.csv written), problem set-up, "
    "continuation per polarity from rest (chord iterations: the factorised Jacobian kept while it "
    "converges fast), the full QoI record per point. stock: solver.fem.stock.StockSweep set-up "
    "(space, conditions, forms, NonlinearProblem + NewtonSolver), Newton per point per polarity "
    "from rest, current and T_max per point, nothing written."
)


@dataclasses.dataclass(frozen=True)
class Settings:
    repeats: int = 3
    scales: tuple[float, ...] = SCALES
    sweep_points: int = SWEEP_POINTS
    config_path: Path = DEFAULT_CONFIG
    peer_config_path: Path = PEER_CONFIG
    quick: bool = False
    calibration_repeats: int = 1  # one calibration is ~60 FEM branches: once per rank count unless --repeats


# -- helpers ---------------------------------------------------------------------------


def stats(values) -> dict:
    """{"median", "min", "max"} of repeated measurements."""
    values = [float(v) for v in values]
    return {"median": float(np.median(values)), "min": min(values), "max": max(values)}


def repeat(measure: Callable[[], float], repeats: int) -> list[float]:
    return [measure() for _ in range(repeats)]


def timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def say(text: str) -> None:
    print(text, flush=True)


def load(settings: Settings, overrides: tuple[str, ...] = (), path: Path | None = None):
    from solver.config import load_config

    return load_config(path or settings.config_path, list(overrides))


def scaled_mesh(settings: Settings, scale: float) -> tuple[str, ...]:
    """Overrides that scale the config's mesh sizes by `scale` (dofs go as ~1/scale^2)."""
    mesh = load(settings).mesh
    return (f"mesh.size={mesh.size * scale}", f"mesh.filament_size={mesh.filament_size * scale}")


def child_env() -> dict:
    """Environment for mpirun, without the MPI singleton variables this process carries
    (a nested mpirun fails silently with them)."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("OMPI_", "PMIX_", "PMI_", "ORTE_", "OPAL_"))}


# -- sections --------------------------------------------------------------------------


def bench_mesh(settings: Settings) -> dict:
    """Default mesh build (Gmsh + distribution); the first (cold) build is reported apart."""
    from solver.fem.mesh import build_mesh

    config = load(settings)
    first, cell_mesh = timed(lambda: build_mesh(config))
    times = repeat(lambda: timed(lambda: build_mesh(config))[0], settings.repeats)
    return {"build_s": stats(times), "cells": cell_mesh.num_cells_global(), "first_build_s": first}


def bench_solve(settings: Settings) -> dict:
    """Per refinement: a continued sweep step, its Newton iterations and the assembly + solve floor."""
    points = []
    for scale in settings.scales:
        say(f"  solve: mesh scale {scale}")
        points.append(_solve_point(settings, scale))
    dofs = np.array([p["dofs"] for p in points], dtype=float)
    per_iteration = np.array([p["time_per_iteration_runs"] for p in points])  # refinements x repeats
    floors = np.array([p["floor_runs"] for p in points])
    ratios = np.median(per_iteration / floors, axis=0)
    out = {"refinements": points, "iteration_over_floor": stats(ratios)}
    if len(points) >= 2:
        slopes = [np.polyfit(np.log(dofs), np.log(per_iteration[:, k]), 1)[0]
                  for k in range(per_iteration.shape[1])]
        out["scaling_exponent"] = stats(slopes)
    out["newton_iterations_median"] = _sweep_iterations(settings)
    return out


def _solve_point(settings: Settings, scale: float) -> dict:
    from solver.fem.continuation import Continuation, step_limits
    from solver.fem.mesh import build_mesh
    from solver.fem.problem import ElectroThermalProblem

    config = load(settings, scaled_mesh(settings, scale) + FULL_NEWTON)
    cell_mesh = build_mesh(config)
    problem = ElectroThermalProblem(config, cell_mesh)
    step = (config.sweep.voltage.stop - config.sweep.voltage.start) / (SWEEP_POINTS - 1)
    # Reach the point's two predecessors in as few solves as possible (one long step, then
    # one sweep step), so the timed step has the sweep's secant predictor behind it.
    continuation = Continuation(problem, POINT_VOLTAGE, step_limits(config.solver.continuation, False, 1.0)[1])
    for drive in (POINT_VOLTAGE - 2 * step, POINT_VOLTAGE - step):
        reached = continuation.advance(drive)
        if not reached.converged:
            raise RuntimeError(f"scale {scale}: no solution at {drive} V ({reached.reason})")
    behind = continuation.history[-2:]
    floor = Floor(problem)
    walls, iterations, jacobians, floors = [], [], [], []
    for _ in range(settings.repeats):  # point and floor alternate: both see the same machine load
        continuation.restart_from([dataclasses.replace(c) for c in behind])
        before = problem.newton.jacobians
        wall, result = timed(lambda: continuation.advance(POINT_VOLTAGE))
        if not result.converged:
            raise RuntimeError(f"scale {scale}: no solution at {POINT_VOLTAGE} V ({result.reason})")
        walls.append(wall)
        iterations.append(result.total_iterations)
        jacobians.append(problem.newton.jacobians - before)
        floors.append(floor.measure())
    floor.destroy()
    problem.newton.destroy()
    per_iteration = [w / n for w, n in zip(walls, iterations)]
    totals = [sum(parts.values()) for parts in floors]
    return {
        "scale": scale, "dofs": problem.dofs, "cells": cell_mesh.num_cells_global(),
        "wall_per_point_s": stats(walls), "newton_iterations": int(np.median(iterations)),
        "jacobians": int(np.median(jacobians)),
        "time_per_iteration_s": stats(per_iteration),
        "floor_s": stats(totals),
        "floor_parts_s": {part: stats([f[part] for f in floors]) for part in floors[0]},
        "time_per_iteration_runs": per_iteration, "floor_runs": totals,
    }


class Floor:
    """One Jacobian assembly, one residual assembly and one linear solve of a problem's system
    at its current state, with plain DOLFINx/PETSc calls and the configured linear solver. The
    constructor's warm-up solve does the symbolic factorisation (a Newton solve does it once
    for all its iterations), so a measured solve is numeric factorisation + triangular solves."""

    PREFIX = "bench_floor_"

    def __init__(self, problem):
        from petsc4py import PETSc

        from solver.fem import compat

        self.problem, self.compat = problem, compat
        self.J, self.F = problem.forms["J"], problem.forms["F"]
        self.A = compat.create_matrix(self.J)
        self.b = compat.create_vector(self.F)
        self.x = self.b.duplicate()
        self.ksp = PETSc.KSP().create(problem.comm)
        self.ksp.setOptionsPrefix(self.PREFIX)
        self.options = {self.PREFIX + key: value for key, value in problem.config.solver.petsc.items()}
        for key, value in self.options.items():
            PETSc.Options()[key] = value
        self.ksp.setFromOptions()
        self.ksp.setOperators(self.A)
        self.measure()

    def measure(self) -> dict[str, float]:
        """Seconds of each part: {"jacobian", "residual", "linear_solve"}."""
        compat, problem = self.compat, self.problem
        started = time.perf_counter()
        self.A.zeroEntries()
        compat.assemble_matrix_into(self.A, self.J, problem.bcs)
        self.A.assemble()
        assembled = time.perf_counter()
        compat.assemble_residual(self.b, self.F, problem.bcs, problem.u)
        residual = time.perf_counter()
        self.ksp.solve(self.b, self.x)
        return {"jacobian": assembled - started, "residual": residual - assembled,
                "linear_solve": time.perf_counter() - residual}

    def destroy(self) -> None:
        from petsc4py import PETSc

        for key in self.options:
            PETSc.Options().delValue(key)
        self.ksp.destroy()
        self.A.destroy()


def _sweep_iterations(settings: Settings) -> dict:
    """Newton iterations per point of the default continued sweep (run in this process)."""
    from solver.sweep.driver import run_sweep

    config = load(settings, (f"sweep.voltage.num={settings.sweep_points}",) + FULL_NEWTON)
    with tempfile.TemporaryDirectory(prefix="filatherm-bench-") as tmp:
        say(f"  solve: the default sweep at {settings.sweep_points} voltages (every state) for Newton iterations")
        wall, _ = timed(lambda: run_sweep(config, Path(tmp)))
        rows = _sweep_rows(Path(tmp))
    iterations = [int(float(row["newton_iterations"])) for row in rows if row["status"] == "ok"]
    return {**stats(iterations), "points": len(rows), "failed": len(rows) - len(iterations),
            "sweep_wall_s": wall}


def _sweep_rows(out: Path) -> list[dict]:
    from solver.quantities import split_header

    with open(out / "sweep.csv", newline="") as handle:
        return [{split_header(k)[0]: v for k, v in row.items()} for row in csv.DictReader(handle)]


def bench_sweep(settings: Settings) -> dict:
    """`filatherm sweep` under mpirun on 1 and 2 ranks, runs interleaved (1, 2, 1, 2, ...)."""
    walls: dict[int, list[float]] = {1: [], 2: []}
    cores: dict[int, list[float]] = {1: [], 2: []}  # CPU seconds of all ranks per wall second
    failed = 0
    for k in range(settings.repeats):
        for ranks in (1, 2):
            say(f"  sweep: {ranks} rank(s), run {k + 1} of {settings.repeats}")
            cpu_before = _children_cpu()
            wall, rows = _mpi_sweep(settings, ranks)
            walls[ranks].append(wall)
            cores[ranks].append((_children_cpu() - cpu_before) / wall)
            failed = max(failed, sum(row["status"] != "ok" for row in rows))
    speedups = [one / two for one, two in zip(walls[1], walls[2])]
    return {"points": len(rows), "points_per_s_2_ranks": stats([len(rows) / wall for wall in walls[2]]),
            "wall_1_rank_s": stats(walls[1]),
            "wall_2_ranks_s": stats(walls[2]), "speedup_2_ranks": stats(speedups),
            # Amdahl: speedup S = 1 / (f + (1 - f) / 2) on 2 ranks, so the serial fraction f = 2/S - 1
            "amdahl_serial_fraction": stats([2.0 / s - 1.0 for s in speedups]),
            "cores_used_1_rank": stats(cores[1]), "cores_used_2_ranks": stats(cores[2]),
            "failed_points": failed, "runs_s": {"1": walls[1], "2": walls[2]}}


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _mpi_sweep(settings: Settings, ranks: int) -> tuple[float, list[dict]]:
    with tempfile.TemporaryDirectory(prefix="filatherm-bench-") as tmp:
        command = [*MPIRUN, "-n", str(ranks), sys.executable, "-m", "solver", "sweep",
                   str(settings.config_path), "--set", f"sweep.voltage.num={settings.sweep_points}",
                   "--output", tmp, "--quiet"]
        wall, done = timed(lambda: subprocess.run(command, check=False, cwd=ROOT, env=child_env(),
                                                  capture_output=True, text=True))
        if done.returncode != 0 or not (Path(tmp) / "sweep.csv").exists():
            raise RuntimeError(f"sweep on {ranks} rank(s) failed ({done.returncode}): "
                               f"{(done.stderr or done.stdout).strip()[-500:]}")
        return wall, _sweep_rows(Path(tmp))


def bench_peer(settings: Settings) -> dict:
    """filatherm's sweep and the stock-DOLFINx peer's, runs interleaved (filatherm, stock, ...)."""
    from petsc4py import PETSc

    from solver.sweep.plan import drives

    config = load(settings, (f"sweep.voltage.num={settings.sweep_points}",), settings.peer_config_path)
    voltages = drives(config)
    _compile_forms(config)
    PETSc.Log.begin()  # the default log only counts and times events: the factorisations
    factorisations = PETSc.Log.Event("MatLUFactorNum")
    sweeps = {"filatherm": _filatherm_sweep, "stock": _stock_sweep}
    runs: dict[str, list] = {name: [] for name in sweeps}
    for k in range(settings.repeats):
        for name, sweep in sweeps.items():
            say(f"  peer: {name}, run {k + 1} of {settings.repeats}")
            before = factorisations.getPerfInfo()["count"]
            wall, points, dofs = sweep(config)
            runs[name].append({"wall": wall, "points": points,
                               "factorisations": factorisations.getPerfInfo()["count"] - before})
    out = {"points": len(voltages), "voltages_V": [min(voltages), max(voltages)], "dofs": dofs,
           "includes": PEER_INCLUDES}
    for name, done in runs.items():
        out[f"{name}_wall_s"] = stats([run["wall"] for run in done])
    out["sweep_ratio"] = stats([s["wall"] / f["wall"] for f, s in zip(runs["filatherm"], runs["stock"])])
    for name, done in runs.items():
        last = done[-1]["points"]  # the iterations are the same in every repetition
        out[f"{name}_newton_iterations_median"] = stats([p["iterations"] for p in last if p["converged"]])
        out[f"{name}_factorisations"] = int(np.median([run["factorisations"] for run in done]))
        out[f"{name}_failed_points"] = max(sum(not p["converged"] for p in run["points"]) for run in done)
    out["stock_failed_voltages_V"] = [p["voltage"] for p in runs["stock"][-1]["points"] if not p["converged"]]
    out["agreement"] = agreement(runs["filatherm"][-1]["points"], runs["stock"][-1]["points"])
    out["runs_s"] = {name: [run["wall"] for run in done] for name, done in runs.items()}
    out["default_device"] = _peer_on_the_default_device(settings, sweeps)
    return out


def _peer_on_the_default_device(settings: Settings, sweeps: dict) -> dict:
    """Once, on the default CMO cell at its own state (the voltage sweep only): the wall and the
    points each path fails to converge. The hopping conductance is field-activated, which the
    stock path does not survive; a ratio of walls would compare a sweep with a failure."""
    from solver.sweep.plan import drives

    config = load(settings, (f"sweep.voltage.num={settings.sweep_points}", "sweep.parameters={}"))
    _compile_forms(config)
    out = {"points": len(drives(config))}
    for name, sweep in sweeps.items():
        say(f"  peer on the default device: {name}")
        wall, points, dofs = sweep(config)
        out.update({f"{name}_wall_s": wall, f"{name}_failed_points": sum(not p["converged"] for p in points),
                    "dofs": dofs})
    return out


def agreement(first: list[dict], second: list[dict]) -> dict:
    """How closely two sweeps' solutions agree at the voltages both converged at: the largest
    |T_max difference| [K] and the largest relative current difference (filatherm's current is
    the electrode's reaction, the stock peer's the boundary flux of J, so they differ by the
    discretisation error of the flux; T_max is the same dof value in both)."""
    solved = {p["voltage"]: p for p in second if p["converged"]}
    pairs = [(p, solved[p["voltage"]]) for p in first if p["converged"] and p["voltage"] in solved]
    dT = [abs(a["T_max"] - b["T_max"]) for a, b in pairs]
    dI = [abs(a["current"] - b["current"]) / abs(a["current"]) for a, b in pairs if a["current"] != 0]
    return {"points_compared": len(pairs), "T_max_max_difference_K": max(dT, default=float("nan")),
            "current_max_relative_difference": max(dI, default=float("nan"))}


def _compile_forms(config) -> None:
    """JIT-compile both paths' forms on a coarse mesh, untimed: the timed runs then find them
    compiled (a one-off per form code, not a cost of the sweep)."""
    from mpi4py import MPI

    from solver.fem.mesh import build_mesh
    from solver.fem.stock import StockSweep
    from solver.fem.study import coarse_config, precompile

    precompile(config)
    coarse = coarse_config(config)
    StockSweep(coarse, build_mesh(coarse, MPI.COMM_SELF))


def _filatherm_sweep(config) -> tuple[float, list[dict], int]:
    """(wall, points, dofs) of run_sweep in this process (its table gives the points)."""
    from solver.sweep.driver import run_sweep

    with tempfile.TemporaryDirectory(prefix="filatherm-bench-") as tmp:
        wall, _ = timed(lambda: run_sweep(config, Path(tmp)))
        rows = _sweep_rows(Path(tmp))
    points = [{"voltage": float(row["voltage_applied"]), "converged": row["status"] == "ok",
               "iterations": int(float(row["newton_iterations"])), "current": float(row["current"]),
               "T_max": float(row["T_max"])} for row in rows]
    return wall, points, int(float(rows[0]["dofs"]))


def _stock_sweep(config) -> tuple[float, list[dict], int]:
    """(wall, points, dofs) of the stock peer: mesh, set-up and sweep, all timed."""
    from solver.fem.mesh import build_mesh
    from solver.fem.stock import StockSweep
    from solver.sweep.plan import drives

    def run():
        peer = StockSweep(config, build_mesh(config))
        return peer, peer.sweep(drives(config))

    wall, (peer, points) = timed(run)
    return wall, [dataclasses.asdict(p) for p in points], peer.dofs


def bench_transient(settings: Settings) -> dict:
    """One pulse of the default device (its analysis.pulse: 60 ns) on a fresh solver state."""
    from solver.fem.mesh import build_mesh
    from solver.fem.transient import TransientSolver

    config = load(settings, ("analysis.kind=transient",))
    solver = TransientSolver(config, build_mesh(config))
    runs = []
    for _ in range(settings.repeats):
        before = solver.problem.newton.jacobians
        result = solver.run()
        if result.status != "ok":
            raise RuntimeError(f"transient: {result.status} ({result.reason})")
        runs.append((result.wall_time, result, solver.problem.newton.jacobians - before))
    last = runs[-1][1]
    return {"pulse_width_s": config.analysis.pulse.width, "duration_s": solver.shape.duration,
            "dofs": solver.problem.dofs, "wall_s": stats([r[0] for r in runs]), "steps": last.steps,
            "rejected_steps": last.rejected, "newton_iterations": last.newton_iterations,
            "jacobians": runs[-1][2]}


def bench_crossbar(settings: Settings) -> dict:
    """Crossbar update throughput and one training epoch, BLAS/OpenMP pools held to one thread."""
    from threadpoolctl import threadpool_limits

    from solver.crossbar.bench import training_epoch_seconds, updates_per_second

    config = load(settings)
    with threadpool_limits(limits=1):
        rate = updates_per_second(repeats=settings.repeats, crossbar=config.crossbar)
        epochs = repeat(lambda: training_epoch_seconds(config.crossbar, config.training), settings.repeats)
    return {"updates_per_s": {"median": rate["updates_per_s"], "min": rate["min"], "max": rate["max"]},
            **{k: rate[k] for k in ("rows", "cols", "pulse_train_length", "scheme")},
            "training_epoch_s": stats(epochs)}


def bench_tile(settings: Settings) -> dict:
    """The 3D tile on 1 and 2 ranks (each run a child under mpirun; see tile_worker)."""
    full, half = TILE_SCALES[settings.quick]
    runs = {}
    for label, ranks, scale in (("full_1_rank", 1, full), ("full_2_ranks", 2, full), ("half_1_rank", 1, half)):
        say(f"  tile: {label}, mesh scale {scale}")
        with tempfile.TemporaryDirectory(prefix="filatherm-bench-") as tmp:
            out = Path(tmp) / "tile.json"
            command = [*MPIRUN, "-n", str(ranks), sys.executable, str(Path(__file__).resolve()), "--tile-worker",
                       str(out), "--tile-scale", str(scale), "--repeats", str(settings.repeats)]
            done = subprocess.run(command, check=False, cwd=ROOT, env=child_env(), capture_output=True, text=True)
            if done.returncode != 0 or not out.exists():
                raise RuntimeError(f"tile on {ranks} rank(s) failed ({done.returncode}): "
                                   f"{(done.stderr or done.stdout).strip()[-800:]}")
            import json

            runs[label] = json.loads(out.read_text())
    one, two, half_run = (runs[k]["time_per_newton_iteration_s"]["median"]
                          for k in ("full_1_rank", "full_2_ranks", "half_1_rank"))
    full_1 = runs["full_1_rank"]
    return {"runs": runs, "dofs": full_1["dofs"], "voltage": TILE_VOLTAGE,
            "time_per_newton_iteration_1_rank_s": full_1["time_per_newton_iteration_s"],
            "time_per_newton_iteration_2_ranks_s": runs["full_2_ranks"]["time_per_newton_iteration_s"],
            "linear_iterations_per_newton": full_1["linear_iterations_per_newton"],
            "iteration_over_floor": full_1["iteration_over_floor"],
            "peak_memory_mb": max(r["peak_memory_mb"] for r in runs.values()),
            "speedup_2_ranks": {"median": one / two, "min": one / two, "max": one / two},
            "weak_scaling_efficiency": {"median": half_run / two, "min": half_run / two, "max": half_run / two}}


def tile_worker(path: Path, scale: float, repeats: int) -> None:
    """One tile run on COMM_WORLD (under mpirun): mesh, `repeats` continued solves from rest to
    TILE_VOLTAGE, the Poisson floor, memory; rank 0 writes the JSON."""
    from mpi4py import MPI

    from solver.config import load_config
    from solver.fem.compat import configure
    from solver.fem.continuation import Continuation
    from solver.fem.mesh import build_mesh
    from solver.fem.problem import ElectroThermalProblem

    configure()
    comm = MPI.COMM_WORLD
    base = load_config(TILE_CONFIG)
    config = load_config(TILE_CONFIG, [f"mesh.size={base.mesh.size * scale}",
                                       f"mesh.filament_size={base.mesh.filament_size * scale}"])
    mesh_s, cell_mesh = timed(lambda: build_mesh(config, comm))
    after_mesh = _memory_mb("VmRSS", comm)
    problem = ElectroThermalProblem(config, cell_mesh)
    continuation = Continuation(problem, TILE_VOLTAGE, config.solver.continuation.min_step)
    per_iteration, linear, newton = [], [], []
    for _ in range(repeats):
        continuation.reset()
        before = problem.newton.linear_iterations
        wall, result = timed(lambda: continuation.advance(TILE_VOLTAGE))
        if not result.converged:
            raise RuntimeError(f"tile: no solution at {TILE_VOLTAGE} V ({result.reason})")
        newton.append(result.total_iterations)
        linear.append(problem.newton.linear_iterations - before)
        per_iteration.append(wall / result.total_iterations)
    floors = [_poisson_floor(problem, config) for _ in range(repeats)]
    out = {
        "ranks": comm.size, "scale": scale, "dofs": problem.dofs, "cells": cell_mesh.num_cells_global(),
        "mesh_s": mesh_s, "newton_iterations": int(np.median(newton)),
        "linear_iterations_per_newton": float(np.median(linear)) / float(np.median(newton)),
        "time_per_newton_iteration_s": stats(per_iteration),
        "floor_s": stats([f[0] for f in floors]), "floor_iterations": floors[0][1],
        "iteration_over_floor": stats([t / f[0] for t, f in zip(per_iteration, floors)]),
        "memory_after_mesh_mb": after_mesh, "peak_memory_mb": _memory_mb("VmHWM", comm),
    }
    problem.newton.destroy()
    if comm.rank == 0:
        from solver.io import write_json_atomic

        write_json_atomic(path, out)


def _poisson_floor(problem, config) -> tuple[float, int]:
    """Seconds and iterations of one scalar Poisson solve on the problem's mesh: assembly of
    -div grad u = 1 (u = 0 where the tile's T is fixed) and CG with the 3D default's
    BoomerAMG settings, to the same relative tolerance."""
    import ufl
    from petsc4py import PETSc

    from solver.config.schema import ITERATIVE_PETSC
    from solver.fem import compat

    mesh = problem.cell_mesh.mesh
    space = compat.lagrange_space(mesh, 1)
    u, v = ufl.TrialFunction(space), ufl.TestFunction(space)
    a = compat.create_form(ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx)
    L = compat.create_form(1.0 * v * ufl.dx)
    import dolfinx.fem

    zero = dolfinx.fem.Function(space)
    fdim = mesh.topology.dim - 1
    dofs = np.concatenate([compat.locate_dofs_topological(space, fdim, problem.cell_mesh.facets(name))
                           for name in ("bottom", "top")])
    bc = compat.dirichletbc(zero, dofs, None)
    prefix = "bench_poisson_"
    options = {"ksp_type": "cg", "ksp_rtol": ITERATIVE_PETSC["ksp_rtol"], "pc_type": "hypre",
               **{key[len("fieldsplit_T_"):]: value for key, value in ITERATIVE_PETSC.items()
                  if key.startswith("fieldsplit_T_pc_hypre")}}
    for key, value in options.items():
        PETSc.Options()[prefix + key] = value
    started = time.perf_counter()
    A = compat.create_matrix(a)
    compat.assemble_matrix_into(A, a, [bc])
    A.assemble()
    b = compat.create_vector(L)
    compat.assemble_vector_into(b, L)
    compat.set_bc(b, [bc])
    ksp = PETSc.KSP().create(mesh.comm)
    ksp.setOptionsPrefix(prefix)
    ksp.setFromOptions()
    ksp.setOperators(A)
    x = b.duplicate()
    ksp.solve(b, x)
    seconds = time.perf_counter() - started
    iterations = ksp.getIterationNumber()
    for key in options:
        PETSc.Options().delValue(prefix + key)
    ksp.destroy()
    A.destroy()
    return seconds, iterations


def _memory_mb(field: str, comm) -> float:
    """The largest /proc/self/status `field` (VmRSS, VmHWM) over the ranks [MB]."""
    value = 0.0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                value = float(line.split()[1]) / 1024.0
    from mpi4py import MPI

    return float(comm.allreduce(value, op=MPI.MAX))


def bench_training(settings: Settings) -> dict:
    """One digits epoch and layer-update throughput per training algorithm, one thread."""
    from threadpoolctl import threadpool_limits

    from solver.compact.synthetic import synthetic_compact_model
    from solver.config.schema import ALGORITHM_NAMES, Training
    from solver.crossbar.bench import algorithm_updates_per_second, training_epoch_seconds
    from solver.crossbar.datasets import load_digits_split
    from solver.crossbar.device import fitted_device

    config = load(settings)
    # a synthetic fitted device of the static cell (a device with a state is fitted from a
    # FEM sweep over its states); crossbar and training settings are the config's
    device = fitted_device(synthetic_compact_model(load(settings, path=STATIC_CONFIG)), config.crossbar)
    out: dict = {"epoch_samples": len(load_digits_split(config.training.test_fraction).y_train),
                 "seeds": config.training.seeds, "layer": "256 x 256",
                 "pulse_train_length": config.crossbar.pulse_train_length}
    with threadpool_limits(limits=1):
        for name in ALGORITHM_NAMES:
            algorithm = Training(algorithm=name).algorithm
            say(f"  training: {name}")
            out[f"epoch_s_{name}"] = stats(repeat(
                lambda: training_epoch_seconds(config.crossbar, config.training, algorithm, device), settings.repeats))
            rate = algorithm_updates_per_second(algorithm, repeats=settings.repeats, crossbar=config.crossbar,
                                                training=config.training)
            out[f"updates_per_s_{name}"] = {"median": rate["updates_per_s"], "min": rate["min"], "max": rate["max"]}
    return out


def bench_spice(settings: Settings) -> dict:
    """ngspice vs numpy with line resistance on one update; numpy IR-drop throughput at 256x256."""
    from threadpoolctl import threadpool_limits

    from solver.spice.bench import ir_drop_updates_per_second, synthetic_model, update_seconds

    config = load(settings, path=STATIC_CONFIG)  # a synthetic static device (see bench_training)
    model = synthetic_model(config)
    size, large = (8, 64) if settings.quick else (16, 256)
    with threadpool_limits(limits=1):
        runs = [update_seconds(model, config, size) for _ in range(settings.repeats)]
        rates = [ir_drop_updates_per_second(model, config, large, 1 if settings.quick else 2)
                 for _ in range(settings.repeats)]
    return {f"ngspice_{size}x{size}_s": stats([r["ngspice_s"] for r in runs]),
            f"numpy_{size}x{size}_s": stats([r["numpy_s"] for r in runs]),
            "wall_ratio": stats([r["ngspice_s"] / r["numpy_s"] for r in runs]),
            f"ir_drop_{large}_updates_per_s": stats([r["updates_per_s"] for r in rates]),
            f"ir_drop_{large}_device_pulse_updates_per_s": stats([r["device_pulse_updates_per_s"] for r in rates]),
            "line_resistance_ohm": 2.0, "cell": "1R", "scheme": "v_half",
            "pulse_train_length": rates[0]["pulse_train_length"]}


def bench_calibration(settings: Settings) -> dict:
    """A 3-parameter calibration of the default device on its default mesh (--quick: mesh sizes
    x 3): noise-free synthetic data generated by filatherm from the config itself (currents at
    +-0.5 and +-1 V to 1 %, probe temperatures at +-1 V to 3 K), fitted from a start away from
    it for the leading electrical conductivity, thermal conductivity and Seebeck numbers of the
    probe layer's material. `filatherm calibrate` under mpirun on 1 and 2 ranks, end to end
    (runs interleaved): `wall_1_rank_s`, `wall_2_ranks_s`, `speedup_2_ranks`, `fem_points`
    (FEM points solved per calibration), `evaluations`, `jacobians`, and `recovered` (largest
    relative deviation of a fitted value from the config's)."""
    import json

    from solver.calibration.synthetic import synthetic_measurements
    from solver.config import config_to_yaml, with_overrides

    config = load(settings, scaled_mesh(settings, 3.0) if settings.quick else ())
    fit, truth = _calibration_parameters(config)
    config = with_overrides(config, {"calibration.parameters": fit})
    probe = config.kinetics.probe if config.kinetics is not None else next(iter(config.probes))
    template = {"iv": [{"voltage": v, "current": 1e-5, "relative_uncertainty": 0.01} for v in (0.5, 1.0, -0.5, -1.0)],
                "temperature": [{"voltage": v, "temperature": 500.0, "uncertainty": 3.0, "probe": probe}
                                for v in (1.0, -1.0)]}
    walls: dict[int, list[float]] = {1: [], 2: []}
    outcome: dict = {}
    dofs = 0
    with tempfile.TemporaryDirectory(prefix="filatherm-bench-") as tmp:
        root = Path(tmp)
        config_path = root / "config.yaml"
        config_path.write_text(config_to_yaml(config))
        data = synthetic_measurements(config, template, root / "data.yaml", seed=None, work_dir=root)
        for k in range(settings.calibration_repeats):
            for ranks in (1, 2):
                say(f"  calibration: {ranks} rank(s), run {k + 1} of {settings.calibration_repeats}")
                out = root / f"out{ranks}"
                command = [*MPIRUN, "-n", str(ranks), sys.executable, "-m", "solver", "calibrate", str(config_path),
                           str(data), "--output", str(out), "--force", "--quiet"]
                wall, done = timed(lambda: subprocess.run(command, check=False, cwd=ROOT, env=child_env(),
                                                          capture_output=True, text=True))
                if done.returncode != 0:
                    raise RuntimeError(f"calibration on {ranks} rank(s) failed ({done.returncode}): "
                                       f"{(done.stderr or done.stdout).strip()[-500:]}")
                walls[ranks].append(wall)
                outcome = json.loads((out / "calibration.json").read_text())
                lines = (out / ".journal.jsonl").read_text().splitlines()
                dofs = next(json.loads(line)["record"]["dofs"] for line in lines if '"record"' in line)
    fitted = {p["path"]: p["value"] for p in outcome["parameters"]}
    recovered = max(abs(fitted[path] / value - 1.0) for path, value in truth.items())
    return {"parameters": list(truth), "measured_values": len(outcome["residuals"]),
            "dofs": dofs, "fem_points": outcome["fit"]["fem_points_solved"],
            "evaluations": outcome["fit"]["evaluations"], "jacobians": outcome["fit"]["jacobians"],
            "wall_1_rank_s": stats(walls[1]), "wall_2_ranks_s": stats(walls[2]),
            "speedup_2_ranks": stats([one / two for one, two in zip(walls[1], walls[2])]),
            "recovered": recovered, "runs_s": {"1": walls[1], "2": walls[2]}}


def _calibration_parameters(config) -> tuple[list[dict], dict[str, float]]:
    """(fit parameters, their true values): the leading sigma, kappa and Seebeck numbers of the
    probe layer's material, started at x1.5, x0.7 and +2e-4 V/K of the config's values."""
    from solver.calibration.parameters import enumerate_parameters

    probe = config.kinetics.probe if config.kinetics is not None else next(iter(config.probes))
    material = next(layer.material for layer in config.geometry.layers if layer.name == config.probes[probe].layer)
    chosen = {}
    for candidate in enumerate_parameters(config, "all"):
        prop = candidate.path.split(".")[2] if candidate.group == material else None
        if prop in ("electrical_conductivity", "thermal_conductivity", "seebeck") and prop not in chosen:
            chosen[prop] = candidate
    fit, truth = [], {}
    for prop, factor in (("electrical_conductivity", 1.5), ("thermal_conductivity", 0.7)):
        value = chosen[prop].value
        fit.append({"path": chosen[prop].path, "bounds": [value / 3, value * 3], "initial": value * factor})
        truth[chosen[prop].path] = value
    seebeck = chosen["seebeck"].value
    fit.append({"path": chosen["seebeck"].path, "bounds": [seebeck - 1e-3, seebeck + 1e-3], "initial": seebeck + 2e-4})
    truth[chosen["seebeck"].path] = seebeck
    return fit, truth


BENCHMARKS: dict[str, Callable[[Settings], dict]] = {
    "mesh": bench_mesh, "solve": bench_solve, "sweep": bench_sweep, "peer": bench_peer,
    "transient": bench_transient, "crossbar": bench_crossbar, "training": bench_training,
    "spice": bench_spice, "calibration": bench_calibration, "tile": bench_tile,
}


# -- report ----------------------------------------------------------------------------


def _loaded_blas() -> list[str]:
    """The BLAS/LAPACK libraries this process has mapped (netlib vs OpenBLAS matters ~5x
    for the direct solver at 500k dofs)."""
    try:
        maps = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return []
    paths = {line.split()[-1] for line in maps if "/" in line}
    return sorted(os.path.realpath(p) for p in paths
                  if ("blas" in p or "lapack" in p) and "-packages/" not in p)


def figure_value(entry) -> float | None:
    """A figure's value: the median of a repeated measurement, or a plain number."""
    if isinstance(entry, dict) and "median" in entry:
        return entry["median"]
    if isinstance(entry, (int, float)) and not isinstance(entry, bool):
        return float(entry)
    return None


def evaluate_targets(results: dict) -> dict:
    out = {}
    for key, (section, op, bound) in TARGETS.items():
        value = figure_value(results.get(section, {}).get(key))
        if value is None:
            continue
        met = value <= bound if op == "<=" else value >= bound
        out[key] = {"value": value, "target": f"{op} {bound:g}", "met": bool(met)}
    return out


def regressed(value: float, previous: float, better: str | None) -> bool:
    """Whether a figure moved the wrong way by more than NOISE (any rise from 0 counts)."""
    if better is None or value == previous:
        return False
    worse = value > previous if better == "lower" else value < previous
    if not worse:
        return False
    return previous == 0 or abs(value - previous) / abs(previous) > NOISE


def changes(results: dict, previous: dict | None) -> dict:
    """Per summary figure ("section.key"): value, previous value, relative change, regressed,
    and `status`: compared | new (no previous value) | kept (section not rerun: --only) |
    incomparable (a quick run against a full one)."""
    out = {}
    for section, key, _, better in SUMMARY:
        data = results.get(section, {})
        value = figure_value(data.get(key))
        if value is None:
            continue
        before = (previous or {}).get(section, {})
        old = figure_value(before.get(key))
        entry = {"value": value, "previous": old, "change": None, "regressed": False, "status": "new"}
        if old is not None:
            if data == before:  # carried over unchanged: --only did not rerun it
                entry["status"] = "kept"
            elif data.get("bench", {}).get("quick") != before.get("bench", {}).get("quick"):
                entry["status"] = "incomparable"
            else:
                entry["status"] = "compared"
                entry["change"] = (value - old) / abs(old) if old else (0.0 if value == 0 else None)
                entry["regressed"] = regressed(value, old, better)
        out[f"{section}.{key}"] = entry
    return out


def summary(results: dict) -> str:
    """One screen: per summary figure its value, target, met, previous value and change."""
    lines = [f"{'figure':<40} {'value':>10} {'unit':<4} {'target':<9} {'met':<4} "
             f"{'previous':>10} {'change':>8}"]
    targets, change = results.get("targets", {}), results.get("change", {})
    for section, key, unit, _ in SUMMARY:
        figure = f"{section}.{key}"
        if figure not in change:
            continue
        c = change[figure]
        target = targets.get(key) if TARGETS.get(key, ("",))[0] == section else None
        met = "" if target is None else ("yes" if target["met"] else "NO")
        previous = "" if c["previous"] is None else f"{c['previous']:.4g}"
        if c["status"] == "compared":
            shift = "" if c["change"] is None else f"{100 * c['change']:+.0f}%"
            shift += " REGRESSED" if c["regressed"] else ""
        else:
            shift = "" if c["status"] == "new" else c["status"]
        lines.append(f"{figure:<40} {c['value']:>10.4g} {unit:<4} "
                     f"{target['target'] if target else '':<9} {met:<4} {previous:>10} {shift:>8}")
    runs = [f"{section} {data['bench']['load_before']:.2f}/{data['bench']['load_after']:.2f}"
            + (" quick" if data["bench"]["quick"] else "")
            for section in SECTIONS if (data := results.get(section)) and "bench" in data]
    lines.append("load average before/after: " + ", ".join(runs))
    return "\n".join(lines)


def table(results: dict) -> str:
    """The figures as aligned text: one line per figure, median [min, max]."""
    lines = [f"{'section':<10} {'figure':<34} {'median':>11} {'min':>11} {'max':>11}"]

    def row(section: str, name: str, value) -> None:
        if isinstance(value, dict) and "median" in value:
            lines.append(f"{section:<10} {name:<34} {value['median']:>11.4g} {value['min']:>11.4g} "
                         f"{value['max']:>11.4g}")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            lines.append(f"{section:<10} {name:<34} {value:>11.4g}")

    for section in SECTIONS:
        data = results.get(section)
        if not data:
            continue
        for point in data.get("refinements", []):
            label = f"{point['dofs']} dofs"
            for key in ("wall_per_point_s", "newton_iterations", "time_per_iteration_s", "floor_s"):
                row(section, f"{label}: {key}", point[key])
            for part, value in point["floor_parts_s"].items():
                row(section, f"{label}:   floor {part}", value)
        for key, value in data.items():
            if key != "refinements":
                row(section, key, value)
    targets = results.get("targets", {})
    if targets:
        lines.append("")
        for key, t in targets.items():
            lines.append(f"target {key:<26} {t['value']:>11.4g}  {t['target']:<10} "
                         f"{'met' if t['met'] else 'MISSED'}")
    return "\n".join(lines)


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, Settings]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="1 repetition, the 2 coarsest refinements, an 11-point sweep")
    parser.add_argument("--only", action="append", choices=SECTIONS, metavar="SECTION",
                        help=f"run only this section (repeatable): {', '.join(SECTIONS)}")
    parser.add_argument("--repeats", type=int, help="repetitions per figure (default 3; quick 1)")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="device config")
    parser.add_argument("--peer-config", type=Path, default=PEER_CONFIG,
                        help="device config of the peer section (default: configs/static_cell.yaml)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help="JSON file to write (the one there before is kept as NAME.prev.json)")
    parser.add_argument("--details", action="store_true", help="print every figure, not only the summary")
    parser.add_argument("--tile-worker", type=Path, help=argparse.SUPPRESS)  # one tile run (under mpirun)
    parser.add_argument("--tile-scale", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    if repeats < 1:
        parser.error("--repeats: must be at least 1")
    settings = Settings(repeats=repeats, scales=SCALES[:2] if args.quick else SCALES,
                        sweep_points=11 if args.quick else SWEEP_POINTS,
                        config_path=args.config.resolve(), peer_config_path=args.peer_config.resolve(),
                        quick=args.quick, calibration_repeats=args.repeats or 1)
    return args, settings


def main(argv: list[str] | None = None) -> int:
    args, settings = parse_args(sys.argv[1:] if argv is None else argv)
    if args.tile_worker is not None:
        tile_worker(args.tile_worker, args.tile_scale, settings.repeats)
        return 0
    import solver.fem.compat  # noqa: F401 (initialises MPI and PETSc before any section)
    from solver.io import write_json_atomic
    from solver.versions import versions

    previous = read_previous(args.output)
    results: dict = {}
    if args.only and previous:
        results = {k: v for k, v in previous.items() if k in SECTIONS}
    for section in args.only or SECTIONS:
        say(f"{section} ...")
        load_before = os.getloadavg()[0]
        wall, results[section] = timed(lambda run=BENCHMARKS[section]: run(settings))
        results[section]["bench"] = {"wall_s": wall, "load_before": load_before,
                                     "load_after": os.getloadavg()[0], "repeats": settings.repeats,
                                     "quick": settings.quick,
                                     "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        say(f"{section}: {wall:.1f} s")
    results["targets"] = evaluate_targets(results)
    results["change"] = changes(results, previous)
    results["machine"] = {"cores": os.cpu_count(), "platform": platform.platform(),
                          "processor": platform.processor() or platform.machine(),
                          "blas": _loaded_blas(), **versions()}
    if previous:
        write_json_atomic(previous_path(args.output), previous)
    write_json_atomic(args.output, results)
    say("")
    if args.details:
        say(table(results) + "\n")
    say(summary(results))
    say(f"\n-> {args.output}" + (f" (previous run: {previous_path(args.output)})" if previous else ""))
    return 0


def previous_path(output: Path) -> Path:
    """bench.json -> bench.prev.json."""
    return output.with_name(f"{output.stem}.prev{output.suffix}")


def read_previous(output: Path) -> dict | None:
    """The results already at `output` (None if there are none, or they are unreadable: the new
    run then starts afresh and says so)."""
    import json

    if not output.exists():
        return None
    try:
        data = json.loads(output.read_text())
    except (OSError, ValueError) as err:
        say(f"bench: ignoring unreadable {output} ({err})")
        return None
    return data if isinstance(data, dict) else None


if __name__ == "__main__":
    sys.exit(main())
