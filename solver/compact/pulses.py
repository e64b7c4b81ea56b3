"""Pulse response of a device with a state (`filatherm pulses`): what the dynamic compact model
(solver.compact.dynamic) does under trains of identical pulses.

- Pulse maps: the state change dN of one pulse (width `kinetics.pulse_width`, edges of
  `analysis.pulse`) as a function of the state N, for pulses at +/-V_write, +/-V_write/2 and
  +/-V_write/3 (V_write of each polarity from the figures of merit), tabulated on a log grid in
  N and interpolated (dN/N is smooth in ln N).
- Conductance G(N) = I / V_read at the read voltage, steady state.
- LTP / LTD: G after each of `pulses.max_pulses` pulses at +V_write from the state's minimum
  (HRS) and at -V_write from its maximum (LRS).
- Distinguishable states: the levels of the LTP (LTD) train from one end of the window to the
  other, a new level each time G has moved by `pulses.resolution` since the last one (so
  pulses whose steps are below the resolution merge into one level).
- Symmetry point: the state where a potentiating and a depressing pulse move G by equal
  amounts; up/down asymmetry (dG_up - |dG_down|) / (dG_up + |dG_down|) along the window.
- Half-select ratio k = dG(V_write/2) / dG(V_write) per polarity at every solved state (and
  V/3), and the change of G after `crossbar.disturb_pulses` half-select pulses, as a fraction of
  the window: the figures of merit of the seed study (k < 0.005 measured after 100k pulses).

    response = pulse_response(DynamicModel.load(path), config)   -> PulseResponse
    write_pulses(response, RESULTS_DIR / "pulses")                 -> pulses.json, *.png
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from scipy.integrate import solve_ivp

from solver.compact.dynamic import DynamicModel
from solver.errors import InputError
from solver.io import write_json_atomic

GRID_POINTS = 241  # states in the pulse maps
FRACTIONS = (1.0, 0.5, 1.0 / 3.0)  # V_write, V_write/2, V_write/3


@dataclass
class PulseMap:
    """dN of one pulse of `voltage` [V] at each grid state N (log-interpolated)."""

    voltage: float
    grid: np.ndarray
    change: np.ndarray

    def __call__(self, N) -> np.ndarray:
        N = np.asarray(N, dtype=float)
        relative = np.interp(np.log(N), np.log(self.grid), self.change / self.grid)
        return relative * N


@dataclass
class PulseResponse:
    """What `filatherm pulses` reports (pulses.json; SI units, G in S, states in the state's unit)."""

    state_name: str
    state_unit: str
    read_voltage: float
    pulse_width: float
    write_voltage: dict[str, float]
    window: dict[str, float]  # N_min, N_max, G_min, G_max
    ltp: dict[str, list]  # pulse, state, conductance
    ltd: dict[str, list]
    states_up: int
    states_down: int
    resolution: float
    symmetry_point: dict[str, Optional[float]]  # state, conductance
    asymmetry: dict[str, list]  # conductance, asymmetry
    steps: dict[str, list]  # state, conductance, dG_up, dG_down (one pulse at +/-V_write)
    half_select: list[dict]  # per solved state: k and disturbance per polarity and fraction
    disturb_pulses: int

    @property
    def states(self) -> int:
        return min(self.states_up, self.states_down)

    def to_data(self) -> dict:
        data = asdict(self)
        data["states"] = self.states
        return data

    @classmethod
    def from_data(cls, data: dict) -> PulseResponse:
        """A response read back from pulses.json."""
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def pulse_maps(model: DynamicModel, voltages: list[float], width: float, rise: float, fall: float,
               points: int = GRID_POINTS, say: Callable[[str], None] = lambda text: None) -> dict[float, PulseMap]:
    low, high = model.state_range
    grid = np.geomspace(low, high, points)
    maps = {}
    for voltage in voltages:
        say(f"pulse map at {voltage:+.4g} V ({points} states)")
        maps[voltage] = PulseMap(voltage, grid, model.pulse(grid, voltage, width, rise, fall))
    return maps


def train(start: float, step: PulseMap, pulses: int) -> np.ndarray:
    """States after 0, 1, ..., `pulses` identical pulses from `start` (within the map's range)."""
    low, high = step.grid[0], step.grid[-1]
    states = np.empty(pulses + 1)
    states[0] = start
    for k in range(pulses):
        states[k + 1] = min(max(states[k] + float(step(states[k])), low), high)
    return states


def distinguishable(conductance: np.ndarray, target: float, resolution: float) -> int:
    """Levels of a pulse train: the start, then one each time G has moved by `resolution`
    since the last level, until G is within `resolution` of `target` (or the train ends)."""
    rising = conductance[-1] >= conductance[0]
    level, count = conductance[0], 1
    for value in conductance[1:]:
        if abs(value - level) >= resolution:
            level, count = value, count + 1
        if abs(target - value) < resolution or ((value >= target) if rising else (value <= target)):
            break
    return count


def after_pulses(start: float, step: PulseMap, pulses: int) -> float:
    """The state after `pulses` pulses whose single steps are tiny: dN/dk = dN(N) integrated
    in the pulse count k (exact for steps far below N)."""
    low, high = step.grid[0], step.grid[-1]
    solution = solve_ivp(lambda k, y: step(np.clip(y, low, high)), (0.0, float(pulses)), [start],
                         rtol=1e-10, atol=1e-30 * max(start, 1.0))
    return float(np.clip(solution.y[0, -1], low, high))


def pulse_response(model: DynamicModel, config, say: Callable[[str], None] = lambda text: None) -> PulseResponse:
    """The pulse response of a fitted device with a state (see the module docstring)."""
    document = model.document
    if document is None or document.state is None:
        raise InputError("pulses: the compact model has no device state (fit a sweep over `state.value` "
                         "with a kinetics law that moves the state, e.g. vacancy_hopping)")
    merit = document.figures_of_merit
    write = {"positive": merit.V_write.positive, "negative": merit.V_write.negative}
    for polarity, value in write.items():
        if value is None:
            raise InputError(f"pulses: no V_write on the {polarity} side (extend sweep.voltage)")
    settings = config.pulses
    pulse = config.analysis.pulse
    rise, fall = (pulse.rise, pulse.fall) if pulse is not None else (0.0, 0.0)
    width = model.kinetics.pulse_width
    voltages = [fraction * write[p] for p in write for fraction in FRACTIONS]
    maps = pulse_maps(model, voltages, width, rise, fall, settings.grid_points, say)
    up, down = maps[write["positive"]], maps[write["negative"]]

    low, high = model.state_range
    G = lambda N: model.conductance(N, settings.read_voltage)  # noqa: E731
    G_min, G_max = float(G(low)), float(G(high))
    say(f"LTP / LTD: {settings.max_pulses} pulses each at {write['positive']:+.3f} / {write['negative']:+.3f} V")
    ltp_states = train(low, up, settings.max_pulses)
    ltd_states = train(high, down, settings.max_pulses)
    ltp_G, ltd_G = G(ltp_states), G(ltd_states)

    grid = np.geomspace(low, high, 200)
    dG_up = G(grid + up(grid)) - G(grid)
    dG_down = G(grid + down(grid)) - G(grid)
    asymmetry = (dG_up - np.abs(dG_down)) / (dG_up + np.abs(dG_down))
    crossing = np.flatnonzero(np.diff(np.sign(asymmetry)) != 0)
    symmetry = {"state": None, "conductance": None}
    if len(crossing):
        i = crossing[0]
        share = asymmetry[i] / (asymmetry[i] - asymmetry[i + 1])
        state = float(np.exp(np.log(grid[i]) + share * (np.log(grid[i + 1]) - np.log(grid[i]))))
        symmetry = {"state": state, "conductance": float(G(state))}

    half_select = []
    window = G_max - G_min
    for N in model.states:
        entry: dict = {"state": float(N), "conductance": float(G(N))}
        for polarity, sign in (("positive", 1.0), ("negative", -1.0)):
            full = float(G(N + maps[write[polarity]](N)) - G(N))
            for fraction, label in ((0.5, "half"), (1.0 / 3.0, "third")):
                part = maps[fraction * write[polarity]]
                entry[f"k_{label}_{polarity}"] = float((G(N + part(N)) - G(N)) / full) if full else None
                if label == "half":
                    moved = after_pulses(float(N), part, config.crossbar.disturb_pulses)
                    entry[f"disturbance_{polarity}"] = float(abs(G(moved) - G(N)) / window)
        half_select.append(entry)

    return PulseResponse(
        state_name=document.state.name, state_unit=document.state.unit, read_voltage=settings.read_voltage,
        pulse_width=width, write_voltage=write,
        window={"state_min": low, "state_max": high, "G_min": G_min, "G_max": G_max},
        ltp={"pulse": list(range(len(ltp_states))), "state": ltp_states.tolist(), "conductance": ltp_G.tolist()},
        ltd={"pulse": list(range(len(ltd_states))), "state": ltd_states.tolist(), "conductance": ltd_G.tolist()},
        states_up=distinguishable(ltp_G, G_max, settings.resolution),
        states_down=distinguishable(ltd_G, G_min, settings.resolution),
        resolution=settings.resolution, symmetry_point=symmetry,
        asymmetry={"conductance": G(grid).tolist(), "asymmetry": asymmetry.tolist()},
        steps={"state": grid.tolist(), "conductance": G(grid).tolist(), "dG_up": dG_up.tolist(),
               "dG_down": dG_down.tolist()},
        half_select=half_select, disturb_pulses=config.crossbar.disturb_pulses,
    )


def write_pulses(response: PulseResponse, out: Path) -> list[Path]:
    """pulses.json and the figures (solver.compact.pulse_plots) into OUT."""
    from solver.compact.pulse_plots import plot_pulses

    return [write_json_atomic(Path(out) / "pulses.json", {"format": "filatherm-pulses", "version": 1,
                                                          **response.to_data()}),
            plot_pulses(Path(out) / "pulses.png", response)]


def run_pulses(results, output=None, overrides=(), force: bool = False,
               say: Callable[[str], None] = lambda text: None) -> tuple[PulseResponse, list[Path]]:
    """`filatherm pulses`: the compact model named by RESULTS (a results directory or a
    compact_model.json), its stored config with `--set` of the post-FEM sections, the response
    written to RESULTS/pulses/ (or OUTPUT/pulses/); an existing one is replaced only with `force`."""
    from solver.crossbar.inputs import load_inputs

    inputs = load_inputs(results, output, overrides)
    out = inputs.root / "pulses"
    if (out / "pulses.json").exists() and not force:
        raise InputError(f"{out / 'pulses.json'}: exists; use --force to overwrite it")
    model = DynamicModel.from_document(inputs.model.document)
    response = pulse_response(model, inputs.config, say)
    return response, write_pulses(response, out)
