"""The `filatherm` command line: a thin argument layer over the library, and the only place
that writes to the terminal (library code reports through `say` callbacks and progress objects
that this module provides).

Exit codes: 0 success; 2 bad input (one line, no traceback); 1 anything else, with the
reason. Set FILATHERM_DEBUG=1 to see the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path
from typing import Optional

from solver.errors import FilathermError, InputError


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as a one-line InputError (exit 2)."""

    def error(self, message: str) -> None:  # noqa: D102 (argparse hook)
        raise InputError(f"{self.prog}: {message}")


def is_root_rank() -> bool:
    """Rank 0 under mpirun (read from the environment: importing MPI just to print is slow)."""
    for key in ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"):
        if key in os.environ:
            return os.environ[key] == "0"
    return True


def say(message: str, quiet: bool = False) -> None:
    """Progress and results for people: stdout, rank 0 only, silenced by --quiet."""
    if not quiet and is_root_rank():
        print(message, flush=True)


def _error(message: str) -> None:
    print(f"filatherm: error: {message}", file=sys.stderr, flush=True)


def load_config_from_args(args: argparse.Namespace, extra: tuple[str, ...] = ()):
    """The config named on the command line, with its --set overrides (and `extra` ones, from
    a verb's own flags) applied."""
    from solver.config import load_config

    return load_config(args.config, [*(args.set or ()), *extra])


ERROR_ESTIMATE_HELP = ("also sweep the config's own parameter set on meshes x2 and /2 (sweep.error_estimate); "
                       "fit then gives V_write, T at V_write and the half-select ratio their discretisation error")


def results_dir(args: argparse.Namespace, config) -> Path:
    """Where a verb writes: --output DIR, else results/<name>/ (the name cannot escape it)."""
    return Path(args.output) if args.output else Path("results") / config.name


def refuse_overwrite(path, force: bool) -> None:
    """Existing results are never overwritten without --force."""
    if path.exists() and not force:
        raise InputError(f"{path}: exists; use --force to overwrite it")


class SweepProgress:
    """A sweep's points as they are stored: a live bar on a terminal, else (or with --quiet)
    a plain line every `interval` seconds (solver.sweep.driver.Progress)."""

    def __init__(self, quiet: bool, interval: float = 10.0):
        self.quiet = quiet
        self.interval = interval
        self._bar = None

    def start(self, total: int, already_done: int) -> None:
        self.total, self.done, self.failed = total, already_done, 0
        self.start_done = already_done
        self.started = self._last_line = time.monotonic()
        if not self.quiet and sys.stdout.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[failed]} failed"), TimeRemainingColumn())
            self._task = self._bar.add_task("sweep", total=total, completed=already_done, failed=0)
            self._bar.start()

    def update(self, row: dict) -> None:
        self.done += 1
        self.failed += row.get("status") != "ok"
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, failed=self.failed)
        elif time.monotonic() - self._last_line >= self.interval:
            self._last_line = time.monotonic()
            print(self.line(), flush=True)

    def eta(self) -> float:
        solved = self.done - self.start_done
        if solved == 0:
            return float("nan")
        return (time.monotonic() - self.started) / solved * (self.total - self.done)

    def line(self) -> str:
        return (f"sweep: {self.done}/{self.total} points, {self.failed} failed, "
                f"elapsed {time.monotonic() - self.started:.0f} s, ETA {self.eta():.0f} s")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


# Verbs in the order `filatherm --help` lists them. Each module exposes
# `add_arguments(parser)` and `run(args) -> int`; it imports heavy modules (DOLFINx, PETSc)
# inside `run` so that parsing arguments stays fast.
VERBS: dict[str, tuple[str, str]] = {
    "mesh": ("solver.geometry.command", "build the Gmsh mesh of the cell -> meshes/<name>.msh/.xdmf"),
    "solve": ("solver.fem.command", "solve one operating point (steady or a pulse) -> solve/qoi.json"),
    "sweep": ("solver.sweep.command", "sweep voltage and parameters (run under mpirun) -> sweep.h5"),
    "merge": ("solver.sweep.merge_command", "merge the stores of a sharded sweep -> one sweep.h5"),
    "slurm": ("solver.sweep.slurm_command", "write a ready sbatch script for the sweep"),
    "report": ("solver.report.command", "figures and summary.md of a results directory"),
    "run": ("solver.pipeline.command", "the whole pipeline: mesh, sweep, fit, pulse, crossbar, training, report"),
    "config": ("solver.config.command", "print the fully resolved config as YAML"),
    "fit": ("solver.compact.command", "fit the compact model to RESULTS_DIR/sweep.h5"),
    "pulses": ("solver.compact.pulses_command", "pulse response of a device with a state: LTP/LTD, states, k"),
    "crossbar": ("solver.crossbar.command", "crossbar experiments with the fitted compact model"),
    "train": ("solver.crossbar.train_command", "hardware-aware training on crossbars of the fitted device"),
    "spice-array": ("solver.spice.command", "one parallel update of a crossbar in ngspice, with line resistance"),
    "crosstalk": ("solver.crosstalk.command", "thermal crosstalk on a 3D tile: per-cell T and rates, coupling matrix"),
}


# Verbs that run the FEM (they need solver.fem.compat.configure first).
FEM_VERBS = ("mesh", "solve", "sweep", "run", "crosstalk")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--set", action="append", metavar="KEY=VALUE", default=[],
        help="override a config key, e.g. --set geometry.layers[1].filament.radius=3 (repeatable)",
    )
    common.add_argument("--output", metavar="DIR", help="write under DIR instead of results/<name>/")
    common.add_argument("--quiet", action="store_true", help="no progress output")
    common.add_argument("--force", action="store_true", help="overwrite existing results")

    parser = _Parser(prog="filatherm", description="Electro-thermal ReRAM filament simulation, "
                     "from cell geometry to crossbar. See README.md.")
    parser.add_argument("--version", action="store_true", help="print versions and exit")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for name, (module_name, help_text) in VERBS.items():
        module = importlib.import_module(module_name)
        verb = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        module.add_arguments(verb)
        verb.set_defaults(func=module.run)
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.version:
            from solver.versions import versions

            print("  ".join(f"{k} {v}" for k, v in versions().items()))
            return 0
        if args.verb is None:
            parser.print_help()
            return 2
        if args.verb in FEM_VERBS:
            from solver.fem.compat import configure

            configure()
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except FilathermError as err:  # InputError included: its exit code is 2
        return _fail(str(err), err.exit_code)
    except Exception as err:  # noqa: BLE001 (the last line of defence: one line, exit 1)
        if os.environ.get("FILATHERM_DEBUG"):
            raise
        return _fail(f"internal error: {type(err).__name__}: {err} "
                     "(FILATHERM_DEBUG=1 shows the traceback)", 1)


def _fail(message: str, code: int) -> int:
    """Report an error and return its exit code, without leaving MPI ranks hanging.

    Under mpirun, an error that every rank raised (a bad config) is printed once and the job
    exits normally. An error on some ranks only would leave the others blocked in a collective
    call forever: if the other ranks do not arrive within a few seconds, this rank prints its
    error and aborts the whole job.
    """
    world = _mpi_world()
    if world is None or world.size == 1:
        _error(message)
        return code
    import time

    request = world.Ibarrier()
    deadline = time.monotonic() + 5.0
    while not request.Test():
        if time.monotonic() > deadline:
            print(f"filatherm: error (rank {world.rank}): {message}", file=sys.stderr, flush=True)
            world.Abort(code)
        time.sleep(0.01)
    if world.rank == 0:
        print(f"filatherm: error: {message}", file=sys.stderr, flush=True)
    return code


def _mpi_world():
    """COMM_WORLD if this process already runs MPI, else None (never initialise it here)."""
    module = sys.modules.get("mpi4py.MPI")
    if module is None or not module.Is_initialized() or module.Is_finalized():
        return None
    return module.COMM_WORLD
