"""A lumped synthetic device with known parameters: sweeps and compact models without FEM.

Tests check the fit against it (known R_th, its rise, beta and the current law must come
back), and benchmarks and demos use it where no FEM sweep exists. The device is
self-consistent: a filament conductance that rises with temperature (NTC, Arrhenius), driven
by the applied voltage plus a thermoelectric EMF, heats itself through the lumped law the fit
assumes,

    T = T0 + R_th,b(P) P + beta_b I,    R_th,b(P) = R_th,b + dR_th,b (1 - exp(-P / P_R,b)),
    I = G0 exp(-Ea_sigma/k (1/T_c - 1/T0)) (V + S (T - T0)),    P = V I,

solved for T at each voltage. The conducting region runs hotter than the probe,
T_c - T0 = conduction_heating (T - T0), and the probe field is E = field_per_volt |V|
(1 + field_heating (T - T0)/T0): neither is exactly the fitted form unless
conduction_heating = 1 and field_heating = 0 (the field-activated current law holds any
conduction_heating), so by default the fit has a residual to report,
as it will with FEM data. Default numbers mimic the default FEM device (JART
v1b: R_th of order 1e7 K/W; tens of uA; a Peltier asymmetry of tens of K); they are assumed,
not measured. The rise of R_th and the EMF are off (0) by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from scipy.optimize import brentq

from solver.compact.model import CompactModel
from solver.compact.table import RateTable, probe_columns
from solver.config import Config, config_hash, config_to_yaml
from solver.constants import BOLTZMANN, ELEMENTARY_CHARGE
from solver.sweep.store import SweepWriter, flatten_record


@dataclass(frozen=True)
class LumpedDevice:
    """Known lumped parameters; `solve` gives the quantities a FEM sweep would report."""

    T0: float = 300.0  # K
    R_th_positive: float = 1.00e7  # K/W
    R_th_negative: float = 1.08e7  # K/W
    beta_positive: float = 4.0e5  # K/A
    beta_negative: float = 3.0e5  # K/A
    G0: float = 8.0e-6  # S at T0
    activation_sigma: float = 0.06  # eV, conductance activation energy
    field_per_volt: float = 6.0e7  # 1/m
    conduction_heating: float = 1.1  # (T_c - T0) / (T - T0)
    field_heating: float = 0.05  # relative field rise per T0 of heating
    delta_R_th_positive: float = 0.0  # K/W, rise of R_th at high power
    delta_R_th_negative: float = 0.0  # K/W
    power_scale_positive: float = 1.0e-4  # W, power scale of the rise
    power_scale_negative: float = 1.0e-4  # W
    seebeck: float = 0.0  # V/K, thermoelectric EMF per kelvin of probe heating

    def solve(self, voltage: Iterable[float]) -> dict[str, np.ndarray]:
        """current, power, T_probe, E_probe at each device voltage."""
        v = np.asarray(list(voltage), dtype=float)
        T = np.array([self._temperature(x) for x in v])
        current = self._current(v, T)
        field = self.field_per_volt * np.abs(v) * (1.0 + self.field_heating * (T - self.T0) / self.T0)
        return {"voltage": v, "current": current, "power": v * current, "T_probe": T, "E_probe": field}

    def _conductance(self, T):
        return self.G0 * np.exp(-self.activation_sigma * ELEMENTARY_CHARGE / BOLTZMANN
                                * (1.0 / T - 1.0 / self.T0))

    def _current(self, v, T):
        conductance = self._conductance(self.T0 + self.conduction_heating * (T - self.T0))
        return conductance * (v + self.seebeck * (T - self.T0))

    def _temperature(self, v: float) -> float:
        R_th, dR_th, P_R, beta = (
            (self.R_th_positive, self.delta_R_th_positive, self.power_scale_positive, self.beta_positive)
            if v >= 0 else
            (self.R_th_negative, self.delta_R_th_negative, self.power_scale_negative, self.beta_negative))

        def balance(T: float) -> float:
            current = self._current(v, T)
            power = v * current
            return self.T0 + (R_th + dR_th * (1.0 - np.exp(-power / P_R))) * power + beta * current - T

        # The lowest root: the steady state reached by raising the voltage from zero.
        grid = np.geomspace(0.2 * self.T0, 100.0 * self.T0, 2000)
        values = np.array([balance(T) for T in grid])
        k = int(np.argmax(values <= 0))
        return brentq(balance, grid[k - 1], grid[k], xtol=1e-13, rtol=1e-15)


def write_synthetic_sweep(directory: str | Path, config: Config, voltages: Iterable[float],
                          device: LumpedDevice = LumpedDevice(),
                          failures: dict[int, str] | None = None,
                          parameter_sets: list[tuple[dict, LumpedDevice]] | None = None) -> Path:
    """Write DIRECTORY/sweep.h5 as a FEM sweep of `device` would; `failures` maps a point
    index to the status it failed with (its QoIs are then NaN). With `parameter_sets`, each
    (swept parameter values, device) pair gets the whole voltage sweep instead."""
    if config.kinetics is None:
        raise ValueError("the config needs a kinetics block")
    failures = failures or {}
    voltages = list(voltages)
    T_stat, E_stat = (column.rsplit("/", 1)[1] for column in probe_columns(config.kinetics))
    writer = SweepWriter(directory, config_to_yaml(config), config_hash(config),
                         {"filatherm": "synthetic"}, min_rewrite_interval=1e9)
    writer.start(resume=False, force=True)
    index = 0
    for parameters, lumped in parameter_sets or [({}, device)]:
        solved = lumped.solve(voltages)
        for i, v in enumerate(solved["voltage"]):
            failed = failures.get(index)
            value = (lambda x: float("nan")) if failed else float
            T, E = value(solved["T_probe"][i]), value(solved["E_probe"][i])
            record = {
                "point_id": f"p{index:04d}", "status": failed or "ok", "reason": failed or "",
                "voltage_applied": float(v), "voltage_device": float(v),
                "current": value(solved["current"][i]), "power": value(solved["power"][i]),
                "resistance": value(v / solved["current"][i]) if v else float("nan"),
                "T_max": T, "T_max_r": 0.0, "T_max_z": 0.0, "heat_out": value(solved["power"][i]),
                "energy_balance": 0.0, "converged": 0 if failed else 1, "newton_iterations": 3,
                "dofs": 1000, "wall_time_s": 0.01,
                "probes": {config.kinetics.probe: {T_stat: T, E_stat: E}},
            }
            writer.append(flatten_record(record, parameters))
            index += 1
    writer.close()
    return Path(directory) / "sweep.h5"


def synthetic_rate_table(config: Config, voltages: Iterable[float],
                         device: LumpedDevice = LumpedDevice()) -> RateTable:
    """The rate table a sweep of `device` would give (no file involved)."""
    solved = device.solve(voltages)
    order = np.argsort(solved["voltage"])
    solved = {k: v[order] for k, v in solved.items()}
    rate = config.kinetics.rate(solved["T_probe"], solved["E_probe"])
    return RateTable(
        parameters={}, point_id=[f"p{i:04d}" for i in range(len(order))],
        voltage=solved["voltage"], voltage_applied=solved["voltage"], current=solved["current"],
        power=solved["power"], T_probe=solved["T_probe"], E_probe=solved["E_probe"], rate=rate,
        delta_per_pulse=rate * config.kinetics.pulse_width,
    )


def synthetic_compact_model(config: Config, voltages: Iterable[float] = np.linspace(-1.5, 1.5, 61),
                            device: LumpedDevice = LumpedDevice()) -> CompactModel:
    """A compact model fitted to `device` (for benchmarks and crossbar demos without FEM)."""
    from solver.compact.workflow import fit_table

    table = synthetic_rate_table(config, voltages, device)
    return fit_table(table, config, config_hash(config), {"filatherm": "synthetic"},
                     "synthetic", [])
