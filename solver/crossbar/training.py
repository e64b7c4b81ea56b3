"""Hardware-aware training: an MLP inputs-h-classes, weights on crossbars (the network and its loop).

Network: x (features in [-1, 1], solver.crossbar.datasets) -> tanh(W1 [x, 1]) ->
softmax(W2 [h, 1]); cross-entropy loss, batch size 1, step lr / epoch (the textbook 1/t
schedule; for a device with few states it is what tames the stochastic rounding of each
update, and floating point gets the same), the bias as an extra crossbar column driven at 1.
How each layer turns the error delta and its input a into device pulses is the training
algorithm's business (solver.crossbar.optimizers: plain SGD, Tiki-Taka, chopped Tiki-Taka,
mixed precision). Every run trains `training.seeds` networks at once (a leading batch
dimension) on the same train/test split with their own initial weights, sample order and
device draws; a design map batches `points` device variants of those seeds as well (the
same initial weights and sample orders for every point). A run can stop after any epoch and
continue from its checkpoint (solver.crossbar.checkpoint) with the same numbers.

Plain SGD. Each weight is a differential pair W = weight_range (w+ - w-) / 2 of two
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
algorithm that averages the gradient before it reaches the soft-bounded devices: that is what
the other algorithms of solver.crossbar.optimizers do (default device, 5 seeds, 4 epochs:
float 96.5 %, plain SGD 90.7 %, Tiki-Taka 96.8 %, chopped Tiki-Taka 96.2 %, mixed precision
96.0 %; `filatherm train --compare`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from solver.config.schema import Crossbar, Training
from solver.crossbar.checkpoint import Checkpoint
from solver.crossbar.datasets import Dataset
from solver.crossbar.device import DeviceModel
from solver.crossbar.optimizers import AlgorithmConfig, build_layer


@dataclass
class TrainingCurves:
    """Per epoch (after it) and per network (point-major: network p * seeds + s)."""

    test_accuracy: np.ndarray  # (epochs + 1, networks), row 0 before training
    train_loss: np.ndarray  # (epochs, networks), mean cross-entropy over the epoch


def train_mlp(data: Dataset, training: Training, crossbar: Crossbar, device: Optional[DeviceModel],
              seed: int, progress: Callable[[int, np.ndarray], None] = lambda epoch, acc: None,
              algorithm: Optional[AlgorithmConfig] = None, points: int = 1,
              checkpoint: Optional[Checkpoint] = None) -> TrainingCurves:
    """Train `points` x `training.seeds` networks with `algorithm` (default
    training.algorithm); `device` None means floating point. With a `checkpoint`, the state
    after every epoch is saved and a saved state is continued from."""
    algorithm = algorithm or training.algorithm
    seeds = training.seeds
    networks = points * seeds
    rng = np.random.default_rng(seed)
    n_in, n_hidden, n_out = data.features, training.hidden, data.classes
    shapes = ((n_hidden, n_in + 1), (n_out, n_hidden + 1))
    initial = [np.tile(rng.uniform(-1, 1, (seeds,) + shape) / np.sqrt(shape[1]), (points, 1, 1))
               for shape in shapes]
    layers = [build_layer(algorithm, w, device, crossbar, training, rng) for w in initial]
    saved = checkpoint.load() if checkpoint is not None else None
    if saved is None:
        accuracy = [_accuracy(layers, data.x_test, data.y_test)]
        losses: list[np.ndarray] = []
        progress(0, accuracy[0])
    else:
        accuracy, losses = list(saved["accuracy"]), list(saved["loss"])
        rng.bit_generator.state = json.loads(str(saved["rng"]))
        for index, layer in enumerate(layers):
            prefix = f"layer{index}."
            layer.load_state({k[len(prefix):]: v for k, v in saved.items() if k.startswith(prefix)})
    n_train = len(data.y_train)
    network_index = np.arange(networks)
    for epoch in range(len(losses) + 1, training.epochs + 1):
        order = np.tile(rng.permuted(np.tile(np.arange(n_train), (seeds, 1)), axis=1), (points, 1))
        loss = np.zeros(networks)
        for step in range(n_train):
            sample = order[:, step]
            a0 = _with_bias(data.x_train[sample])
            hidden = np.tanh(np.einsum("soi,si->so", layers[0].matrix(), a0))
            a1 = _with_bias(hidden)
            W2 = layers[1].matrix()
            probabilities = _softmax(np.einsum("soi,si->so", W2, a1))
            target = data.y_train[sample]
            loss -= np.log(probabilities[network_index, target] + 1e-300)
            delta2 = probabilities
            delta2[network_index, target] -= 1.0
            delta1 = np.einsum("soh,so->sh", W2[:, :, :-1], delta2) * (1.0 - hidden**2)
            layers[1].step(delta2, a1, epoch)
            layers[0].step(delta1, a0, epoch)
        losses.append(loss / n_train)
        accuracy.append(_accuracy(layers, data.x_test, data.y_test))
        if checkpoint is not None:
            checkpoint.save({"accuracy": np.array(accuracy), "loss": np.array(losses),
                             "rng": np.array(json.dumps(rng.bit_generator.state)),
                             **{f"layer{index}.{key}": value for index, layer in enumerate(layers)
                                for key, value in layer.state().items()}})
        progress(epoch, accuracy[-1])
    return TrainingCurves(np.array(accuracy), np.array(losses))


def _with_bias(values: np.ndarray) -> np.ndarray:
    return np.concatenate([values, np.ones(values.shape[:-1] + (1,))], axis=-1)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _accuracy(layers: list, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Test accuracy of each network."""
    hidden = np.tanh(np.einsum("soi,ni->sno", layers[0].matrix(), _with_bias(x)))
    scores = np.einsum("soi,sni->sno", layers[1].matrix(), _with_bias(hidden))
    return (scores.argmax(axis=-1) == y[None, :]).mean(axis=-1)
