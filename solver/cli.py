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
import re
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


class _Output:
    """Where messages go, set once by `main` from --verbose and --log."""

    verbose = False
    log = None  # an open text file (--log FILE): every message and error, with a time stamp


def say(message: str, quiet: bool = False) -> None:
    """Progress and results for people: stdout, rank 0 only, silenced by --quiet (the --log
    file gets them all the same)."""
    if not is_root_rank():
        return
    if not quiet:
        print(message, flush=True)
    _to_log(message)


def _to_log(message: str) -> None:
    if _Output.log is not None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        _Output.log.write("".join(f"{stamp} {line}\n" for line in message.splitlines() or [""]))
        _Output.log.flush()


def _error(message: str) -> None:
    print(f"filatherm: error: {message}", file=sys.stderr, flush=True)
    _to_log(f"error: {message}")


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


def under_mpi() -> bool:
    """Started by mpirun/srun with more than one rank (read from the environment)."""
    for key in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS"):
        if os.environ.get(key, "1").isdigit() and int(os.environ.get(key, "1")) > 1:
            return True
    return False


class SweepProgress:
    """A sweep's points as they are stored (solver.sweep.driver.Progress): nothing with
    --quiet; a live bar on a terminal; otherwise (a log file, a pipe, any MPI job, whose
    stdout Open MPI hands through a pseudo-terminal) a plain line every `interval` seconds.
    --verbose adds one line per stored point."""

    def __init__(self, quiet: bool, interval: float = 10.0, verbose: Optional[bool] = None):
        self.quiet = quiet
        self.interval = interval
        self.verbose = _Output.verbose if verbose is None else verbose
        self._bar = None

    def start(self, total: int, already_done: int) -> None:
        self.total, self.done, self.failed = total, already_done, 0
        self.start_done = already_done
        self.started = self._last_line = time.monotonic()
        if not self.quiet and not self.verbose and sys.stdout.isatty() and not under_mpi():
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
        elif self.verbose:
            say(self.point_line(row), self.quiet)
        elif time.monotonic() - self._last_line >= self.interval:
            self._last_line = time.monotonic()
            say(self.line(), self.quiet)

    def eta(self) -> float:
        solved = self.done - self.start_done
        if solved == 0:
            return float("nan")
        return (time.monotonic() - self.started) / solved * (self.total - self.done)

    def line(self) -> str:
        return (f"sweep: {self.done}/{self.total} points, {self.failed} failed, "
                f"elapsed {time.monotonic() - self.started:.0f} s, ETA {self.eta():.0f} s")

    def point_line(self, row: dict) -> str:
        parameters = ", ".join(f"{k[len('parameters/'):]}={v}" for k, v in row.items() if k.startswith("parameters/"))
        hottest = ("peak T_max", row["peak_T_max"]) if "peak_T_max" in row else ("T_max", row.get("T_max"))
        return (f"sweep: {self.done}/{self.total} {row.get('status')} at {row.get('drive', float('nan')):.6g}"
                + (f" [{parameters}]" if parameters else "")
                + f", {hottest[0]} {hottest[1] if hottest[1] is not None else float('nan'):.1f} K, "
                f"{row.get('wall_time_s', 0.0):.2f} s")

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
    "calibrate": ("solver.calibration.command", "fit a cell's parameters to measured device data -> calibration/"),
    "sensitivity": ("solver.calibration.sensitivity_command", "sensitivity of the headline figures to every parameter"),
    "crosstalk": ("solver.crosstalk.command", "thermal crosstalk on a 3D tile: per-cell T and rates, coupling matrix"),
}


# Verbs that run the FEM (they need solver.fem.compat.configure first).
FEM_VERBS = ("mesh", "solve", "sweep", "run", "crosstalk")


# Options every verb may take; a verb module narrows them with COMMON_OPTIONS (merge has no
# config to --set) and explains its --output with OUTPUT_HELP.
COMMON_OPTIONS = ("set", "output", "force", "quiet", "verbose", "log")


def add_common_options(parser: argparse.ArgumentParser, module) -> None:
    wanted = getattr(module, "COMMON_OPTIONS", COMMON_OPTIONS)
    if "set" in wanted:
        parser.add_argument(
            "--set", action="append", metavar="KEY=VALUE", default=[],
            help="override a config key, e.g. --set geometry.layers[1].filament.radius=3 (repeatable)")
    else:
        parser.set_defaults(set=[])
    if "output" in wanted:
        parser.add_argument("--output", metavar="DIR",
                            help=getattr(module, "OUTPUT_HELP", "write under DIR instead of results/<name>/"))
    else:
        parser.set_defaults(output=None)
    if "force" in wanted:
        parser.add_argument("--force", action="store_true", help="overwrite existing results")
    else:
        parser.set_defaults(force=False)
    parser.add_argument("--allow-large", action="store_true",
                        help="mesh or sweep beyond the size limits (solver/limits.py: 2e6 cells, 1e7 points)")
    parser.add_argument("--quiet", action="store_true", help="no progress output (errors still go to stderr)")
    parser.add_argument("--verbose", action="store_true", help="more progress: one line per solved point")
    parser.add_argument("--log", metavar="FILE", help="also append every message and error to FILE")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="filatherm", description="Electro-thermal ReRAM filament simulation, "
                     "from cell geometry to crossbar. See README.md.")
    parser.add_argument("--version", action="store_true", help="print versions and exit")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for name, (module_name, help_text) in VERBS.items():
        module = importlib.import_module(module_name)
        verb = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(verb)
        add_common_options(verb, module)
        verb.set_defaults(func=module.run)
    return parser


# A negative number as an option's value: argparse takes `-1e-3` (unlike `-1` or `-0.5`) for an
# option and reports `--voltage` as missing its argument.
_NEGATIVE_NUMBER = re.compile(r"^-(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$|^-(?:inf|nan)$", re.IGNORECASE)


def attach_negative_values(argv: list[str]) -> list[str]:
    """`--voltage -1e-3` -> `--voltage=-1e-3`, so that a negative number is always a value."""
    out: list[str] = []
    for token in argv:
        previous = out[-1] if out else ""
        if (_NEGATIVE_NUMBER.match(token) and previous.startswith("--") and "=" not in previous
                and previous != "--"):
            out[-1] = f"{previous}={token}"
        else:
            out.append(token)
    return out


def main(argv: Optional[list[str]] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(attach_negative_values(list(sys.argv[1:] if argv is None else argv)))
        if args.version:
            from solver.versions import versions

            print("  ".join(f"{k} {v}" for k, v in versions().items()))
            return 0
        if args.verb is None:
            parser.print_help()
            return 2
        _Output.verbose = args.verbose
        if args.allow_large:
            from solver.limits import allow_large

            allow_large()
        if args.log and is_root_rank():
            try:
                _Output.log = open(args.log, "a", encoding="utf-8")
            except OSError as err:
                raise InputError(f"--log {args.log}: cannot open ({err.strerror})") from None
            _to_log("filatherm " + " ".join(sys.argv[1:] if argv is None else argv))
        if args.verb in FEM_VERBS:
            from solver.fem.compat import configure

            configure()
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except FilathermError as err:  # InputError included: its exit code is 2
        if getattr(err, "announced", False):
            return err.exit_code  # said already, the moment it happened (an interrupted sweep)
        return _fail(str(err), err.exit_code, wait=not getattr(err, "alone", False))
    except Exception as err:  # noqa: BLE001 (the last line of defence: one line, exit 1)
        if os.environ.get("FILATHERM_DEBUG"):
            raise
        return _fail(f"internal error: {type(err).__name__}: {err} "
                     "(FILATHERM_DEBUG=1 shows the traceback)", 1)


def _fail(message: str, code: int, wait: bool = True) -> int:
    """Report an error and return its exit code, without leaving MPI ranks hanging.

    Under mpirun, an error that every rank raised (a bad config) is printed once and the job
    exits normally. An error on some ranks only would leave the others blocked in a collective
    call forever: if the other ranks do not arrive within a few seconds, this rank prints its
    error and aborts the whole job; at once when the error says it is this rank's `alone`
    (a frozen worker the others will never hear from).
    """
    world = _mpi_world()
    if world is None or world.size == 1:
        _error(message)
        return code

    request = world.Ibarrier()
    deadline = time.monotonic() + (5.0 if wait else 0.0)
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
