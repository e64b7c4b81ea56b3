"""The ngspice netlist of a crossbar array under one fully parallel stochastic update.

Cells. `filatherm_cell` is the compact model's subcircuit (solver.compact.subcircuit: the same
laws, thermal node and parameters) whose state node holds the crossbar weight w of
solver.crossbar.device instead of the switching progress: with u the distance to the bound
the pulse approaches (w_max - w for V > 0, w - w_min for V < 0),

    du/dt = u ln(1 - kf d delta(T, E) / delta_ref) / t_pulse,   delta = rate(T, E) t_pulse,

kf = 2 dw_min / (w_max - w_min), d the device's spread prefactor, delta_ref the fitted law's
delta at V_write of the pulse's polarity. A rectangular pulse of voltage v and width t_pulse
therefore multiplies u by exactly 1 - kappa(v), the factor solver.crossbar.device applies per
pulse (the law view of the step: `fitted_device(..., view="law")`). The node holds w - w0.
1T1R cells add a level-1 nFET (`.model ft_nfet nmos level=1`, no body effect and no
channel-length modulation, the model solver.crossbar.lines uses) from the device's bottom
electrode to the source line, its gate on the row's gate line.

Lines and drives (solver.crossbar.lines): row i is driven from the left, column j from below
row N-1, one resistor R per segment (none if R = 0). Every line and gate rests at 0 V
between slots. A slot that fires at least one line takes 5 t_edge + t_pulse: the gates ramp
to their slot value over t_edge, then every line ramps from 0 to its slot potential
(`LineNetwork.slot_potentials`) over t_edge, holds it for t_pulse, ramps back, and the gates
follow. Slots in which no line fires are left out (every device would see 0 V).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.compact.model import CompactModel
from solver.crossbar.device import DeviceModel
from solver.crossbar.lines import LineNetwork
from solver.compact.subcircuit import model_parameters, number, subcircuit_text

CELL_NAME = "filatherm_cell"
WEIGHT_CAPACITANCE = 1e-9  # F: scales the weight equation's current, not physical
PWL_PER_LINE = 6  # time-value pairs per continuation line of a PWL source

WEIGHT_ELEMENTS = [
    ".func ft_dw(ud, dk, wv) {(ud > 0 ? wv - wmax : (ud < 0 ? wv - wmin : 0))"
    "*ln(max(1 - kf*spread*dk/(ud >= 0 ? kref_pos : kref_neg), 1e-300))/tp}",
    "* weight node w = w - w0: du/dt = u ln(1 - kf spread delta/delta_ref)/tp, u the distance to the bound",
    "Bw 0 w I = Cw*ft_dw(V(p,n), V(k), w0 + V(w))",
    "Cw w 0 {Cw}",
    "Rw w 0 {Rs}",
]


@dataclass(frozen=True)
class Timing:
    """Pulse shape [s]: edges of t_edge and a flat top of t_pulse."""

    edge: float
    pulse: float

    @property
    def slot(self) -> float:
        return 5.0 * self.edge + self.pulse

    def end(self, slots: int) -> float:
        """Time after the last of `slots` slots [s]."""
        return 2.0 * self.edge + slots * self.slot


@dataclass(frozen=True)
class Slot:
    """One pulse slot: its polarity and the flat-top potentials of the drivers [V]."""

    polarity: int
    rows: np.ndarray
    cols: np.ndarray
    gates: np.ndarray | None


def cell_parameters(model: CompactModel, device: DeviceModel, thermal_capacitance: float) -> list:
    """The device's parameters plus the weight law's (kf, rate references, bounds)."""
    law_delta = {p: float(model.delta_per_pulse(device.write_voltage(p))) for p in (1, -1)}
    return model_parameters(model, thermal_capacitance) + [
        ("kf", 2.0 * device.dw_min / device.span, "step of one write pulse at mid-range / half the span [1]"),
        ("spread", 1.0, "device-to-device prefactor of the step [1] (per instance)"),
        ("kref_pos", law_delta[1], "delta of the fitted law at V_write > 0 [1]"),
        ("kref_neg", law_delta[-1], "delta of the fitted law at V_write < 0 [1]"),
        ("wmin", device.w_min, "lower weight bound [1]"),
        ("wmax", device.w_max, "upper weight bound [1]"),
        ("w0", 0.0, "initial weight [1] (per instance)"),
        ("Cw", WEIGHT_CAPACITANCE, "capacitance of the weight integrator [F] (a scale, not physical)"),
    ]


def slots_of(lines: LineNetwork, row_trains: np.ndarray, col_trains: np.ndarray,
             row_signs: np.ndarray, col_signs: np.ndarray) -> list[Slot]:
    """The slots of one update in the phase order of solver.crossbar.array, idle ones left out."""
    from solver.crossbar.array import PHASES

    slots = []
    for s, t in PHASES:
        for k in range(row_trains.shape[0]):
            rows = row_trains[k] & (row_signs == s)
            cols = col_trains[k] & (col_signs == t)
            if rows.any() or cols.any():
                row_v, col_v, gate_v = lines.slot_potentials(s * t, rows, cols)
                slots.append(Slot(s * t, row_v, col_v, gate_v))
    return slots


def _pwl(name: str, node: str, points: list[tuple[float, float]]) -> list[str]:
    pairs = [f"{number(t)} {number(v)}" for t, v in points]
    lines = [f"{name} {node} 0 PWL("]
    for start in range(0, len(pairs), PWL_PER_LINE):
        lines.append("+ " + " ".join(pairs[start:start + PWL_PER_LINE]))
    lines.append("+ )")
    return lines


def _waveform(values: list[float], timing: Timing, gate: bool) -> list[tuple[float, float]]:
    """PWL points of one line (or gate) over the slots; it rests at 0 V between them."""
    points = [(0.0, 0.0)]
    for k, value in enumerate(values):
        if value == 0.0:
            continue
        start = timing.edge + k * timing.slot
        if gate:
            times = (start, start + timing.edge, start + 3 * timing.edge + timing.pulse,
                     start + 4 * timing.edge + timing.pulse)
        else:
            times = (start + timing.edge, start + 2 * timing.edge, start + 2 * timing.edge + timing.pulse,
                     start + 3 * timing.edge + timing.pulse)
        points += [(times[0], 0.0), (times[1], value), (times[2], value), (times[3], 0.0)]
    return points


def array_netlist(model: CompactModel, device: DeviceModel, lines: LineNetwork, slots: list[Slot],
                  timing: Timing, prefactor: np.ndarray, initial: np.ndarray,
                  thermal_capacitance: float, transistor: dict | None = None) -> str:
    """Netlist text (no `.control`, no `.end`) of the array and its drives. `transistor`
    holds the level-1 parameters vto [V], kp [A/V^2], w and l [m] for 1T1R."""
    n_rows, n_cols = lines.rows, lines.cols
    out = [f"* filatherm {n_rows}x{n_cols} {lines.cell} crossbar, {lines.scheme}, "
           f"R_line = {lines.resistance:g} Ohm per segment, {len(slots)} slots",
           # Tight node tolerances: the step depends steeply on the device voltage. A loose
           # truncation-error factor: it halves the time points and moves no step by 0.1 %.
           ".options reltol=1e-5 abstol=1e-12 vntol=1e-8 chgtol=1e-18 trtol=1000",
           subcircuit_text(CELL_NAME, cell_parameters(model, device, thermal_capacitance),
                           model, WEIGHT_ELEMENTS).rstrip("\n")]
    if lines.cell == "1T1R":
        fet = transistor
        out.append(f".model ft_nfet nmos level=1 vto={number(fet['vto'])} kp={number(fet['kp'])} "
                   "gamma=0 lambda=0")
    resistive = lines.resistance > 0

    def row_node(i: int, j: int) -> str:
        return f"r{i}_{j}" if resistive else f"rd{i}"

    def col_node(i: int, j: int) -> str:
        return f"c{i}_{j}" if resistive else f"cd{j}"

    for i in range(n_rows):
        out += _pwl(f"Vr{i}", f"rd{i}", _waveform([float(s.rows[i]) for s in slots], timing, False))
        if lines.cell == "1T1R":
            out += _pwl(f"Vg{i}", f"g{i}", _waveform([float(s.gates[i]) for s in slots], timing, True))
    for j in range(n_cols):
        out += _pwl(f"Vc{j}", f"cd{j}", _waveform([float(s.cols[j]) for s in slots], timing, False))
    if resistive:
        r = number(lines.resistance)
        for i in range(n_rows):
            out.append(f"Rr{i}_0 rd{i} r{i}_0 {r}")
            out += [f"Rr{i}_{j} r{i}_{j - 1} r{i}_{j} {r}" for j in range(1, n_cols)]
        for j in range(n_cols):
            out.append(f"Rc{n_rows - 1}_{j} cd{j} c{n_rows - 1}_{j} {r}")
            out += [f"Rc{i}_{j} c{i + 1}_{j} c{i}_{j} {r}" for i in range(n_rows - 2, -1, -1)]
    for i in range(n_rows):
        for j in range(n_cols):
            params = f"spread={number(prefactor[i, j])} w0={number(initial[i, j])} Cth={number(thermal_capacitance)}"
            if lines.cell == "1R":
                out.append(f"Xc{i}_{j} {row_node(i, j)} {col_node(i, j)} {CELL_NAME} {params}")
            else:
                out.append(f"Xc{i}_{j} {row_node(i, j)} b{i}_{j} {CELL_NAME} {params}")
                out.append(f"M{i}_{j} b{i}_{j} g{i} {col_node(i, j)} 0 ft_nfet "
                           f"w={number(fet['w'])} l={number(fet['l'])}")
    return "\n".join(out) + "\n"


def weight_vectors(rows: int, cols: int) -> list[str]:
    """ngspice names of every cell's weight node (it holds w - w0), row-major."""
    return [f"v(xc{i}_{j}.w)" for i in range(rows) for j in range(cols)]
