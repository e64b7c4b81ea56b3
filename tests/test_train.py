"""Hardware-aware training on crossbars (`filatherm train`), on a small budget."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DEFAULT_CONFIG, run_cli

from solver.compact.synthetic import synthetic_compact_model
from solver.config import load_config
from solver.config.schema import Crossbar, Training
from solver.crossbar.device import DeviceModel, fitted_device, linear_device
from solver.crossbar.training import AnalogLayer, load_digits_split, train_mlp


def test_digits_split_is_fixed_and_stratified():
    first, second = load_digits_split(0.25), load_digits_split(0.25)
    assert np.array_equal(first.y_test, second.y_test)
    assert len(first.y_test) == 450 and first.x_train.shape == (1347, 64)
    assert first.x_train.max() == 1.0
    assert np.bincount(first.y_test).min() >= 43  # about 45 per class


def test_fitted_device_learns_and_the_linear_device_does_not():
    config = load_config(DEFAULT_CONFIG)
    fitted = fitted_device(synthetic_compact_model(config), config.crossbar)
    linear = linear_device(fitted.write_voltage_positive, fitted.write_voltage_negative, config.crossbar)
    data = load_digits_split(0.25)
    training = Training(epochs=1, seeds=2, hidden=16)
    accuracy = {name: train_mlp(data, training, config.crossbar, device, seed=0).test_accuracy
                for name, device in (("float", None), ("fitted", fitted), ("linear", linear))}
    assert np.all(accuracy["float"][0] < 0.25)  # untrained networks guess
    assert np.all(accuracy["float"][-1] > 0.85)
    assert np.all(accuracy["fitted"][-1] > 0.6)
    assert np.all(accuracy["linear"][-1] < 0.3)


def test_train_command_writes_curves_for_every_device(fitted_results, tmp_path):
    outcome = run_cli("train", str(fitted_results / "model" / "compact_model.json"), "--output", str(tmp_path),
                      "--set", "training.epochs=1", "--set", "training.seeds=2", "--set", "training.hidden=8")
    assert outcome.returncode == 0, outcome.stderr
    data = json.loads((tmp_path / "train" / "training.json").read_text())
    assert data["format"] == "filatherm-training" and data["training"]["epochs"] == 1
    for device in ("float", "fitted", "linear"):
        run = data["devices"][device]
        assert np.array(run["test_accuracy"]).shape == (2, 2)  # epochs 0..1, 2 seeds
        assert run["final_mean"] == pytest.approx(np.mean(run["test_accuracy"][-1]))
    assert data["gap_fitted_to_float_points"] == pytest.approx(
        100 * (data["devices"]["float"]["final_mean"] - data["devices"]["fitted"]["final_mean"]))
    assert (tmp_path / "train" / "training.png").read_bytes()[:4] == b"\x89PNG"
    again = run_cli("train", str(fitted_results), "--output", str(tmp_path))
    assert again.returncode == 2 and "--force" in again.stderr


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_soft_bounds_make_every_analog_update_a_decay_towards_zero(sign):
    """The mechanism that separates the fitted device from floating point: in expectation a
    differential pair at W takes dW = D (1 - sign(D) W / weight_range), i.e. D - |D| W / range."""
    crossbar = Crossbar(noise=0.0, device_spread=0.0)
    device = DeviceModel("steep", lambda v: (np.abs(v) / 1.2) ** 40, 1.2, -1.2, crossbar.states, 0.0, 0.0)
    batch, W0, weight_range = 40_000, 0.5, 1.0
    layer = AnalogLayer(np.full((batch, 1, 1), W0), device, crossbar, weight_range, np.random.default_rng(4))
    # A small update (0.3 pulses per pair on average), so that second-order terms of several
    # pulses on one device stay below the statistical error.
    delta, inputs, learning_rate = np.full((batch, 1), -sign * 0.5), np.ones((batch, 1)), 0.02
    layer.update(delta, inputs, learning_rate)
    D = sign * 0.01  # -lr delta a
    realised = layer.matrix()[:, 0, 0] - W0
    standard_error = realised.std() / np.sqrt(batch)
    expected = D * (1 - sign * W0 / weight_range)
    assert abs(realised.mean() - expected) < 4.5 * standard_error
    assert abs(expected - D) > 10 * standard_error  # the decay is resolved, not noise
