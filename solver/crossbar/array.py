"""A crossbar array under a biasing scheme: every device gets the voltage its lines give it.

Lines and voltages. A device sees V_row - V_col. In a pulse slot of polarity P (+1 or -1,
the sign of the voltage the coincident devices must see) and V = V_write(P):

    v_half   driven rows +P V/2, driven columns -P V/2, idle lines 0
             -> coincidence P V, half-selected P V/2, unselected 0
    v_third  driven rows P V, driven columns 0, idle rows P V/3, idle columns 2 P V/3
             -> coincidence P V, half-selected P V/3, unselected -P V/3

(in v_third the bias is applied during every slot in which any line of the phase fires).

Signs. A row carries the sign s_i of its value, a column t_j. Device (i, j) must move with
s_i t_j, and a line has one voltage at a time, so an update runs four phases, (s, t) =
(+,+), (+,-), (-,+), (-,-), each of polarity P = s t in which only the rows of sign s and the
columns of sign t fire (each line replays its train in the two phases of its sign). A device
is therefore also half-selected, with the opposite polarity, in the phases of its row with
the other column sign and of its column with the other row sign. (For a linear device these
opposite half-selects cancel the coincidences, up to soft-bound terms of second order: dw
proportional to v integrates V_row - V_col, which is separable and has no x_i d_j term.)

Counting. Within one phase all pulses a device gets have one polarity per voltage class, and
pulses of one polarity commute under soft bounds (solver.crossbar.device), so only their
counts matter: coincidences n_full = sum_k r_ik c_jk (a matrix product over slots), and
half-selects n_row + n_col - 2 n_full. The state after the phase is then exact for `v_half`
without noise; with noise the sum over a device's pulses of the per-pulse log-noise is drawn
as one Gaussian of the same mean and variance (to second order in the noise). For `v_third`
the unselected pulses of opposite polarity are applied after the phase's selected ones, an
ordering error of order kappa^2. No Python loop runs over devices or pulses.

Line resistance. Given a `lines` network (solver.crossbar.lines), a device no longer sees
the nominal voltage of its class: the drives of every pulse slot go through a nodal solve of
the resistive lines, and each device gets one pulse at the voltage it really sees. Pulses of
one polarity still commute, so per phase the per-pulse factors of each device are summed
(log keep and noise variance, separately for the pulses that push it up and down) and
applied as above, the phase's polarity first. With `lines=None` (ideal wires) nothing changes.

Arrays may carry leading batch dimensions (independent arrays updated at once).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from solver.crossbar.device import DeviceModel
from solver.crossbar.lines import TABLE_RANGE, LineNetwork, Tabulated
from solver.crossbar.pulses import stochastic_trains

SCHEMES = {"v_half": 0.5, "v_third": 1.0 / 3.0}  # |half-selected voltage| / V
PHASES = ((1, 1), (1, -1), (-1, 1), (-1, -1))
NOISE_FLOOR = 1e-13


class CrossbarArray:
    """Weights of shape (..., rows, cols) on devices of one technology; `half_select=False`
    gives the same devices without any response to half- and unselected pulses (a reference
    that isolates what disturbance costs). With `lines` the trains of `apply_trains` and
    `update` are applied through the line network's nodal solve, whose scheme replaces
    `scheme`. `select_gain` (broadcast against the weights) multiplies each device's
    half-select step in the counted phases (apply_phase): the rate increase its neighbours'
    heat causes (solver.crosstalk), for one fixed pattern of selected lines."""

    def __init__(self, device: DeviceModel, shape: tuple[int, ...], scheme: str,
                 rng: np.random.Generator, initial: float = 0.0, half_select: bool = True,
                 lines: Optional[LineNetwork] = None, select_gain: Optional[np.ndarray] = None):
        if scheme not in SCHEMES:
            raise ValueError(f"unknown scheme {scheme!r}")
        self.device = device
        self.scheme = scheme
        self.rng = rng
        self.half_select = half_select
        self.lines = lines
        self.select_gain = 1.0 if select_gain is None else select_gain
        self.weights = np.full(shape, float(initial))
        if lines is not None:
            if shape[-2:] != (lines.rows, lines.cols):
                raise ValueError(f"array {shape[-2:]} does not match its lines {(lines.rows, lines.cols)}")
            reach = TABLE_RANGE * max(lines.amplitude(1), lines.amplitude(-1))
            self._log_step = Tabulated(lambda v: np.log(np.maximum(device.step(v), 1e-300)), reach)
        self._set_prefactor(np.exp(device.device_spread * rng.standard_normal(shape)))

    def _set_prefactor(self, prefactor: np.ndarray) -> None:
        """The devices' step prefactors (device-to-device spread) and, for a device whose
        pulse factors do not depend on the weight (soft bounds), the factors they give."""
        self.prefactor = prefactor
        self._factors = None if getattr(self.device, "depends_on_weight", False) else {
            polarity: self._pulse_factors(polarity, None) for polarity in (1, -1)}

    def _pulse_factors(self, polarity: int, weights) -> dict:
        """(log keep, noise coefficient) per device for the coincident pulse, the half-selected
        pulse (same polarity) and, in v_third, the unselected pulse (opposite) of a phase of
        `polarity`; a weight-dependent device (solver.crossbar.derived) takes them at `weights`."""
        fraction = SCHEMES[self.scheme]
        v = self.device.write_voltage(polarity)

        def factors(voltage: float, gain=1.0):
            prefactor = self.prefactor * gain  # gain: the half-select gain of neighbour heating
            if weights is None:
                return self.device.pulse_factors(voltage, prefactor)
            return self.device.pulse_factors(voltage, prefactor, weights)

        out = {"full": factors(v), "select": factors(fraction * v, self.select_gain)}
        if self.scheme == "v_third":
            out["unselected"] = factors(-v / 3.0)
        return out

    def state(self) -> dict[str, np.ndarray]:
        """What a checkpoint must keep: the weights and the devices' prefactors."""
        return {"weights": self.weights, "prefactor": self.prefactor}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.weights = np.array(state["weights"], dtype=float)
        self._set_prefactor(np.array(state["prefactor"], dtype=float))

    # -- pulses given as counts ---------------------------------------------------------------

    def apply_phase(self, polarity: int, n_full, n_select, n_unselected=None) -> None:
        """Apply one phase of polarity +1/-1: per device, n_full coincidences and n_select
        half-selects (polarity `polarity`), and in v_third n_unselected pulses of the other
        polarity. Counts broadcast against the weights."""
        self._apply_steps(self._phase_steps(polarity, n_full, n_select, n_unselected))

    def _phase_steps(self, polarity: int, n_full, n_select, n_unselected) -> list:
        """The approaches of one phase: (polarity, [((log keep, noise coefficient), count)]).
        A weight-dependent device's factors are taken at the weights before the update (its
        steps change little within one update)."""
        factors = (self._factors[polarity] if self._factors is not None
                   else self._pulse_factors(polarity, self.weights))
        groups = [(factors["full"], n_full)]
        if self.half_select:
            groups.append((factors["select"], n_select))
        steps = [(polarity, groups)]
        if self.scheme == "v_third" and self.half_select and n_unselected is not None:
            steps.append((-polarity, [(factors["unselected"], n_unselected)]))
        return steps

    def _apply_steps(self, steps: list) -> None:
        """Apply approaches in order: each multiplies the distance to the bound it approaches
        by its pulses' factors. Consecutive approaches of one polarity are one (their factors
        multiply, their noise variances add). The factors do not depend on the weights, so
        those of all steps are formed (and their noise drawn) at once; only the last line runs
        step by step."""
        merged: list[tuple[int, dict]] = []
        for polarity, groups in steps:
            if not merged or merged[-1][0] != polarity:
                merged.append((polarity, {}))
            counts = merged[-1][1]
            for factors, count in groups:
                key = id(factors)
                previous = counts.get(key)
                counts[key] = (factors, count if previous is None else previous[1] + count)
        if not merged:
            return
        shape = self.weights.shape
        sigma = self.device.noise
        log_factor = np.empty((len(merged),) + shape)
        variance = np.empty((len(merged),) + shape) if sigma > 0 else None
        for k, (_, counts) in enumerate(merged):
            log_sum, variance_sum = 0.0, 0.0
            for (keep, noise_coefficient), count in counts.values():
                log_sum = log_sum + count * keep
                if variance is not None:
                    variance_sum = variance_sum + count * noise_coefficient
            log_factor[k] = log_sum
            if variance is not None:
                variance[k] = variance_sum
        if variance is not None:
            variance *= sigma * sigma
            log_factor -= 0.5 * variance
            # Drawing normals dominates the cost; a spread below NOISE_FLOOR changes w by less
            # than that (relative), so such devices (e.g. half-selected ones of a strongly
            # nonlinear device) get none.
            noisy = variance > NOISE_FLOOR**2
            count = int(np.count_nonzero(noisy))
            if count == noisy.size:
                log_factor += np.sqrt(variance) * self.rng.standard_normal(noisy.shape)
            elif count:
                log_factor[noisy] += np.sqrt(variance[noisy]) * self.rng.standard_normal(count)
        factor = np.exp(log_factor, out=log_factor)
        w_min, w_max = self.device.w_min, self.device.w_max
        weights = self.weights
        for k, (polarity, _) in enumerate(merged):
            if polarity > 0:
                weights = w_max - (w_max - weights) * factor[k]
            else:
                weights = w_min + (weights - w_min) * factor[k]
        self.weights = weights

    # -- pulses given as trains -------------------------------------------------------------

    def apply_trains(self, row_trains: np.ndarray, col_trains: np.ndarray, row_signs: np.ndarray,
                     col_signs: np.ndarray) -> None:
        """Fire boolean trains (..., slots, rows) and (..., slots, cols); line signs +1/-1
        (0: the line never fires) choose the phases, see the module docstring."""
        if self.lines is not None:
            steps = []
            for s, t in PHASES:
                steps += self._line_phase_steps(s, t, row_trains, col_trains, row_signs, col_signs)
            self._apply_steps(steps)
            return
        # Counts of at most a few thousand slots are exact in float32.
        rows = row_trains.astype(np.float32)
        cols = col_trains.astype(np.float32)
        coincidences = np.matmul(np.swapaxes(rows, -1, -2), cols)
        n_row = rows.sum(axis=-2)
        n_col = cols.sum(axis=-2)
        steps = []
        for s, t in PHASES:
            row_on = row_signs == s
            col_on = col_signs == t
            row_count = n_row * row_on
            col_count = n_col * col_on
            if not (row_count.any() or col_count.any()):
                continue
            n_full = coincidences * (row_on[..., :, None] & col_on[..., None, :])
            touched = row_count[..., :, None] + col_count[..., None, :]
            n_select = touched - 2.0 * n_full
            n_unselected: Optional[np.ndarray] = None
            if self.scheme == "v_third":
                active = ((row_trains & row_on[..., None, :]).any(axis=-1)
                          | (col_trains & col_on[..., None, :]).any(axis=-1)).sum(axis=-1)
                n_unselected = active[..., None, None] - (touched - n_full)
            steps += self._phase_steps(s * t, n_full, n_select, n_unselected)
        self._apply_steps(steps)

    def _line_phase_steps(self, s: int, t: int, row_trains, col_trains, row_signs, col_signs) -> list:
        """The approaches of one phase on resistive lines: every slot solved, every device's
        pulse factors at its own voltage, summed per direction."""
        polarity = s * t
        rows = np.moveaxis(row_trains & (row_signs == s)[..., None, :], -2, 0)  # (slots, ..., rows)
        cols = np.moveaxis(col_trains & (col_signs == t)[..., None, :], -2, 0)
        active = (rows.reshape(len(rows), -1).any(axis=1) | cols.reshape(len(cols), -1).any(axis=1))
        if not active.any():
            return []
        rows, cols = rows[active], cols[active]
        voltage = self.lines.device_voltages(*self.lines.slot_potentials(polarity, rows, cols))
        if not self.half_select:
            voltage = np.where(rows[..., :, None] & cols[..., None, :], voltage, 0.0)
        log_step, _ = self._log_step(voltage)
        kappa = 2.0 * np.exp(log_step) * self.prefactor / self.device.span
        keep = np.maximum(1.0 - kappa, 1e-300)
        log_keep = np.log(keep)
        noise = (kappa / keep) ** 2
        steps = []
        for direction in (polarity, -polarity):
            pushed = voltage > 0 if direction > 0 else voltage < 0
            factors = (np.where(pushed, log_keep, 0.0).sum(axis=0), np.where(pushed, noise, 0.0).sum(axis=0))
            steps.append((direction, [(factors, 1.0)]))
        return steps

    def update(self, row_values: np.ndarray, col_values: np.ndarray, learning_rate: float,
               max_pulses: int, bl_management: bool = False) -> None:
        """Fully parallel stochastic update towards W += lr * outer(row_values, col_values),
        with trains of `max_pulses` slots (or as few as suffice with `bl_management`; see
        solver.crossbar.pulses)."""
        row_trains, col_trains = stochastic_trains(row_values, col_values, learning_rate,
                                                   self.device.dw_min, max_pulses, self.rng,
                                                   bl_management=bl_management)
        self.apply_trains(row_trains, col_trains, np.sign(row_values), np.sign(col_values))

    def program_rows(self, counts: np.ndarray) -> None:
        """Row-by-row programming of signed pulse counts (..., rows, cols), as a mixed-precision
        write does: row i is driven alone while column j fires |counts_ij| times with the sign
        of counts_ij (one phase per sign, as solver.crossbar.mapping.program_row does), rows one
        after the other. Per device and polarity P that gives

            coincidences  m_ij (= |counts_ij| where sign P, else 0),
            half-selects  L_i + sum_i' m_i'j - 2 m_ij   (L_i = max_j m_ij: slots row i is driven;
                          its own row's other slots, and other rows' pulses on its column),
            unselected    sum_i' L_i' - L_i - sum_i' m_i'j + m_ij   (v_third only).

        All positive pulses are applied before the negative ones: a device gets coincidences
        of one sign only, so this reorders only its half-selects of the other sign against its
        coincidences, an error of order kappa_full x kappa_half per device (zero without
        half-select response)."""
        for polarity in (1, -1):
            m = np.where(np.sign(counts) == polarity, np.abs(counts), 0).astype(float)
            if not m.any():
                continue
            driven = m.max(axis=-1, keepdims=True)  # L_i
            on_column = m.sum(axis=-2, keepdims=True)
            n_select = driven + on_column - 2.0 * m
            n_unselected = None
            if self.scheme == "v_third":
                n_unselected = driven.sum(axis=-2, keepdims=True) - driven - on_column + m
            self.apply_phase(polarity, m, n_select, n_unselected)

    def program_column(self, column: int, counts: np.ndarray) -> None:
        """One column-parallel write of signed pulse counts (..., rows) into `column`, as a
        Tiki-Taka transfer from a digital buffer does: per sign P, the column line is driven
        for L = max_i m_i slots (m_i = |counts_i| where sign P) and row i fires in the first m_i
        of them. Per device: (i, column) m_i coincidences and L - m_i half-selects; (i, other
        columns) m_i half-selects; in v_third the other devices of idle slots, L - m_i,
        unselected. Positive pulses first, then negative ones (the order of the write)."""
        columns = self.weights.shape[-1]
        on_column = np.arange(columns) == column
        for polarity in (1, -1):
            m = np.where(np.sign(counts) == polarity, np.abs(counts), 0).astype(float)[..., :, None]
            if not m.any():
                continue
            driven = m.max(axis=-2, keepdims=True)  # L, per array of a batch
            n_full = m * on_column
            n_select = np.where(on_column, driven - m, m)
            n_unselected = None
            if self.scheme == "v_third":
                n_unselected = np.where(on_column, 0.0, driven - m)
            self.apply_phase(polarity, n_full, n_select, n_unselected)
