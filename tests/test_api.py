"""The public Python API (docs/api.md): the documented example runs, and results carry units."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import DEFAULT_CONFIG, ROOT, child_env

pytest.importorskip("dolfinx")


def test_the_documented_example_runs_end_to_end(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "example_api.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=900, env=child_env(), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "+1.0 V: I = " in out and " A, T_max = " in out and " K, probe T_mean = " in out
    assert "sweep: 39 points, 39 converged; current in A" in out
    assert "distinguishable states up / down" in out
    assert "V_write = +" in out and "training, fitted:" in out
    assert (tmp_path / "coarse" / "model" / "compact_model.json").exists()
    assert (tmp_path / "coarse" / "pulses" / "pulses.json").exists()


def test_a_solve_result_is_typed_and_carries_units():
    import filatherm

    config = filatherm.load_config(DEFAULT_CONFIG, {"mesh.size": 8.0, "mesh.filament_size": 1.0,
                                                    "mesh.refine_distance": 10.0})
    result = filatherm.solve(config, voltage=0.3)
    assert isinstance(result, filatherm.SolveResult) and result.converged
    assert result["current"].unit == "A" and result["T_max"].unit == "K" and result["T_max_z"].unit == "m"
    assert result.probes["active"]["E_mean"].unit == "V/m"
    assert float(result["power"]) == pytest.approx(0.3 * float(result["current"]), rel=1e-12)
    fields = result.fields
    assert fields.axes == ("r", "z") and fields.coordinates.shape == (len(fields.T), 2)
    assert fields.T.max() == pytest.approx(float(result["T_max"]), rel=1e-12)
    assert fields.phi.max() == pytest.approx(0.3, rel=1e-9) and fields.phi.min() == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(filatherm.InputError, match="voltage-controlled"):
        filatherm.solve(config, current=1e-5)


def test_a_sweep_h5_carries_units_on_every_dataset(tmp_path):
    import h5py

    import filatherm

    config = filatherm.load_config(DEFAULT_CONFIG, {"mesh.size": 8.0, "mesh.filament_size": 1.0,
                                                    "mesh.refine_distance": 10.0,
                                                    "sweep.voltage": {"values": [-0.4, 0.4]},
                                                    "sweep.parameters": {"thermal.bottom.temperature": [300.0]}})
    table = filatherm.sweep(config, tmp_path)
    assert len(table) == 2 and table.units["current"] == "A"
    with h5py.File(tmp_path / "sweep.h5") as h5:
        datasets = []
        h5.visititems(lambda name, obj: datasets.append(obj) if isinstance(obj, h5py.Dataset) else None)
        assert datasets and all(d.attrs.get("units") and d.attrs.get("description") for d in datasets)
        assert h5["parameters/thermal.bottom.temperature"].attrs["units"] == "K"
    header = (tmp_path / "sweep.csv").read_text().splitlines()[0]
    assert "current [A]" in header and "probes/active/T_mean [K]" in header
