"""Hardware-aware training: an MLP 64-h-10 on scikit-learn's bundled digits, weights on crossbars.

Network: x (64 pixels / 16) -> tanh(W1 [x, 1]) -> softmax(W2 [h, 1]); cross-entropy loss,
SGD with batch size 1 and the step lr / epoch (the textbook 1/t schedule; for a device with
few states it is what tames the stochastic rounding of each update, and floating point gets
the same), the bias as an extra crossbar column driven at 1. Every run of a
device trains `training.seeds` networks at once (a leading batch dimension) on the same
train/test split with their own initial weights, sample order and device draws.

Analog layers. Each weight is a differential pair W = weight_range (w+ - w-) / 2 of two
devices in [-1, 1] (solver.crossbar.device); both arrays get the fully parallel stochastic
pulse update (solver.crossbar.array, with half-select disturbance) for
dW = -lr delta a^T: w+ with rows -delta, w- with rows +delta, columns a, each towards
lr / weight_range, with trains of crossbar.pulse_train_length slots (no BL management: see
solver.crossbar.pulses). Reads are exact (no read noise): what is tested is the update.

What separates the fitted device from floating point (default device, 3 seeds, 4 epochs:
float 96.1 %, fitted 91.0 %). Not the half-selects (a V_write/2 pulse moves a device
5e-12 / 2e-9 of a full one; switched off: 91.5 %), not the noise (cycle-to-cycle and
device-to-device off: 90.1 %), hardly the 32 states (256: 93.2 %), but the soft bounds:
the same device with a constant step reaches 96.4 %. A pulse moves a pair by
dW = +-q (1 -+ W / weight_range), so in expectation every update is dW = D - |D| W /
weight_range: SGD's noisy per-sample updates |D| act as a weight decay towards the
symmetry point W = 0 whose strength is the mean |update| of each weight, which shrinks the
trained weights (float SGD with this expectation alone: 93.2 %). A wider weight range weakens
it but coarsens the step q = weight_range / states (2.0: no better). Closing the gap needs an
algorithm that averages the gradient before it reaches the soft-bounded devices (Tiki-Taka /
aihwkit's TransferCompound, mixed-precision accumulation), not plain parallel SGD.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from solver.config.schema import Crossbar, Training
from solver.crossbar.array import CrossbarArray
from solver.crossbar.device import DeviceModel


@dataclass(frozen=True)
class Digits:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits_split(test_fraction: float) -> Digits:
    """scikit-learn's 8x8 digits (1797 images, no download), pixels scaled to [0, 1],
    one fixed stratified split for every run."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data / 16.0, data.target, test_size=test_fraction, random_state=0, stratify=data.target)
    return Digits(x_train, y_train, x_test, y_test)


class FloatLayer:
    """Weights (seeds, out, in + 1) in floating point."""

    def __init__(self, initial: np.ndarray):
        self.weights = initial.copy()

    def matrix(self) -> np.ndarray:
        return self.weights

    def update(self, delta: np.ndarray, inputs: np.ndarray, learning_rate: float) -> None:
        self.weights -= learning_rate * delta[:, :, None] * inputs[:, None, :]


class AnalogLayer:
    """Weights (seeds, out, in + 1) as differential pairs on crossbar arrays."""

    def __init__(self, initial: np.ndarray, device: DeviceModel, crossbar: Crossbar,
                 weight_range: float, rng: np.random.Generator):
        seeds, outputs, inputs = initial.shape
        self.range = weight_range
        self.max_pulses = crossbar.pulse_train_length
        self.pair = CrossbarArray(device, (seeds, 2, outputs, inputs), crossbar.scheme, rng)
        w = np.clip(initial / weight_range, device.w_min, device.w_max)
        self.pair.weights = np.stack([w, -w], axis=1)

    def matrix(self) -> np.ndarray:
        return self.range * (self.pair.weights[:, 0] - self.pair.weights[:, 1]) / 2.0

    def update(self, delta: np.ndarray, inputs: np.ndarray, learning_rate: float) -> None:
        rows = np.stack([-delta, delta], axis=1)
        cols = np.broadcast_to(inputs[:, None, :], (inputs.shape[0], 2, inputs.shape[1]))
        self.pair.update(rows, cols, learning_rate / self.range, self.max_pulses)


@dataclass
class TrainingCurves:
    """Per epoch (after it) and per seed."""

    test_accuracy: np.ndarray  # (epochs + 1, seeds), row 0 before training
    train_loss: np.ndarray  # (epochs, seeds), mean cross-entropy over the epoch


def train_mlp(data: Digits, training: Training, crossbar: Crossbar, device: Optional[DeviceModel],
              seed: int, progress: Callable[[int, np.ndarray], None] = lambda epoch, acc: None,
              ) -> TrainingCurves:
    """Train `training.seeds` networks; `device` None means floating point."""
    seeds = training.seeds
    rng = np.random.default_rng(seed)
    n_in, n_hidden, n_out = data.x_train.shape[1], training.hidden, 10
    shapes = ((n_hidden, n_in + 1), (n_out, n_hidden + 1))
    initial = [rng.uniform(-1, 1, (seeds,) + shape) / np.sqrt(shape[1]) for shape in shapes]
    if device is None:
        layers = [FloatLayer(w) for w in initial]
    else:
        layers = [AnalogLayer(w, device, crossbar, training.weight_range, rng) for w in initial]
    accuracy = [_accuracy(layers, data.x_test, data.y_test)]
    progress(0, accuracy[0])
    losses = []
    n_train = len(data.y_train)
    seed_index = np.arange(seeds)
    for epoch in range(1, training.epochs + 1):
        learning_rate = training.learning_rate / epoch
        order = rng.permuted(np.tile(np.arange(n_train), (seeds, 1)), axis=1)
        loss = np.zeros(seeds)
        for step in range(n_train):
            sample = order[:, step]
            a0 = _with_bias(data.x_train[sample])
            hidden = np.tanh(np.einsum("soi,si->so", layers[0].matrix(), a0))
            a1 = _with_bias(hidden)
            W2 = layers[1].matrix()
            probabilities = _softmax(np.einsum("soi,si->so", W2, a1))
            target = data.y_train[sample]
            loss -= np.log(probabilities[seed_index, target] + 1e-300)
            delta2 = probabilities
            delta2[seed_index, target] -= 1.0
            delta1 = np.einsum("soh,so->sh", W2[:, :, :-1], delta2) * (1.0 - hidden**2)
            layers[1].update(delta2, a1, learning_rate)
            layers[0].update(delta1, a0, learning_rate)
        losses.append(loss / n_train)
        accuracy.append(_accuracy(layers, data.x_test, data.y_test))
        progress(epoch, accuracy[-1])
    return TrainingCurves(np.array(accuracy), np.array(losses))


def _with_bias(values: np.ndarray) -> np.ndarray:
    return np.concatenate([values, np.ones(values.shape[:-1] + (1,))], axis=-1)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _accuracy(layers: list, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Test accuracy of each seed's network."""
    hidden = np.tanh(np.einsum("soi,ni->sno", layers[0].matrix(), _with_bias(x)))
    scores = np.einsum("soi,sni->sno", layers[1].matrix(), _with_bias(hidden))
    return (scores.argmax(axis=-1) == y[None, :]).mean(axis=-1)
