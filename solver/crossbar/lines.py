"""Line resistance: the device voltages of a crossbar whose wires have resistance.

The array. Row line i runs along its row, driven at the left end (before column 0); column
line j runs along its column, driven at the bottom end (below row N-1). Between the driver
and the first cell, and between neighbouring cells, each line has one segment of resistance
R (`crossbar.line_resistance`), so cell (0, M-1), the top-right one, is farthest from both
drivers. A 1R cell is the device between its row node and its column node. A 1T1R cell is
the device from the row line (the bit line, to the top electrode) to an internal node, and
an access nFET from there to the column line (the source line) with its gate on the row's
gate line (the word line; it carries no DC current, so its resistance does not matter and
it is taken as ideal).

The transistor is SPICE's level-1 (Shichman-Hodges) MOSFET without body effect or channel
length modulation, symmetric in drain and source (the lower-potential terminal is the
source): with V_ov = V_gate - V_low - V_th and V_ds = V_high - V_low,

    I = 0 (V_ov <= 0),   beta (V_ov - V_ds/2) V_ds (V_ds < V_ov),   beta V_ov^2 / 2 otherwise,

beta = KP W / L. The circuit-level array (solver.spice.array) uses exactly this model, so
the two can be compared to solver tolerance.

Drives. In a pulse slot of polarity P (+1/-1) with amplitude V_a (`amplitude`), a line
that fires and one that does not get these potentials (`slot_potentials`):

    1R   v_half            rows  P V_a/2 | 0          columns  -P V_a/2 | 0
    1R   v_third           rows  P V_a   | P V_a/3    columns   0       | 2 P V_a/3
    1T1R v_half            rows  V_a or 0 | V_a/2     columns   0 or V_a | V_a/2     gates all on
    1T1R gate_coincidence  rows  V_a or 0 (all)       columns   0 or V_a | = rows    gates on | off

(1T1R: the first value for P = +1, the second for P = -1, so that no potential is negative.)
In gate coincidence a row is selected by its gate, not by its bit line: an unselected cell
has its transistor off and carries no current, and a selected cell of a column that does
not fire sees 0 V. The on-gate voltage depends on the polarity (the source of the nFET is
the source line for P = +1 and the internal node, near V_write, for P = -1), the off-gate
is 0 V. V_a is the write voltage of the device for 1R; for 1T1R it is raised by the
transistor's drop so that an isolated coincident cell's device sees exactly V_write.

The solve. Kirchhoff's current law at every line node with the cell currents I(v) of the
compact model is solved by nonlinear block Gauss-Seidel over lines: all row lines at once
(each a tridiagonal system for one Newton step, the column potentials fixed), then all column
lines, until no potential moves by more than `TOLERANCE`. The lines of every pulse slot of
a phase are one batched tridiagonal solve (LAPACK gtsv), so the cost per sweep is linear in
the number of cells. A sweep contracts the error by about (rho / (1 + rho))^2, with rho =
4 N^2 R g / pi^2 the line resistance of N cells against the cells' differential conductance g:
a few sweeps for small arrays, tens where the IR drop is severe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
from scipy.linalg import solve_banded
from scipy.optimize import brentq

from solver.config.schema import Crossbar
from solver.errors import FilathermError, InputError

CELLS = ("1R", "1T1R")
LINE_SCHEMES = {"1R": ("v_half", "v_third"), "1T1R": ("v_half", "gate_coincidence")}
TOLERANCE = 1e-9  # V: largest change of a line potential in the last sweep
MAX_SWEEPS = 2000
INTERNAL_NEWTON_STEPS = 60
TABLE_POINTS = 8001  # of the tabulated cell current and step over +-TABLE_RANGE x max |V_a|
TABLE_RANGE = 1.25


@dataclass(frozen=True)
class Transistor:
    """Level-1 nFET: threshold [V], beta = KP W / L [A/V^2], on-gate voltage per polarity [V]."""

    threshold: float
    beta: float
    gate_positive: float
    gate_negative: float

    def gate(self, polarity: int) -> float:
        return self.gate_positive if polarity > 0 else self.gate_negative

    def current(self, drain, source, gate):
        """(I from `drain` to `source` [A], dI/d drain, dI/d source), element-wise."""
        high = np.maximum(drain, source)
        low = np.minimum(drain, source)
        overdrive = gate - low - self.threshold
        vds = high - low
        on = overdrive > 0
        triode = on & (vds < overdrive)
        saturated = on & ~triode
        magnitude = np.where(triode, self.beta * (overdrive - 0.5 * vds) * vds,
                             np.where(saturated, 0.5 * self.beta * overdrive**2, 0.0))
        d_overdrive = np.where(triode, self.beta * vds, np.where(saturated, self.beta * overdrive, 0.0))
        d_vds = np.where(triode, self.beta * (overdrive - vds), 0.0)
        forward = drain >= source
        # forward: V_ov falls with the source, V_ds rises with the drain; reverse: the roles swap.
        sign = np.where(forward, 1.0, -1.0)
        d_drain = np.where(forward, d_vds, d_overdrive + d_vds)
        d_source = np.where(forward, -d_overdrive - d_vds, -d_vds)
        return sign * magnitude, d_drain, d_source


class Tabulated:
    """A function of voltage on a uniform grid, linearly interpolated (value and slope)."""

    def __init__(self, function: Callable[[np.ndarray], np.ndarray], v_max: float,
                 points: int = TABLE_POINTS):
        self.v0 = -v_max
        self.step = 2.0 * v_max / (points - 1)
        grid = self.v0 + self.step * np.arange(points)
        self.values = np.asarray(function(grid), dtype=float)
        self.slopes = np.diff(self.values) / self.step
        self.last = points - 2

    def __call__(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        position = (v - self.v0) / self.step
        k = np.clip(position.astype(np.intp), 0, self.last)
        slope = self.slopes[k]
        return self.values[k] + slope * (position - k) * self.step, slope


class LineNetwork:
    """Rows x cols cells on resistive lines (see the module docstring). `current(v)` is the
    cell device's I(v) [A] at device voltage v [V] (vectorised), `write_voltage(P)` its signed
    write voltage; `transistor` is needed for 1T1R."""

    def __init__(self, rows: int, cols: int, resistance: float, cell: str, scheme: str,
                 current: Callable[[np.ndarray], np.ndarray], write_voltage: Callable[[int], float],
                 transistor: Optional[Transistor] = None):
        if cell not in CELLS:
            raise InputError(f"unknown cell {cell!r} (known: {', '.join(CELLS)})")
        if scheme not in LINE_SCHEMES[cell]:
            raise InputError(f"scheme {scheme!r} does not apply to {cell} cells "
                             f"(use {' or '.join(LINE_SCHEMES[cell])})")
        if cell == "1T1R" and transistor is None:
            raise InputError("1T1R cells need an access transistor")
        if resistance < 0:
            raise InputError("line resistance must be >= 0")
        self.rows, self.cols = rows, cols
        self.resistance = float(resistance)
        self.cell, self.scheme = cell, scheme
        self.transistor = transistor
        write = {p: float(write_voltage(p)) for p in (1, -1)}
        self.write = write
        span = TABLE_RANGE * max(abs(v) for v in write.values())
        self.device = Tabulated(current, span)
        self._amplitude = {p: self._calibrate(p) for p in (1, -1)}
        if self.cell == "1T1R":
            # The table must reach the largest device voltage a 1T1R drive can apply.
            reach = TABLE_RANGE * max(self._amplitude.values())
            if reach > span:
                self.device = Tabulated(current, reach)

    # -- drives ---------------------------------------------------------------------------

    def amplitude(self, polarity: int) -> float:
        """|V_a| of a pulse of this polarity [V]."""
        return self._amplitude[polarity]

    def _calibrate(self, polarity: int) -> float:
        v_write = self.write[polarity]
        if self.cell == "1R":
            return abs(v_write)
        target, _ = self.device(np.array(v_write))
        target = float(target)
        gate = self.transistor.gate(polarity)
        if polarity > 0:
            # row at V_a, column at 0: internal node at V_a - V_write carries I(V_write).
            def mismatch(node: float) -> float:
                return float(self.transistor.current(node, 0.0, gate)[0]) - target
            ceiling = gate - self.transistor.threshold
            if ceiling <= 0 or mismatch(ceiling) < 0:
                raise InputError(f"crossbar.transistor: the gate voltage {gate:g} V cannot pass the "
                                 f"write current {target:.3g} A")
            return v_write + brentq(mismatch, 0.0, ceiling, xtol=1e-15, rtol=1e-14)
        # row at 0, column at V_a: internal node at -V_write, current -|I(V_write)|.
        node = -v_write

        def mismatch_negative(column: float) -> float:
            return float(self.transistor.current(node, column, gate)[0]) - target
        ceiling = node + 10.0 * abs(v_write)
        if gate - node - self.transistor.threshold <= 0 or mismatch_negative(ceiling) > 0:
            raise InputError(f"crossbar.transistor: the gate voltage {gate:g} V cannot pass the "
                             f"write current {abs(target):.3g} A")
        return brentq(mismatch_negative, node, ceiling, xtol=1e-15, rtol=1e-14)

    def standby(self, polarity: int) -> float:
        """Potential of every line between pulses [V]."""
        if self.cell == "1T1R" and self.scheme == "v_half":
            return 0.5 * self._amplitude[polarity]
        return 0.0

    def slot_potentials(self, polarity: int, row_fire: np.ndarray, col_fire: np.ndarray):
        """Potentials [V] of the row drivers, column drivers and gate lines (None for 1R) in a
        slot where the boolean masks `row_fire` (..., rows) and `col_fire` (..., cols) fire."""
        P = polarity
        a = self._amplitude[P]
        rows = row_fire.astype(float)
        cols = col_fire.astype(float)
        if self.cell == "1R":
            if self.scheme == "v_half":
                return P * 0.5 * a * rows, -P * 0.5 * a * cols, None
            return P * a * (1.0 / 3.0 + 2.0 / 3.0 * rows), P * a * (2.0 / 3.0) * (1.0 - cols), None
        high = a if P > 0 else 0.0  # the row potential of a selected cell
        low = a - high  # its column potential
        gate = self.transistor.gate(P)
        if self.scheme == "v_half":
            row_v = np.where(row_fire, high, 0.5 * a)
            col_v = np.where(col_fire, low, 0.5 * a)
            return row_v, col_v, np.full(row_fire.shape, gate)
        row_v = np.full(row_fire.shape, high)
        col_v = np.where(col_fire, low, high)
        return row_v, col_v, np.where(row_fire, gate, 0.0)

    # -- the solve ------------------------------------------------------------------------

    def device_voltages(self, row_v: np.ndarray, col_v: np.ndarray,
                        gate_v: Optional[np.ndarray] = None) -> np.ndarray:
        """Device voltages (..., rows, cols) [V] for driver potentials (..., rows) and
        (..., cols) and gate potentials (..., rows) (1T1R)."""
        shape = row_v.shape[:-1] + (self.rows, self.cols)
        r = np.broadcast_to(row_v[..., :, None], shape).copy()
        c = np.broadcast_to(col_v[..., None, :], shape).copy()
        gate = None if gate_v is None else np.broadcast_to(gate_v[..., :, None], shape)
        node = r.copy()  # 1T1R internal node, warm start
        if self.resistance > 0:
            conductance = 1.0 / self.resistance
            for sweep in range(MAX_SWEEPS):
                current, d_row, _, node = self._cells(r, c, gate, node)
                change_r = self._relax_rows(r, current, d_row, row_v, conductance)
                r += change_r
                current, _, d_col, node = self._cells(r, c, gate, node)
                change_c = self._relax_cols(c, current, d_col, col_v, conductance)
                c += change_c
                if max(np.abs(change_r).max(), np.abs(change_c).max()) < TOLERANCE:
                    self.last_sweeps = sweep + 1
                    break
            else:
                raise FilathermError(f"line-resistance solve: no convergence in {MAX_SWEEPS} sweeps "
                                     f"({self.rows}x{self.cols}, R = {self.resistance:g} Ohm)")
        if self.cell == "1R":
            return r - c
        _, _, _, node = self._cells(r, c, gate, node)
        return r - node

    def _cells(self, r, c, gate, node):
        """Cell currents row -> column and their derivatives by the row and column potentials;
        for 1T1R also the internal node."""
        if self.cell == "1R":
            current, slope = self.device(r - c)
            return current, slope, -slope, node
        node = self._internal_node(r, c, gate, node)
        current, g_device = self.device(r - node)
        _, t_node, t_col = self.transistor.current(node, c, gate)
        total = g_device + t_node
        safe = np.where(total > 0, total, 1.0)
        d_row = np.where(total > 0, g_device * t_node / safe, 0.0)
        d_col = np.where(total > 0, g_device * t_col / safe, 0.0)
        return current, d_row, d_col, node

    def _internal_node(self, r, c, gate, node):
        """Potential between device and transistor: I_device(r - x) = I_transistor(x, c),
        safeguarded Newton inside [min(r, c), max(r, c)] from the previous value."""
        low = np.minimum(r, c)
        high = np.maximum(r, c)
        x = np.clip(node, low, high)
        for _ in range(INTERNAL_NEWTON_STEPS):
            i_device, g_device = self.device(r - x)
            i_fet, t_node, _ = self.transistor.current(x, c, gate)
            residual = i_device - i_fet
            slope = g_device + t_node
            step = np.where(slope > 0, residual / np.where(slope > 0, slope, 1.0), 0.0)
            # off transistor: no current, the node sits at the row potential
            target = np.where(slope > 0, x + step, r)
            # residual > 0: the device pushes more than the transistor passes -> node rises
            low = np.where(residual > 0, np.maximum(low, x), low)
            high = np.where(residual < 0, np.minimum(high, x), high)
            outside = (target < low) | (target > high)
            target = np.where(outside & (slope > 0), 0.5 * (low + high), target)
            moved = np.abs(target - x).max() if target.size else 0.0
            x = target
            if moved < 1e-3 * TOLERANCE:
                return x
        raise FilathermError("line-resistance solve: the 1T1R internal node did not converge")

    def _relax_rows(self, r, current, slope, drive, conductance):
        """One Newton step of every row line with the column potentials fixed."""
        left = np.concatenate([drive[..., :, None], r[..., :, :-1]], axis=-1)
        flow_left = conductance * (r - left)
        flow_right = np.zeros_like(r)
        flow_right[..., :, :-1] = -flow_left[..., :, 1:]
        residual = flow_left + flow_right + current
        diagonal = np.full(r.shape, 2.0 * conductance) + slope
        diagonal[..., :, -1] -= conductance  # the far end has one segment
        return _tridiagonal(diagonal, -conductance, -residual)

    def _relax_cols(self, c, current, slope, drive, conductance):
        """One Newton step of every column line with the row potentials fixed; the driver
        is below the last row."""
        flipped = np.swapaxes(c[..., ::-1, :], -1, -2)  # (..., cols, rows from the driver)
        current_f = np.swapaxes(current[..., ::-1, :], -1, -2)
        slope_f = np.swapaxes(slope[..., ::-1, :], -1, -2)
        near = np.concatenate([drive[..., :, None], flipped[..., :, :-1]], axis=-1)
        flow_near = conductance * (flipped - near)
        flow_far = np.zeros_like(flipped)
        flow_far[..., :, :-1] = -flow_near[..., :, 1:]
        # a cell's current flows into its column node
        residual = flow_near + flow_far - current_f
        diagonal = np.full(flipped.shape, 2.0 * conductance) - slope_f
        diagonal[..., :, -1] -= conductance
        change = _tridiagonal(diagonal, -conductance, -residual)
        return np.swapaxes(change, -1, -2)[..., ::-1, :]


def _tridiagonal(diagonal: np.ndarray, off: float, rhs: np.ndarray) -> np.ndarray:
    """Solve every last-axis line of `diagonal` (constant off-diagonal `off`) at once: the
    lines are stacked into one tridiagonal system whose couplings between lines are zero."""
    n = diagonal.shape[-1]
    total = diagonal.size
    bands = np.zeros((3, total))
    bands[1] = diagonal.ravel()
    upper = np.full(total, off)
    upper[::n] = 0.0  # no coupling into the first node of a line from the previous line
    bands[0] = upper
    lower = np.full(total, off)
    lower[n - 1::n] = 0.0  # none from the last node of a line into the next line
    bands[2] = lower
    solution = solve_banded((1, 1), bands, rhs.ravel(), overwrite_ab=True, overwrite_b=True,
                            check_finite=False)
    return solution.reshape(diagonal.shape)


def line_network(crossbar: Crossbar, rows: int, cols: int, scheme: str,
                 current: Callable[[np.ndarray], np.ndarray], write_voltage: Callable[[int], float],
                 resistance: Optional[float] = None) -> LineNetwork:
    """The network of `crossbar`'s cell, line resistance (or `resistance`) and transistor."""
    fet = crossbar.transistor
    transistor = Transistor(fet.threshold_voltage, fet.transconductance * fet.width / fet.length,
                            fet.gate_voltage_positive, fet.gate_voltage_negative)
    return LineNetwork(rows, cols, crossbar.line_resistance if resistance is None else resistance,
                       crossbar.cell, scheme, current, write_voltage, transistor)
