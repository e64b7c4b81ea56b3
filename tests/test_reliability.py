"""Reliability (issue 11): paths, atomic outputs, numerical and process faults, disks, and
inputs from elsewhere. These tests break things for real: processes, signals, filesystems."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import DEFAULT_CONFIG, MPIRUN, ROOT, child_env, run_cli, write_yaml
from solver.errors import FilathermError
from solver.io import write_json_atomic
from solver.sweep.store import read_sweep
from fem_helpers import small_device


def sweep_once(tmp_path, num=11, name="s") -> tuple[Path, Path]:
    cfg = write_yaml(tmp_path / f"{name}.yaml", small_device(num))
    out = tmp_path / f"{name}_out"
    result = run_cli("sweep", str(cfg), "--output", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    return cfg, out


# --------------------------------------------------------------- atomic outputs, paths


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path):
    target = tmp_path / "qoi.json"
    write_json_atomic(target, {"T_max": 300.0})
    with pytest.raises(TypeError):
        write_json_atomic(target, {"T_max": object()})  # fails half-way through serialising
    assert json.loads(target.read_text()) == {"T_max": 300.0}
    assert [p.name for p in tmp_path.iterdir()] == ["qoi.json"]


def test_nan_results_are_written_as_json_null(tmp_path):
    write_json_atomic(tmp_path / "q.json", {"T_max": float("nan"), "list": [1.0, float("inf")]})
    assert json.loads((tmp_path / "q.json").read_text()) == {"T_max": None, "list": [1.0, None]}


@pytest.mark.parametrize("verb, path, extra", [
    ("solve", "solve/qoi.json", ["--voltage", "0.1"]),
    ("sweep", "sweep.h5", []),
    ("config", "config.yaml", []),
    ("slurm", "sweep.sbatch", ["--nodes", "1", "--ntasks-per-node", "2", "--time", "00:10:00"]),
])
def test_existing_results_are_never_overwritten_without_force(tmp_path, verb, path, extra):
    cfg = write_yaml(tmp_path / "s.yaml", small_device(3))
    out = tmp_path / "out"
    (out / path).parent.mkdir(parents=True, exist_ok=True)
    (out / path).write_text("earlier result")
    if verb == "sweep":
        (out / ".sweep.jsonl").write_text("earlier journal\n")
    result = run_cli(verb, str(cfg), "--output", str(out), *extra)
    assert result.returncode == 2 and ("--force" in result.stderr or "--resume" in result.stderr), result.stderr
    assert (out / path).read_text() == "earlier result"


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "a/b", ".hidden", "..", ""])
def test_a_name_cannot_escape_the_results_directory(tmp_path, name):
    data = small_device(3)
    data["name"] = name
    result = run_cli("config", str(write_yaml(tmp_path / "n.yaml", data)), "--output", str(tmp_path / "o"))
    assert result.returncode == 2 and "name" in result.stderr
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------- numerical faults

INJECT_NAN = """
import sys
import numpy as np
import solver.fem.problem as problem
solve = problem.ElectroThermalProblem.solve
def poisoned(self, drive):
    if abs(drive) > 0.55:  # a NaN appears in every solve above 0.55 V
        self.u.x.array[:] = np.nan
    return solve(self, drive)
problem.ElectroThermalProblem.solve = poisoned
from solver.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_nan_in_a_solve_is_recorded_as_diverged_and_the_sweep_goes_on(tmp_path):
    cfg = write_yaml(tmp_path / "s.yaml", small_device(11))
    result = subprocess.run([sys.executable, "-c", INJECT_NAN, "sweep", str(cfg), "--output", str(tmp_path / "o"),
                             "--quiet"], cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    table = read_sweep(tmp_path / "o" / "sweep.h5")
    voltage = table["voltage_applied"]
    bad = np.abs(voltage) > 0.55
    assert set(table["status"][bad]) == {"diverged"} and set(table["status"][~bad]) == {"ok"}
    assert all("non-finite" in reason for reason in table["reason"][bad])
    assert np.all(np.isnan(table["current"][bad])) and np.all(np.isfinite(table["current"][~bad]))


def test_a_torn_row_is_detected_and_solved_again(tmp_path):
    cfg, out = sweep_once(tmp_path, 5)
    journal = out / ".sweep.jsonl"
    lines = journal.read_text().splitlines()
    journal.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][: len(lines[-1]) // 2])  # torn by a kill
    (out / "sweep.h5").unlink()  # ... that came before the view was rewritten (else it holds the row)
    resumed = run_cli("sweep", str(cfg), "--output", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "dropped 1 torn row" in resumed.stdout and "1 points solved" in resumed.stdout
    assert len(read_sweep(out / "sweep.h5")) == 5


# --------------------------------------------------------------- process faults


def test_sigint_stores_what_is_done_and_says_how_to_resume(tmp_path):
    cfg = write_yaml(tmp_path / "s.yaml", small_device(401))  # ~4 s: the signal lands mid-sweep
    out = tmp_path / "o"
    process = subprocess.Popen([sys.executable, "-m", "solver", "sweep", str(cfg), "--output", str(out), "--quiet"],
                               cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = out / ".sweep.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (journal.exists() and journal.read_text().count("\n") >= 4):
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert stderr.count("\n") == 1 and "--resume" in stderr and "Traceback" not in stderr
    stored = len(read_sweep(out / "sweep.h5"))
    assert 3 <= stored < 401
    resumed = run_cli("sweep", str(cfg), "--output", str(out), "--resume", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert len(read_sweep(out / "sweep.h5")) == 401


RAISE_ON_RANK_1 = """
import sys
from mpi4py import MPI
import solver.sweep.runner as runner
if MPI.COMM_WORLD.rank == 1:
    def broken(self, chunk, emit, stop=lambda: False):
        raise RuntimeError("injected failure on rank 1")
    runner.GroupSolver.solve_chunk = broken
from solver.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.mpi
def test_an_exception_on_one_rank_ends_the_whole_job_quickly(tmp_path):
    cfg = write_yaml(tmp_path / "s.yaml", small_device(41))
    start = time.monotonic()
    result = subprocess.run([*MPIRUN, "-n", "2", sys.executable, "-c", RAISE_ON_RANK_1, "sweep", str(cfg),
                             "--output", str(tmp_path / "o"), "--quiet"],
                            cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=120)
    assert time.monotonic() - start < 30
    assert result.returncode != 0
    assert "rank 1" in result.stderr and "injected failure on rank 1" in result.stderr


# --------------------------------------------------------------- disks


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 64 kB tmpfs (root only: mounting needs privileges)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the CI runs as root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_clearly_and_keeps_earlier_results(small_tmpfs):
    out = small_tmpfs / "run"
    (out / "solve").mkdir(parents=True)
    (out / "solve" / "qoi.json").write_text('{"earlier": true}')
    result = run_cli("solve", str(DEFAULT_CONFIG), "--voltage", "0.2", "--output", str(out), "--force",
                     "--set", "mesh.size=5", "--set", "mesh.filament_size=0.5")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "No space left on device" in result.stderr or "cannot write" in result.stderr
    assert json.loads((out / "solve" / "qoi.json").read_text()) == {"earlier": True}
    assert not [p for p in (out / "solve").iterdir() if p.name.startswith(".")]  # no half-written leftovers


def test_an_unwritable_output_directory_is_a_clear_error(small_tmpfs, tmp_path):
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    result = run_cli("solve", str(DEFAULT_CONFIG), "--voltage", "0.2", "--output", str(small_tmpfs / "run"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and str(small_tmpfs) in result.stderr


# --------------------------------------------------------------- inputs from elsewhere


def _tamper(path: Path, how: str) -> None:
    with h5py.File(path, "r+") as h5:
        if how == "format":
            h5.attrs["format"] = "something-else"
        elif how == "version":
            h5.attrs["version"] = 99
        elif how == "missing":
            del h5["current"]
        elif how == "nan":
            data = h5["T_max"][...]
            data[2] = np.nan
            h5["T_max"][...] = data
        elif how == "rows":
            h5.attrs["rows"] = 3


@pytest.mark.parametrize("how, words", [("format", "not a filatherm sweep store"), ("version", "version 99"),
                                        ("missing", "missing column current"), ("nan", "T_max"),
                                        ("rows", "rows")])
def test_a_tampered_sweep_store_is_bad_input(tmp_path, how, words):
    _, out = sweep_once(tmp_path, 5)
    (out / ".sweep.jsonl").unlink()
    _tamper(out / "sweep.h5", how)
    result = run_cli("fit", str(out), "--force", "--set", "kinetics.law=ion_hopping")
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and words in result.stderr


def test_a_truncated_sweep_store_is_bad_input(tmp_path):
    _, out = sweep_once(tmp_path, 3)
    data = (out / "sweep.h5").read_bytes()
    (out / "sweep.h5").write_bytes(data[: len(data) // 2])
    result = run_cli("fit", str(out), "--force")
    assert result.returncode == 2 and "unreadable sweep store" in result.stderr


def test_io_errors_become_one_line_errors(tmp_path):
    from solver.io import atomic_path

    with pytest.raises(FilathermError, match="cannot write"):
        with atomic_path(tmp_path / "x.json"):
            raise OSError(28, "No space left on device")
