"""Benchmarks of filatherm on the current machine (`make bench`; issue 10).

    .venv/bin/python scripts/bench.py [--quick] [--only SECTION ...] [--repeats N] [--output PATH]

Writes results/bench/bench.json (atomically) and prints a table. Every timed figure is the
median of `--repeats` (default 3) repetitions, stored as {"median", "min", "max"}.

Sections (one function each, `bench_<section>`):
  mesh       build_mesh of the default device: `build_s`, `cells`.
  solve      the default device at 4 refinements (mesh sizes scaled; about 10k to 500k dofs).
             Per refinement: `wall_per_point_s` (one continued sweep step, 0.925 -> 1.0 V),
             `newton_iterations`, `time_per_iteration_s`, and `floor_s` = one Jacobian assembly
             + one residual assembly + one linear solve (numeric factorisation + solve) of the
             same system, with plain DOLFINx/PETSc calls. Keys: `iteration_over_floor` (per
             repetition the median over refinements of time per iteration / floor),
             `scaling_exponent` (per repetition the least-squares slope of log time per
             iteration vs log dofs), `newton_iterations_median` (median over the points of a
             41-point continued sweep of the default device, min/max over the points).
  sweep      `filatherm sweep` of the 41-point default sweep under mpirun on 1 and 2 ranks
             (end-to-end wall time, start-up included): `speedup_2_ranks`.
  transient  one 60 ns pulse of the default device (TransientSolver): `wall_s`, `steps`.
  crossbar   `updates_per_s` (device-pulse updates per second, one core, aihwkit counting)
             and `training_epoch_s` (solver.crossbar.bench).
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

--quick: 1 repetition, the 2 coarsest refinements, an 11-point sweep, tiles of ~10k dofs; for
development and the smoke test only (the JSON says `"quick": true`; its figures are not comparable to a full run).
--only SECTION (repeatable): run those sections and keep the others already in the output file.
A full run takes ~10 minutes on 2 cores (netlib BLAS); the 500k-dof refinement dominates.
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
DEFAULT_OUTPUT = ROOT / "results" / "bench" / "bench.json"
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]

SCALES = (1.5, 0.8, 0.41, 0.215)  # mesh size factors: ~10k, 36k, 137k, 500k dofs (default: 23k)
SWEEP_POINTS = 41
POINT_VOLTAGE = 1.0  # the timed point; it is continued from one 41-point sweep step below
SECTIONS = ("mesh", "solve", "sweep", "transient", "crossbar", "tile")
TILE_CONFIG = ROOT / "configs" / "tile.yaml"
# mesh-size factors of configs/tile.yaml: ~500k and ~250k dofs (quick: ~10k and ~5k)
TILE_SCALES = {False: (0.445, 0.56), True: (1.6, 2.0)}
TILE_VOLTAGE = 0.5  # V on the driven row (the rest at V/2 as in configs/tile.yaml)
TARGETS = {  # key: (section, "<=" | ">=", bound)
    "iteration_over_floor": ("solve", "<=", 1.3),
    "newton_iterations_median": ("solve", "<=", 4),
    "scaling_exponent": ("solve", "<=", 1.25),
    "speedup_2_ranks": ("sweep", ">=", 1.7),
    "updates_per_s": ("crossbar", ">=", 5e7),
}


@dataclasses.dataclass(frozen=True)
class Settings:
    repeats: int = 3
    scales: tuple[float, ...] = SCALES
    sweep_points: int = SWEEP_POINTS
    config_path: Path = DEFAULT_CONFIG
    quick: bool = False


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


def load(settings: Settings, overrides: tuple[str, ...] = ()):
    from solver.config import load_config

    return load_config(settings.config_path, list(overrides))


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
    from solver.fem.continuation import Continuation
    from solver.fem.mesh import build_mesh
    from solver.fem.problem import ElectroThermalProblem

    config = load(settings, scaled_mesh(settings, scale))
    cell_mesh = build_mesh(config)
    problem = ElectroThermalProblem(config, cell_mesh)
    step = (config.sweep.voltage.stop - config.sweep.voltage.start) / (SWEEP_POINTS - 1)
    # Reach the point's two predecessors in as few solves as possible (one long step, then
    # one sweep step), so the timed step has the sweep's secant predictor behind it.
    continuation = Continuation(problem, POINT_VOLTAGE, config.solver.continuation.min_step)
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
    from solver.sweep.command import run_sweep

    config = load(settings, (f"sweep.voltage.num={settings.sweep_points}",))
    with tempfile.TemporaryDirectory(prefix="filatherm-bench-") as tmp:
        say(f"  solve: {settings.sweep_points}-point sweep for Newton iterations")
        wall, _ = timed(lambda: run_sweep(config, Path(tmp), quiet=True))
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
    return {"points": settings.sweep_points, "wall_1_rank_s": stats(walls[1]),
            "wall_2_ranks_s": stats(walls[2]), "speedup_2_ranks": stats(speedups),
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
    return {"runs": runs, "speedup_2_ranks": {"median": one / two, "min": one / two, "max": one / two},
            "weak_scaling_efficiency": {"median": half_run / two, "min": half_run / two, "max": half_run / two},
            "voltage": TILE_VOLTAGE}


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


BENCHMARKS: dict[str, Callable[[Settings], dict]] = {
    "mesh": bench_mesh, "solve": bench_solve, "sweep": bench_sweep,
    "transient": bench_transient, "crossbar": bench_crossbar, "tile": bench_tile,
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


def evaluate_targets(results: dict) -> dict:
    out = {}
    for key, (section, op, bound) in TARGETS.items():
        entry = results.get(section, {}).get(key)
        if entry is None:
            continue
        value = entry["median"]
        met = value <= bound if op == "<=" else value >= bound
        out[key] = {"value": value, "target": f"{op} {bound:g}", "met": bool(met)}
    return out


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
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON file to write")
    parser.add_argument("--tile-worker", type=Path, help=argparse.SUPPRESS)  # one tile run (under mpirun)
    parser.add_argument("--tile-scale", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    if repeats < 1:
        parser.error("--repeats: must be at least 1")
    settings = Settings(repeats=repeats, scales=SCALES[:2] if args.quick else SCALES,
                        sweep_points=11 if args.quick else SWEEP_POINTS,
                        config_path=args.config.resolve(), quick=args.quick)
    return args, settings


def main(argv: list[str] | None = None) -> int:
    args, settings = parse_args(sys.argv[1:] if argv is None else argv)
    if args.tile_worker is not None:
        tile_worker(args.tile_worker, args.tile_scale, settings.repeats)
        return 0
    import solver.fem.compat  # noqa: F401 (initialises MPI and PETSc before any section)
    from solver.io import write_json_atomic
    from solver.versions import versions

    results: dict = {}
    if args.only and args.output.exists():
        import json

        results = {k: v for k, v in json.loads(args.output.read_text()).items() if k in SECTIONS}
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
    results["machine"] = {"cores": os.cpu_count(), "platform": platform.platform(),
                          "processor": platform.processor() or platform.machine(),
                          "blas": _loaded_blas(), **versions()}
    write_json_atomic(args.output, results)
    say("")
    say(table(results))
    say(f"\n-> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
