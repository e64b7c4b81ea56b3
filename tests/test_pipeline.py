"""The main job end to end on a coarse device (issue 9): every stage, the report, reuse."""

from __future__ import annotations

import json

import pytest

from conftest import DEFAULT_CONFIG, run_cli
from solver.config.yamlio import read_yaml_file

pytest.importorskip("dolfinx")

COARSE = ["--set", "mesh.size=6", "--set", "mesh.filament_size=0.5", "--set", "mesh.refine_distance=8",
          "--set", "sweep.voltage={start: -1.5, stop: 1.5, num: 21}",
          "--set", "sweep.parameters={state.value: [7.0e24, 1.64e25, 3.77e25]}",
          "--set", "pulses.max_pulses=100",
          "--set", "analysis.pulse={amplitude: 1.0, width: 20e-9, rise: 2e-9, fall: 2e-9, after: 5e-9}",
          "--set", "crossbar.rows=16", "--set", "crossbar.cols=16", "--set", "crossbar.disturb_pulses=1000",
          "--set", "training.epochs=1", "--set", "training.seeds=1"]


def test_pipeline_runs_every_stage_then_reuses_them(tmp_path):
    out = tmp_path / "run"
    first = run_cli("run", str(DEFAULT_CONFIG), "--output", str(out), *COARSE, timeout=900)
    assert first.returncode == 0, first.stderr[-2000:]
    report = out / "report"
    for name in ("summary.md", "mesh.png", "temperature_field.png", "iv_tv.png", "rate.png", "pulse.png",
                 "pulses.png", "disturbance.png", "training.png"):
        assert (report / name).stat().st_size > 0, name
    summary = (report / "summary.md").read_text()
    assert "V_write" in summary and "Not yet available" not in summary
    model = json.loads((out / "model" / "compact_model.json").read_text())
    v_write = model["figures_of_merit"]["V_write"]["positive"]
    pulse = json.loads((out / "pulse" / "qoi.json").read_text())
    assert pulse["status"] == "ok" and pulse["pulse_amplitude"] == pytest.approx(v_write)
    assert pulse["peak_T_max"] > 500  # the write pulse heats the filament (the pulse's headline)
    assert (out / "meshes" / "default.xdmf").exists()
    # the device state: a dynamic model (three states), its thermal node and pulse response
    assert model["version"] == 2 and [s["state"] for s in model["states"]] == [7.0e24, 1.64e25, 3.77e25]
    assert 1e-12 < model["thermal"]["time_constant"] < 1e-9
    pulses = json.loads((out / "pulses" / "pulses.json").read_text())
    assert pulses["states_up"] > 5 and pulses["states_down"] > 5
    assert all(entry["k_half_positive"] is None or abs(entry["k_half_positive"]) < 0.005
               for entry in pulses["half_select"])
    crossbar = json.loads((out / "crossbar" / "summary.json").read_text())
    assert crossbar["derived_device"]["assumed"]["noise (cycle-to-cycle sigma, relative)"] == 0.1

    again = run_cli("run", str(DEFAULT_CONFIG), "--output", str(out), *COARSE, timeout=300)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("up to date, reused") == 10

    changed = run_cli("run", str(DEFAULT_CONFIG), "--output", str(out), *COARSE, "--set", "training.epochs=2",
                      timeout=300)
    assert changed.returncode == 0, changed.stderr
    log = json.loads((out / "pipeline.json").read_text())["stages"]
    assert [s for s, info in log.items() if info["note"] != "reused (up to date)"] == ["train", "report"]


def test_pipeline_needs_kinetics(tmp_path, default_raw):
    from conftest import write_yaml

    default_raw.pop("kinetics")
    cfg = write_yaml(tmp_path / "k.yaml", default_raw)
    result = run_cli("run", str(cfg), "--output", str(tmp_path / "o"))
    assert result.returncode == 2 and "kinetics" in result.stderr


def test_default_config_is_the_binding_example():
    """configs/default.yaml keeps the structure the README and docs/config.md document."""
    raw = read_yaml_file(DEFAULT_CONFIG)
    for key in ("name", "units", "geometry", "mesh", "electrical", "thermal", "analysis", "probes", "sweep",
                "kinetics", "crossbar", "solver"):
        assert key in raw, key
