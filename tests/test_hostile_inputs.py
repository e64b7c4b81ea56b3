"""Hostile inputs (issue 24, 16): every one ends within a bounded time with exit 0 and an honest
status, or exit 2 and one line naming the problem; nothing is written outside --output.

Each test is a behaviour check of the input handling (not a physics verification); where a
number is involved the expected value is stated independently (e.g. YAML 1.2 reads `060` as 60).
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import DEFAULT_CONFIG, run_cli, write_yaml
from fem_helpers import small_device
from solver.config import load_config, validate_config
from solver.errors import ConfigError, InputError

COARSE = ["--set", "mesh.size=6", "--set", "mesh.filament_size=0.5", "--set", "mesh.refine_distance=8"]


def one_line_error(result, code: int = 2) -> str:
    assert result.returncode == code, (result.returncode, result.stderr[-2000:])
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert "internal error" not in result.stderr, result.stderr
    return result.stderr


# --------------------------------------------------------------- config files


def test_a_config_that_is_a_device_or_a_fifo_is_refused_at_once(tmp_path):
    """/dev/zero never ends and a FIFO blocks until written: both are refused before reading."""
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo)):
        result = run_cli("config", path, timeout=30)
        assert "not a regular file" in one_line_error(result), path


def test_a_config_larger_than_the_cap_is_refused(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 1_100_000 + "\nname: big\n")
    assert "larger than" in one_line_error(run_cli("config", str(big)))


@pytest.mark.parametrize("text, expected", [
    ("060", 60.0),       # YAML 1.1: octal 48
    ("0o17", 15.0),      # YAML 1.2 octal
    ("1.5e1", 15.0),
])
def test_numbers_follow_the_yaml_1_2_core_schema(text, expected):
    config = load_config(DEFAULT_CONFIG, [f"geometry.radius={text}"])
    assert config.geometry.radius == expected


@pytest.mark.parametrize("assignment, words", [
    ("geometry.radius=1:00", "geometry.radius"),               # YAML 1.1: sexagesimal 60
    ("analysis.time.adaptive=yes", "analysis.time.adaptive"),  # YAML 1.1: true
])
def test_yaml_1_1_forms_are_not_read_silently(assignment, words):
    with pytest.raises(ConfigError, match=words.replace(".", r"\.")):
        load_config(DEFAULT_CONFIG, [assignment])


def test_a_terminal_given_both_voltage_and_current_names_what_was_typed():
    result = run_cli("config", str(DEFAULT_CONFIG), "--set", "electrical.top.current=1e-4")
    error = one_line_error(result)
    assert "electrical.top:" in error and "both a voltage and a current" in error
    assert "electrical.top.voltage: unknown key" not in error


def test_a_metallic_law_negative_in_the_reachable_range_is_refused(default_raw):
    """1e4 / (1 + 0.01 (T - 1000)) is negative below 900 K, i.e. at the 300 K boundaries (on the
    default cell's filament: only the materials a cell uses are checked)."""
    default_raw["materials"] = {"filament": {"electrical_conductivity": {
        "law": "metallic", "value": 1e4, "alpha": 0.01, "T_ref": 1000}}}
    with pytest.raises(ConfigError, match=r"materials\.filament\.electrical_conductivity: must be positive from 150"):
        validate_config(default_raw)
    default_raw["materials"]["filament"]["electrical_conductivity"]["alpha"] = 1e-3  # 1 + 1e-3 (150 - 1000) > 0
    validate_config(default_raw)


def test_continuation_steps_must_be_ordered(default_raw):
    default_raw["solver"]["continuation"] = {"max_step": 1e-5, "min_step": 1e-4}
    with pytest.raises(ConfigError, match="max_step"):
        validate_config(default_raw)
    default_raw["solver"]["continuation"] = {"max_step": 1e-5}  # below the 1e-4 V default min_step
    with pytest.raises(ConfigError, match="max_step"):
        validate_config(default_raw)


# --------------------------------------------------------------- arguments


def test_negative_numbers_are_values_of_options(tmp_path):
    result = run_cli("solve", str(DEFAULT_CONFIG), "--voltage", "-1e-3", "--output", str(tmp_path), *COARSE,
                     "--quiet")
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "solve" / "qoi.json").read_text())
    assert record["voltage_applied"] == -1e-3 and record["status"] == "ok"


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_drives_are_refused(tmp_path, value):
    result = run_cli("solve", str(DEFAULT_CONFIG), "--voltage", value, "--output", str(tmp_path), timeout=60)
    assert "not a finite number" in one_line_error(result)
    assert not (tmp_path / "solve").exists()


@pytest.mark.parametrize("spec", ["0/2/3", "a/b", "2/2", "-1/2"])
def test_a_malformed_shard_is_bad_input(tmp_path, spec):
    cfg = write_yaml(tmp_path / "s.yaml", small_device(3))
    result = run_cli("sweep", str(cfg), f"--shard={spec}", "--output", str(tmp_path / "o"), timeout=60)
    assert "--shard" in one_line_error(result)


def test_merge_and_report_offer_no_set():
    for verb in ("merge", "report"):
        result = run_cli(verb, "somewhere", "--set", "mesh.size=3")
        assert "unrecognized arguments: --set" in one_line_error(result), verb


# --------------------------------------------------------------- bounded time for any drive


def test_a_drive_far_beyond_the_physical_range_ends_as_unphysical(tmp_path):
    """50 V on the cell: T_max passes 1e4 K (solver.continuation.max_temperature) on the way;
    the solve stops there with status `unphysical` instead of reporting 2e5 K as ok."""
    result = run_cli("solve", str(DEFAULT_CONFIG), "--voltage", "50", "--output", str(tmp_path), *COARSE,
                     timeout=120)
    record = json.loads((tmp_path / "solve" / "qoi.json").read_text())
    assert record["status"] == "unphysical" and "max_temperature" in record["reason"], record["reason"]
    assert 0 < record["last_converged_drive"] < 50
    assert "status unphysical" in result.stdout


def test_a_sweep_to_1e300_volts_ends(tmp_path):
    data = small_device()
    data["sweep"] = {"voltage": {"values": [0.5, 1e300]}}
    cfg = write_yaml(tmp_path / "s.yaml", data)
    result = run_cli("sweep", str(cfg), "--output", str(tmp_path / "o"), "--quiet", timeout=300)
    assert result.returncode == 0, result.stderr
    from solver.sweep.store import read_sweep

    table = read_sweep(tmp_path / "o" / "sweep.h5")
    assert list(table["status"]) == ["ok", "unphysical"]


def test_a_step_budget_ends_a_point(tmp_path, default_raw):
    default_raw["solver"]["continuation"] = {"max_solves": 3}
    cfg = write_yaml(tmp_path / "b.yaml", default_raw)
    run_cli("solve", str(cfg), "--voltage", "1.5", "--output", str(tmp_path), *COARSE, timeout=120)
    record = json.loads((tmp_path / "solve" / "qoi.json").read_text())
    assert record["status"] == "no_convergence" and "max_solves" in record["reason"]


def test_a_current_terminal_solves_with_the_default_steps(tmp_path):
    """Steps scale with the set current (a 0.25 A step would jump past the cell's current):
    the solve converges and delivers the set current to 1e-8 (the terminal equation)."""
    result = run_cli("solve", str(DEFAULT_CONFIG), "--set", "electrical.top={current: 1e-4}", "--output",
                     str(tmp_path), *COARSE, "--quiet", timeout=120)
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "solve" / "qoi.json").read_text())
    assert record["status"] == "ok"
    assert record["current"] == pytest.approx(1e-4, rel=1e-8)


# --------------------------------------------------------------- PETSc options


@pytest.mark.parametrize("option, words", [
    ("snes_view=ascii:{tmp}/escaped.txt", "names a file"),
    ("snes_monitor=binary", "terminal"),
    ("options_file=x", "only solver options"),
])
def test_petsc_options_that_would_write_or_read_files_are_refused(tmp_path, option, words):
    result = run_cli("config", str(DEFAULT_CONFIG), "--set", "solver.petsc." + option.format(tmp=tmp_path))
    assert words in one_line_error(result)
    assert not (tmp_path / "escaped.txt").exists()


@pytest.mark.parametrize("option, words", [
    ("pc_type=banana", "PC type banana"),
    ("pc_factor_mat_solver_type=nope", "solver type nope"),
    ("snes_linesearch_typo=bt", "solver.petsc.snes_linesearch_typo"),
])
def test_petsc_options_petsc_rejects_are_bad_input(tmp_path, option, words):
    result = run_cli("solve", str(DEFAULT_CONFIG), "--voltage", "0.1", "--set", "solver.petsc." + option,
                     "--output", str(tmp_path), *COARSE, timeout=120)
    assert words in one_line_error(result)


def test_a_petsc_flag_is_passed_as_a_flag(tmp_path):
    result = run_cli("solve", str(DEFAULT_CONFIG), "--voltage", "0.1", "--set", "solver.petsc.snes_monitor=true",
                     "--output", str(tmp_path), *COARSE, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "SNES Function norm" in result.stdout


# --------------------------------------------------------------- files from elsewhere


def test_fit_with_an_overflowing_kinetics_is_bad_input(fitted_results, tmp_path):
    result = run_cli("fit", str(fitted_results), "--output", str(tmp_path), "--set",
                     "kinetics.hop_distance=1e300")
    assert "non-finite switching rate" in one_line_error(result)


def test_broken_json_results_are_named(fitted_results, tmp_path):
    import shutil

    results = tmp_path / "r"
    shutil.copytree(fitted_results, results)
    (results / "crossbar").mkdir()
    (results / "crossbar" / "summary.json").write_text('{"format": "filatherm-crossbar-summary", ')
    (results / "crossbar" / "disturbance.json").write_text("[1, 2")
    result = run_cli("report", str(results), timeout=300)
    assert "disturbance.json: not valid JSON" in one_line_error(result)


def test_io_read_json_names_the_file(tmp_path):
    from solver.io import read_json

    broken = tmp_path / "training.json"
    broken.write_text('{"devices": {')
    with pytest.raises(InputError, match="training.json: not valid JSON"):
        read_json(broken)


# --------------------------------------------------------------- SLURM scripts


def test_a_newline_in_a_slurm_path_cannot_inject_a_command(tmp_path):
    cfg = write_yaml(tmp_path / "s.yaml", small_device(3))
    evil = str(tmp_path / "out\ntouch /tmp/filatherm-injected")
    result = run_cli("slurm", str(cfg), "--nodes", "1", "--ntasks-per-node", "2", "--time", "00:10:00",
                     "--output", evil)
    assert "control character" in one_line_error(result)
    spaced = tmp_path / "my results"
    result = run_cli("slurm", str(cfg), "--nodes", "1", "--ntasks-per-node", "2", "--time", "00:10:00",
                     "--output", str(spaced))
    assert result.returncode == 0, result.stderr
    script = (spaced / "sweep.sbatch").read_text()
    assert f'#SBATCH --output="{spaced}/slurm-%j.out"' in script
    assert subprocess.run(["bash", "-n", str(spaced / "sweep.sbatch")]).returncode == 0
