"""Sweeps (issue 6): plan, MPI equivalence, resume after SIGKILL, failures recorded, shards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import ROOT, child_env, run_cli, run_mpi, write_yaml
from fem_helpers import small_device
from solver.config import validate_config
from solver.sweep.plan import branches, chunks, expand, point_id, shard
from solver.sweep.store import read_sweep

PHYSICAL = ("voltage_applied", "voltage_device", "current", "power", "T_max", "heat_out",
            "probes/active/T_mean", "probes/active/E_mean")


def assert_same_table(a, b, rel=2e-8):
    assert list(a["point_id"]) == list(b["point_id"])
    assert list(a["status"]) == list(b["status"])
    for key in PHYSICAL:
        np.testing.assert_allclose(b[key], a[key], rtol=rel, atol=0, err_msg=key)


def test_plan_is_deterministic_with_stable_ids_and_branches():
    config = validate_config(small_device(5, parameters={"geometry.layers[1].filament.radius": [4, 5]}))
    points = expand(config)
    assert len(points) == 10
    assert [p.point_id for p in points] == [p.point_id for p in expand(config)]
    assert points[0].point_id == point_id(-1.0, (("geometry.layers[1].filament.radius", 4),))
    found = branches(points)
    assert len(found) == 4  # two radii x two polarities (0 V joins the positive branch)
    for branch in found:
        assert [abs(p.drive) for p in branch] == sorted(abs(p.drive) for p in branch)
    assert sum(len(c.points) for c in chunks(points, 8)) == 10 and len(chunks(points, 8)) >= 8
    halves = [shard(points, f"{i}/2") for i in (0, 1)]
    assert sorted(p.index for h in halves for p in h) == list(range(10))


@pytest.mark.mpi
def test_one_and_two_rank_sweeps_give_identical_tables(tmp_path):
    cfg = write_yaml(tmp_path / "s.yaml", small_device())
    serial = run_cli("sweep", str(cfg), "--output", str(tmp_path / "n1"), "--quiet")
    assert serial.returncode == 0, serial.stderr
    parallel = run_mpi(2, "sweep", str(cfg), "--output", str(tmp_path / "n2"), "--quiet")
    assert parallel.returncode == 0, parallel.stderr
    grouped = run_mpi(2, "sweep", str(cfg), "--output", str(tmp_path / "k2"), "--quiet", "--ranks-per-point", "2")
    assert grouped.returncode == 0, grouped.stderr
    a = read_sweep(tmp_path / "n1" / "sweep.h5")
    assert len(a) == 11 and set(a["status"]) == {"ok"}
    assert_same_table(a, read_sweep(tmp_path / "n2" / "sweep.h5"))
    assert_same_table(a, read_sweep(tmp_path / "k2" / "sweep.h5"))


def test_sigkill_then_resume_loses_nothing_and_solves_nothing_twice(tmp_path):
    cfg = write_yaml(tmp_path / "s.yaml", small_device(121))  # ~1 s of solving: the kill lands mid-sweep
    reference = run_cli("sweep", str(cfg), "--output", str(tmp_path / "ref"), "--quiet")
    assert reference.returncode == 0, reference.stderr
    out = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-m", "solver", "sweep", str(cfg), "--output", str(out), "--quiet"],
                               cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    journal = out / ".sweep.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count("\n") >= 6:  # header + 5 rows
            break
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    stored_before = read_sweep(out / "sweep.h5") if (out / "sweep.h5").exists() else None
    lines = journal.read_text().splitlines()
    assert 6 <= len(lines) < 122, "the kill must land mid-sweep"
    resumed = run_cli("sweep", str(cfg), "--output", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    stored = len([line for line in journal_rows(lines)])
    assert f"{121 - stored} points solved" in resumed.stdout and f"{stored} already stored" in resumed.stdout
    final = read_sweep(out / "sweep.h5")
    assert_same_table(read_sweep(tmp_path / "ref" / "sweep.h5"), final)
    if stored_before is not None:  # rows stored before the kill are kept exactly as they were
        for i, pid in enumerate(stored_before["point_id"]):
            j = list(final["point_id"]).index(pid)
            assert final["wall_time_s"][j] == stored_before["wall_time_s"][i]


def journal_rows(lines):
    """Complete row lines of a journal (a line torn by the kill does not parse)."""
    import json

    for line in lines[1:]:
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            continue


def test_resume_refuses_a_different_config_unless_forced(tmp_path):
    cfg = write_yaml(tmp_path / "s.yaml", small_device(3))
    assert run_cli("sweep", str(cfg), "--output", str(tmp_path / "o"), "--quiet").returncode == 0
    again = run_cli("sweep", str(cfg), "--output", str(tmp_path / "o"), "--quiet")
    assert again.returncode == 2 and "--resume" in again.stderr
    changed = run_cli("sweep", str(cfg), "--output", str(tmp_path / "o"), "--resume", "--set", "mesh.size=5")
    assert changed.returncode == 2 and "config hash" in changed.stderr and changed.stderr.count("\n") == 1
    kinetics_only = run_cli("sweep", str(cfg), "--output", str(tmp_path / "o"), "--resume", "--quiet",
                            "--set", "kinetics.activation_energy=1.2")
    assert kinetics_only.returncode == 0, kinetics_only.stderr  # the solves do not depend on it
    forced = run_cli("sweep", str(cfg), "--output", str(tmp_path / "o"), "--force", "--quiet", "--set", "mesh.size=5")
    assert forced.returncode == 0, forced.stderr


def test_failed_points_are_recorded_and_the_sweep_completes(tmp_path):
    """A rod that runs away thermally above ~0.33 V: the sweep records the runaway and goes on."""
    material = {"electrical_conductivity": {"law": "arrhenius", "value": 100.0, "activation_energy": 1.5},
                "thermal_conductivity": 1.0}
    raw = {"name": "runaway", "units": "um",
           "geometry": {"radius": 1.0, "layers": [{"name": "rod", "material": "M", "thickness": 1.0}]},
           "mesh": {"size": 0.1, "filament_size": 0.1, "refine_distance": 0.1},
           "materials": {"M": material},
           "thermal": {"top": "insulated", "bottom": "insulated", "outer": {"temperature": 300.0}},
           "solver": {"continuation": {"max_step": 0.05, "min_step": 1e-4}},
           "sweep": {"voltage": {"values": [0.1, 0.2, 0.3, 0.4, 0.5]}}}
    cfg = write_yaml(tmp_path / "r.yaml", raw)
    result = run_cli("sweep", str(cfg), "--output", str(tmp_path / "o"), "--quiet")
    assert result.returncode == 0, result.stderr
    table = read_sweep(tmp_path / "o" / "sweep.h5")
    assert list(table["status"]) == ["ok", "ok", "ok", "runaway", "runaway"]
    assert "thermal runaway" in table["reason"][3] and "beyond the runaway point" in table["reason"][4]
    assert np.all(np.isnan(table["current"][3:]))


def test_shards_merged_equal_the_unsharded_table(tmp_path):
    cfg = write_yaml(tmp_path / "s.yaml", small_device(7, parameters={"geometry.layers[1].filament.radius": [4, 5]}))
    assert run_cli("sweep", str(cfg), "--output", str(tmp_path / "all"), "--quiet").returncode == 0
    for i in range(2):
        result = run_cli("sweep", str(cfg), "--output", str(tmp_path / "sh"), "--shard", f"{i}/2", "--quiet")
        assert result.returncode == 0, result.stderr
    merged = run_cli("merge", str(tmp_path / "sh" / "shard-0-of-2"), str(tmp_path / "sh" / "shard-1-of-2"),
                     "--output", str(tmp_path / "merged"))
    assert merged.returncode == 0, merged.stderr
    whole = read_sweep(tmp_path / "all" / "sweep.h5")
    assert len(whole) == 14
    assert_same_table(whole, read_sweep(tmp_path / "merged" / "sweep.h5"))
    assert "parameters/geometry.layers[1].filament.radius" in whole.columns


def test_slurm_script_is_ready_to_submit(tmp_path):
    cfg = write_yaml(tmp_path / "s.yaml", small_device(3))
    result = run_cli("slurm", str(cfg), "--nodes", "2", "--ntasks-per-node", "16", "--time", "02:00:00",
                     "--array", "4", "--partition", "cpu", "--output", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr
    script = (tmp_path / "o" / "sweep.sbatch").read_text()
    for line in ("#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=16", "#SBATCH --time=02:00:00",
                 "#SBATCH --partition=cpu", "#SBATCH --array=0-3", '--shard "$SLURM_ARRAY_TASK_ID/4"',
                 "--resume", "srun filatherm sweep"):
        assert line in script, line
    assert subprocess.run(["bash", "-n", str(tmp_path / "o" / "sweep.sbatch")]).returncode == 0
    bad = run_cli("slurm", str(cfg), "--nodes", "2", "--ntasks-per-node", "16", "--time", "2h")
    assert bad.returncode == 2 and "--time" in bad.stderr


def test_csv_cells_are_plain_numbers_for_numpy_and_other_float_subclasses(tmp_path):
    """Unit test: sweep.csv holds plain numbers (numpy 2 reprs np.float64 as 'np.float64(..)')."""
    from solver.sweep.store import write_csv

    class Tagged(float):
        def __repr__(self) -> str:
            return f"Tagged({float(self)})"

    columns = {"voltage_applied": np.array([np.float64(-1.5), Tagged(0.25), np.nan], dtype=object),
               "newton_iterations": np.array([3, 4, 0])}
    write_csv(tmp_path / "sweep.csv", columns, {})
    assert (tmp_path / "sweep.csv").read_text().splitlines() == [
        "voltage_applied [V],newton_iterations [1]", "-1.5,3", "0.25,4", ",0"]
