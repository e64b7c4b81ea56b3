"""Training algorithms on crossbars: one class per algorithm, each holding one layer's arrays.

Every analog algorithm moves its devices only through solver.crossbar.array.CrossbarArray
(stochastic pulse trains or deterministic pulse counts, half-select response of the device,
cycle-to-cycle noise, device-to-device spread), so the disturbance is the same for gradient
updates, transfers and writes alike. Reads are exact (no read noise, no ADC): what is compared
is how each algorithm gets the gradient into soft-bounded, disturbable devices.

Weights. A layer's weights W have shape (networks, outputs, inputs) (inputs include the bias
column). C, the array the network reads, is a differential pair W_C = weight_range (w+ - w-) / 2
of devices in [-1, 1] (arrays of shape (networks, 2, outputs, inputs)); one coincident pulse
on both devices of a pair moves W_C by `pulse_step` = weight_range dw_min at mid-range. A (the
fast array of Tiki-Taka) is one device per weight (shape (networks, 1, outputs, inputs)),
W_A = weight_range w_A, starting at its symmetry point w_A = 0, where soft bounds pull it back.

Algorithms (`training.algorithm.name`), for a sample with output error delta and layer input a,
in epoch e (lr = training.learning_rate):

- `sgd` (PlainSGD): one parallel update of C towards -lr/e delta a^T (the behaviour before
  the other algorithms existed; the same numbers for the same seed).
- `tiki_taka` (TikiTaka; Gokmen & Haensch, Front. Neurosci. 14:103, 2020): A gets the update
  -fast_learning_rate delta a^T; every `transfer_every` samples one column j of A (cyclic) is
  read, v = W_A[:, j], and C gets the parallel update transfer_learning_rate / e v e_j^T (the
  column line fires, the rows fire with |v_i|: a pulsed update like any other, half-selects
  included). The network reads W = gamma W_A + W_C. A is never reset: its soft bounds make it a
  leaky integrator of the gradient.
- `chopped_tiki_taka` (ChoppedTikiTaka; TTv2 of Gokmen, Front. AI 4:699148, 2021, with the
  chopper of Rasch et al., Nat. Commun. 15:7133, 2024): column j of A gets its updates with the
  sign c_j of its chopper; at its read, H[:, j] += transfer_learning_rate / e c_j W_A[:, j] /
  pulse_step (a digital buffer, in pulses); where |H| crosses `threshold`, whole pulses are
  written into column j of C (CrossbarArray.program_column: the column is driven, each row
  fires its count, half-selecting its other devices), and H forgets them; then c_j flips with
  probability `chopper_probability`.
  A device's drift that does not follow the gradient (soft-bound pull, asymmetric
  half-selects) does not follow the chopper either, so it cancels in c_j W_A. The network
  reads W = W_C.
- `mixed_precision` (MixedPrecision; Nandakumar et al., Front. Neurosci. 14:406, 2020): the
  gradient -lr/e delta a^T / pulse_step is accumulated digitally in chi (in pulses); every
  `transfer_every` samples the whole pulses of chi are written row by row
  (CrossbarArray.program_rows) and taken off chi. W = W_C.

Pure pieces (unit-tested on their own): TransferSchedule (which column a transfer reads),
Chopper (when signs flip), threshold_pulses (how many pulses a buffer gives).
"""

from __future__ import annotations

from typing import Optional, Union

import numpy as np

from solver.config.schema import ChoppedTikiTaka as ChoppedTikiTakaConfig
from solver.config.schema import Crossbar, PlainSGD as PlainSGDConfig, Training
from solver.config.schema import MixedPrecision as MixedPrecisionConfig
from solver.config.schema import TikiTaka as TikiTakaConfig
from solver.crossbar.array import CrossbarArray
from solver.crossbar.device import DeviceModel

AlgorithmConfig = Union[PlainSGDConfig, TikiTakaConfig, ChoppedTikiTakaConfig, MixedPrecisionConfig]


# -- pure pieces ------------------------------------------------------------------------------


def threshold_pulses(buffer: np.ndarray, threshold: float, max_pulses: int) -> np.ndarray:
    """Signed whole pulses a buffer (in pulses) asks for: sign(H) floor(|H| + 1 - threshold),
    at most `max_pulses`. threshold 1 truncates (a pulse once |H| >= 1), 0.5 rounds."""
    count = np.clip(np.floor(np.abs(buffer) + 1.0 - threshold), 0, max_pulses)
    return np.sign(buffer) * count


class TransferSchedule:
    """Every `every` samples one column is read, cyclically 0, 1, ..., columns - 1, 0, ..."""

    def __init__(self, every: int, columns: int):
        self.every, self.columns = every, columns
        self.samples = 0

    def advance(self) -> Optional[int]:
        """Count one sample; the column to read after it, or None."""
        self.samples += 1
        if self.samples % self.every:
            return None
        return (self.samples // self.every - 1) % self.columns


class Chopper:
    """Signs c (networks, columns), all +1 at the start. After a column's read its sign flips:
    in each network independently with `probability` (random), or in all networks at every
    round(1 / probability)-th read of that column (regular). probability 0: never."""

    def __init__(self, networks: int, columns: int, probability: float, random: bool,
                 rng: np.random.Generator):
        self.signs = np.ones((networks, columns))
        self.reads = np.zeros(columns, dtype=np.int64)
        self.probability, self.random, self.rng = probability, random, rng

    def after_read(self, column: int) -> None:
        self.reads[column] += 1
        if self.probability == 0:
            return
        if self.random:
            flip = self.rng.random(self.signs.shape[0]) < self.probability
            self.signs[flip, column] *= -1
        elif self.reads[column] % max(1, round(1 / self.probability)) == 0:
            self.signs[:, column] *= -1


# -- layers -----------------------------------------------------------------------------------


class FloatingPoint:
    """The floating-point reference: W -= lr/e delta a^T exactly."""

    def __init__(self, initial: np.ndarray, training: Training):
        self.weights = initial.copy()
        self.learning_rate = training.learning_rate

    def matrix(self) -> np.ndarray:
        return self.weights

    def step(self, delta: np.ndarray, inputs: np.ndarray, epoch: int) -> None:
        self.weights -= (self.learning_rate / epoch) * delta[:, :, None] * inputs[:, None, :]

    def state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.weights = np.array(state["weights"], dtype=float)


class _Analog:
    """What every analog algorithm shares: the pair array C the network reads."""

    def __init__(self, initial: np.ndarray, device: DeviceModel, crossbar: Crossbar, training: Training,
                 rng: np.random.Generator):
        networks, outputs, inputs = initial.shape
        self.range = training.weight_range
        self.learning_rate = training.learning_rate
        self.max_pulses = crossbar.pulse_train_length
        self.pulse_step = self.range * device.dw_min
        self.slow = CrossbarArray(device, (networks, 2, outputs, inputs), crossbar.scheme, rng)
        w = np.clip(initial / self.range, device.w_min, device.w_max)
        self.slow.weights = np.stack([w, -w], axis=1)

    def _slow_matrix(self) -> np.ndarray:
        return self.range * (self.slow.weights[:, 0] - self.slow.weights[:, 1]) / 2.0

    def _arrays(self) -> dict[str, CrossbarArray]:
        return {"slow": self.slow}

    def _extra_state(self) -> dict[str, np.ndarray]:
        return {}

    def state(self) -> dict[str, np.ndarray]:
        out = {f"{name}.{key}": value for name, array in self._arrays().items()
               for key, value in array.state().items()}
        return out | self._extra_state()

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        for name, array in self._arrays().items():
            array.load_state({key: state[f"{name}.{key}"] for key in ("weights", "prefactor")})


class PlainSGD(_Analog):
    """Plain parallel SGD: C gets -lr/e delta a^T as one stochastic pulse update of both pair
    devices (w+ with rows -delta, w- with rows +delta, columns a)."""

    def matrix(self) -> np.ndarray:
        return self._slow_matrix()

    def step(self, delta: np.ndarray, inputs: np.ndarray, epoch: int) -> None:
        rows = np.stack([-delta, delta], axis=1)
        cols = np.broadcast_to(inputs[:, None, :], (inputs.shape[0], 2, inputs.shape[1]))
        self.slow.update(rows, cols, (self.learning_rate / epoch) / self.range, self.max_pulses)


class _Transfer(_Analog):
    """Tiki-Taka's fast array A (one device per weight, at its symmetry point 0) and the
    column-by-column transfer schedule."""

    def __init__(self, initial, device, crossbar, training, rng, algorithm):
        super().__init__(initial, device, crossbar, training, rng)
        networks, outputs, inputs = initial.shape
        self.algorithm = algorithm
        self.fast = CrossbarArray(device, (networks, 1, outputs, inputs), crossbar.scheme, rng)
        self.schedule = TransferSchedule(algorithm.transfer_every, inputs)

    def _fast_matrix(self) -> np.ndarray:
        return self.range * self.fast.weights[:, 0]

    def _update_fast(self, delta: np.ndarray, inputs: np.ndarray) -> None:
        self.fast.update(-delta[:, None, :], inputs[:, None, :], self.algorithm.fast_learning_rate / self.range,
                         self.max_pulses)

    def _arrays(self) -> dict[str, CrossbarArray]:
        return {"slow": self.slow, "fast": self.fast}

    def _extra_state(self) -> dict[str, np.ndarray]:
        return {"schedule.samples": np.array(self.schedule.samples)}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        super().load_state(state)
        self.schedule.samples = int(state["schedule.samples"])


class TikiTaka(_Transfer):
    """Tiki-Taka v1: W = gamma W_A + W_C; transfers are stochastic parallel updates of C."""

    def matrix(self) -> np.ndarray:
        return self.algorithm.gamma * self._fast_matrix() + self._slow_matrix()

    def step(self, delta: np.ndarray, inputs: np.ndarray, epoch: int) -> None:
        self._update_fast(delta, inputs)
        column = self.schedule.advance()
        if column is None:
            return
        read = self._fast_matrix()[:, :, column]
        one_hot = np.zeros((read.shape[0], 2, self.fast.weights.shape[-1]))
        one_hot[:, :, column] = 1.0
        rows = np.stack([read, -read], axis=1)
        self.slow.update(rows, one_hot, (self.algorithm.transfer_learning_rate / epoch) / self.range,
                         self.max_pulses)


class ChoppedTikiTaka(_Transfer):
    """Chopped Tiki-Taka: chopped updates of A, digital buffer H in pulses, thresholded
    column writes into C; W = W_C."""

    def __init__(self, initial, device, crossbar, training, rng, algorithm):
        super().__init__(initial, device, crossbar, training, rng, algorithm)
        networks, outputs, inputs = initial.shape
        self.buffer = np.zeros((networks, outputs, inputs))
        self.chopper = Chopper(networks, inputs, algorithm.chopper_probability, algorithm.chopper_random, rng)

    def matrix(self) -> np.ndarray:
        return self._slow_matrix()

    def step(self, delta: np.ndarray, inputs: np.ndarray, epoch: int) -> None:
        self._update_fast(delta, self.chopper.signs * inputs)
        column = self.schedule.advance()
        if column is None:
            return
        algorithm = self.algorithm
        signs = self.chopper.signs[:, column][:, None]
        read = signs * self._fast_matrix()[:, :, column]
        buffer = self.buffer[:, :, column] + (algorithm.transfer_learning_rate / epoch) * read / self.pulse_step
        pulses = threshold_pulses(buffer, algorithm.threshold, algorithm.max_pulses)
        written = pulses != 0
        self.buffer[:, :, column] = np.where(written, 0.0, buffer) if algorithm.forget_buffer else buffer - pulses
        self.slow.program_column(column, np.stack([pulses, -pulses], axis=1))
        self.chopper.after_read(column)

    def _extra_state(self) -> dict[str, np.ndarray]:
        return super()._extra_state() | {"buffer": self.buffer, "chopper.signs": self.chopper.signs,
                                         "chopper.reads": self.chopper.reads}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        super().load_state(state)
        self.buffer = np.array(state["buffer"], dtype=float)
        self.chopper.signs = np.array(state["chopper.signs"], dtype=float)
        self.chopper.reads = np.array(state["chopper.reads"], dtype=np.int64)


class MixedPrecision(_Analog):
    """Mixed precision: digital chi in pulses, whole pulses written row by row into C."""

    def __init__(self, initial, device, crossbar, training, rng, algorithm):
        super().__init__(initial, device, crossbar, training, rng)
        self.algorithm = algorithm
        self.accumulated = np.zeros(initial.shape)
        self.samples = 0

    def matrix(self) -> np.ndarray:
        return self._slow_matrix()

    def step(self, delta: np.ndarray, inputs: np.ndarray, epoch: int) -> None:
        scale = (self.learning_rate / epoch) / self.pulse_step
        self.accumulated -= scale * delta[:, :, None] * inputs[:, None, :]
        self.samples += 1
        if self.samples % self.algorithm.transfer_every:
            return
        pulses = threshold_pulses(self.accumulated, self.algorithm.threshold, self.algorithm.max_pulses)
        if pulses.any():
            self.accumulated -= pulses
            self.slow.program_rows(np.stack([pulses, -pulses], axis=1))

    def _extra_state(self) -> dict[str, np.ndarray]:
        return {"accumulated": self.accumulated, "samples": np.array(self.samples)}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        super().load_state(state)
        self.accumulated = np.array(state["accumulated"], dtype=float)
        self.samples = int(state["samples"])


def build_layer(algorithm: Optional[AlgorithmConfig], initial: np.ndarray, device: Optional[DeviceModel],
                crossbar: Crossbar, training: Training, rng: np.random.Generator):
    """The layer of one algorithm; `device` None gives the floating-point reference."""
    if device is None:
        return FloatingPoint(initial, training)
    if algorithm is None or algorithm.name == "sgd":
        return PlainSGD(initial, device, crossbar, training, rng)
    layer = {"tiki_taka": TikiTaka, "chopped_tiki_taka": ChoppedTikiTaka,
             "mixed_precision": MixedPrecision}[algorithm.name]
    return layer(initial, device, crossbar, training, rng, algorithm)
