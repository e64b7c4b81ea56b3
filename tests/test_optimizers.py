"""Training algorithms on the crossbar (solver.crossbar.optimizers): their pure pieces, the
pulses they send through the array, and that each one learns."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import STATIC_CONFIG

from solver.compact.synthetic import synthetic_compact_model
from solver.config import load_config
from solver.config.schema import Crossbar, Training
from solver.crossbar.array import CrossbarArray
from solver.crossbar.datasets import load_digits_split
from solver.crossbar.device import DeviceModel, fitted_device, half_select_device
from solver.crossbar.optimizers import (ChoppedTikiTaka, Chopper, MixedPrecision, PlainSGD, TransferSchedule,
                                        build_layer, threshold_pulses)
from solver.crossbar.training import train_mlp

QUIET = Crossbar(noise=0.0, device_spread=0.0)


def steep_device(crossbar: Crossbar = QUIET, exponent: float = 40.0) -> DeviceModel:
    """dw proportional to |v / V_write|^exponent: no response to half-selects for 40."""
    return DeviceModel("steep", lambda v: (np.abs(v) / 1.2) ** exponent, 1.2, -1.2, crossbar.states,
                       crossbar.noise, crossbar.device_spread)


def after_pulses(w0: float, pulses: int, device: DeviceModel) -> float:
    """Closed form of n full pulses under soft bounds (solver.crossbar.device)."""
    kappa = 2 * device.dw_min / device.span
    if pulses >= 0:
        return device.w_max - (device.w_max - w0) * (1 - kappa) ** pulses
    return device.w_min + (w0 - device.w_min) * (1 - kappa) ** -pulses


def test_threshold_pulses_truncate_round_and_clip():
    """Identity with a hand-computed table: sign(H) floor(|H| + 1 - threshold), clipped."""
    buffer = np.array([-3.2, -1.0, -0.6, 0.0, 0.49, 0.5, 1.7, 3.9])
    assert threshold_pulses(buffer, 1.0, 2).tolist() == [-2, -1, 0, 0, 0, 0, 1, 2]
    assert threshold_pulses(buffer, 0.5, 2).tolist() == [-2, -1, -1, 0, 0, 1, 2, 2]
    assert threshold_pulses(buffer, 1.0, 10).tolist() == [-3, -1, 0, 0, 0, 0, 1, 3]


def test_transfer_schedule_reads_one_column_every_n_samples_cyclically():
    schedule = TransferSchedule(every=3, columns=4)
    due = [schedule.advance() for _ in range(15)]
    assert due == [None, None, 0, None, None, 1, None, None, 2, None, None, 3, None, None, 0]


def test_regular_chopper_flips_a_column_at_every_nth_read_of_it():
    chopper = Chopper(networks=2, columns=3, probability=0.25, random=False, rng=np.random.default_rng(0))
    history = []
    for _ in range(8):
        chopper.after_read(1)
        history.append(chopper.signs[:, 1].tolist())
    assert history == [[1, 1]] * 3 + [[-1, -1]] * 4 + [[1, 1]]
    assert np.all(chopper.signs[:, [0, 2]] == 1)  # columns not read keep their sign
    never = Chopper(2, 3, 0.0, True, np.random.default_rng(0))
    for _ in range(50):
        never.after_read(0)
    assert np.all(never.signs == 1)


def test_random_chopper_flips_with_the_given_probability():
    """Verification against the binomial distribution: flips per read ~ B(n, p)."""
    chopper = Chopper(networks=4000, columns=2, probability=0.1, random=True, rng=np.random.default_rng(3))
    before = chopper.signs.copy()
    chopper.after_read(0)
    flipped = (chopper.signs != before)[:, 0]
    assert abs(flipped.mean() - 0.1) < 4.5 * math.sqrt(0.1 * 0.9 / 4000)
    assert np.all(chopper.signs[:, 1] == 1)


def test_mixed_precision_writes_whole_pulses_once_the_accumulator_crosses_the_threshold():
    """Verification against the closed form of soft-bound pulses: a constant gradient of a
    quarter pulse per sample gives chi = n / 4; whole pulses are written when they are due
    (n = 4, 8: one each; the rest stays in chi), on a device without half-select response."""
    training = Training(learning_rate=0.05)
    device = steep_device()
    layer = MixedPrecision(np.zeros((1, 1, 1)), device, QUIET, training, np.random.default_rng(0),
                           Training(algorithm="mixed_precision").algorithm)
    quarter = 0.25 * layer.pulse_step / training.learning_rate  # -lr delta a = quarter pulse
    written = []
    for _ in range(10):
        layer.step(np.array([[-quarter]]), np.array([[1.0]]), epoch=1)
        written.append(layer.slow.weights[0, 0, 0, 0])
    assert layer.accumulated[0, 0, 0] == pytest.approx(0.5)
    assert written[2] == 0.0 and written[3] == pytest.approx(after_pulses(0.0, 1, device), rel=1e-12)
    assert written[7] == pytest.approx(after_pulses(0.0, 2, device), rel=1e-12)
    assert written[9] == written[7]
    assert layer.slow.weights[0, 1, 0, 0] == pytest.approx(after_pulses(0.0, -2, device), rel=1e-12)


def test_column_write_pulses_one_column_and_half_selects_its_rows_and_column():
    """Verification against closed forms of soft-bound pulses: counts (2, -1, 0) into column 1
    from w = 0, on a device with half-select ratio k. Positive phase: the column is driven 2
    slots, row 0 fires in both; negative phase: 1 slot, row 1 fires. Devices of a firing row
    are half-selected once per slot it fires, devices of the column once per slot their row
    does not; in v_third the idle devices see -P V/3 in every slot."""
    k = 0.1
    device = half_select_device(steep_device(), k, k)
    kf, kh = 2 * device.dw_min / device.span, 2 * k * device.dw_min / device.span
    kt = 2 * k ** math.log2(3) * device.dw_min / device.span
    up = lambda w, kappa, n: 1 - (1 - w) * (1 - kappa) ** n  # noqa: E731
    down = lambda w, kappa, n: -1 + (w + 1) * (1 - kappa) ** n  # noqa: E731
    array = CrossbarArray(device, (3, 4), "v_half", np.random.default_rng(0))
    array.program_column(1, np.array([2.0, -1.0, 0.0]))
    w = array.weights
    assert w[0, 1] == pytest.approx(down(up(0, kf, 2), kh, 1), rel=1e-12)
    assert w[1, 1] == pytest.approx(down(up(0, kh, 2), kf, 1), rel=1e-12)
    assert w[2, 1] == pytest.approx(down(up(0, kh, 2), kh, 1), rel=1e-12)
    assert w[0, [0, 2, 3]] == pytest.approx([up(0, kh, 2)] * 3, rel=1e-12)
    assert w[1, [0, 2, 3]] == pytest.approx([down(0, kh, 1)] * 3, rel=1e-12)
    assert np.all(w[2, [0, 2, 3]] == 0.0)  # 0 V in v_half
    third = CrossbarArray(device, (3, 4), "v_third", np.random.default_rng(0))
    third.program_column(1, np.array([2.0, -1.0, 0.0]))
    assert third.weights[2, 0] == pytest.approx(up(down(0, kt, 2), kt, 1), rel=1e-12)
    assert third.weights[1, 0] == pytest.approx(down(0, kt, 3), rel=1e-12)  # V/3 both: unselected, then half


def test_chopped_tiki_taka_buffers_reads_and_writes_thresholded_pulses():
    """Identity of one transfer: after a read of column 0 with a chopper sign c, the buffer
    holds transfer_learning_rate c W_A / pulse_step minus what was written."""
    training = Training()
    algorithm = Training(algorithm={"name": "chopped_tiki_taka", "transfer_learning_rate": 2.5,
                                    "chopper_probability": 0.0}).algorithm
    layer = ChoppedTikiTaka(np.zeros((1, 2, 3)), steep_device(), QUIET, training, np.random.default_rng(0), algorithm)
    layer.fast.weights[0, 0, :, 0] = [0.2, -0.05]
    layer.chopper.signs[0, 0] = -1
    assert layer.schedule.samples == 0  # the first sample's transfer reads column 0
    layer.step(np.zeros((1, 2)), np.zeros((1, 3)), epoch=1)
    read = -1 * training.weight_range * np.array([0.2, -0.05])
    expected = 2.5 * read / layer.pulse_step  # [-8, 2]: one pulse each (max_pulses 1), forgotten
    assert expected.tolist() == pytest.approx([-8.0, 2.0])
    assert layer.buffer[0, :, 0].tolist() == [0.0, 0.0]
    assert layer.slow.weights[0, 0, :, 0] == pytest.approx([after_pulses(0, -1, layer.slow.device),
                                                            after_pulses(0, 1, layer.slow.device)], rel=1e-12)
    assert np.abs(layer.slow.weights[0, 0, :, 1:]).max() < 1e-12  # half-selected at 2^-40 of a pulse


@pytest.fixture(scope="module")
def default_like_device() -> DeviceModel:
    config = load_config(STATIC_CONFIG)
    return fitted_device(synthetic_compact_model(config), config.crossbar)


@pytest.mark.parametrize("algorithm, floor", [("sgd", 0.6), ("tiki_taka", 0.6), ("chopped_tiki_taka", 0.6),
                                              ("mixed_precision", 0.75)])
def test_each_algorithm_learns_digits_on_the_default_like_device(algorithm, floor, default_like_device):
    """One epoch, two 64-16-10 networks: from guessing (< 25 %) to well above it."""
    crossbar = load_config(STATIC_CONFIG).crossbar
    training = Training(epochs=1, seeds=2, hidden=16, algorithm=algorithm)
    result = train_mlp(load_digits_split(0.25), training, crossbar, default_like_device, seed=1)
    assert np.all(result.test_accuracy[0] < 0.25)
    assert np.all(result.test_accuracy[-1] > floor), result.test_accuracy[-1]


def test_plain_sgd_is_the_default_and_float_has_no_device():
    rng = np.random.default_rng(0)
    assert isinstance(build_layer(None, np.zeros((1, 2, 3)), steep_device(), QUIET, Training(), rng), PlainSGD)
    assert Training().algorithm.name == "sgd"
    assert not hasattr(build_layer(None, np.zeros((1, 2, 3)), None, QUIET, Training(), rng), "slow")


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_soft_bounds_make_every_analog_update_a_decay_towards_zero(sign):
    """The mechanism that separates plain SGD on the fitted device from floating point: in
    expectation a differential pair at W takes dW = D (1 - sign(D) W / weight_range), i.e.
    D - |D| W / range (verification against that expectation, within 4.5 standard errors)."""
    crossbar = Crossbar(noise=0.0, device_spread=0.0)
    device = DeviceModel("steep", lambda v: (np.abs(v) / 1.2) ** 40, 1.2, -1.2, crossbar.states, 0.0, 0.0)
    batch, W0, weight_range = 40_000, 0.5, 1.0
    training = Training(weight_range=weight_range, learning_rate=0.02)
    layer = PlainSGD(np.full((batch, 1, 1), W0), device, crossbar, training, np.random.default_rng(4))
    # A small update (0.3 pulses per pair on average), so that second-order terms of several
    # pulses on one device stay below the statistical error.
    delta, inputs = np.full((batch, 1), -sign * 0.5), np.ones((batch, 1))
    layer.step(delta, inputs, epoch=1)
    D = sign * 0.01  # -lr delta a
    realised = layer.matrix()[:, 0, 0] - W0
    standard_error = realised.std() / np.sqrt(batch)
    expected = D * (1 - sign * W0 / weight_range)
    assert abs(realised.mean() - expected) < 4.5 * standard_error
    assert abs(expected - D) > 10 * standard_error  # the decay is resolved, not noise
