"""Rate tables: sweep rows -> (voltage, current, power, T_probe, E_probe, rate, delta_per_pulse).

One table per set of swept parameters (other than the voltage), covering the polarities swept
and sorted by device voltage. Failed points (status other than `ok`, not converged, non-finite
QoIs) and repeated voltages are left out and listed in `excluded`. A polarity branch needs at
least :data:`MIN_BRANCH_POINTS` converged points; a polarity with fewer gets no branch (a SET-only
sweep fits the positive branch and says the negative one is missing), and with neither the sweep
cannot be fitted (InputError, exit 2).

The voltage of the compact model is `voltage_device`: the voltage across the cell itself, so
that a series load in the FEM set-up does not end up inside the device model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from solver import quantities
from solver.errors import InputError
from solver.materials.kinetics import KineticsLaw
from solver.sweep.store import SweepTable

MIN_BRANCH_POINTS = 4
POLARITIES = {"positive": 1.0, "negative": -1.0}
# what a fit needs of every row: its id and status, and the quantities every solved row carries
_REQUIRED = ("point_id", "status") + quantities.REQUIRED


@dataclass(frozen=True)
class RateTable:
    """Converged points of one parameter set, sorted by device voltage (SI units)."""

    parameters: dict[str, Any]
    point_id: list[str]
    voltage: np.ndarray
    voltage_applied: np.ndarray
    current: np.ndarray
    power: np.ndarray
    T_probe: np.ndarray
    E_probe: np.ndarray
    rate: np.ndarray
    delta_per_pulse: np.ndarray
    excluded: list[dict] = field(default_factory=list)
    state: Optional[float] = None  # the device state of these points (None: the config has none)

    def branch(self, polarity: str) -> np.ndarray:
        """Boolean mask of the points of one polarity (`positive` or `negative`)."""
        return np.sign(self.voltage) == POLARITIES[polarity]

    @property
    def label(self) -> str:
        """The parameter set as `key=value, ...` (empty for a voltage-only sweep)."""
        return ", ".join(f"{k}={v}" for k, v in self.parameters.items())


def probe_columns(kinetics: KineticsLaw) -> tuple[str, str]:
    """Sweep columns of the probe temperature and field the kinetics use."""
    stat = kinetics.statistic
    return f"probes/{kinetics.probe}/T_{stat}", f"probes/{kinetics.probe}/E_{stat}"


STATE_KEY = "state.value"  # the swept device state, as a sweep parameter


def build_rate_tables(sweep: SweepTable, kinetics: KineticsLaw, where: str,
                      state: Optional[float] = None) -> list[RateTable]:
    """Rate tables of a sweep, one per parameter set, in order of first appearance. The device
    state of a table (for laws that depend on it) is its swept `state.value`, else `state`
    (the config's)."""
    T_col, E_col = probe_columns(kinetics)
    for name in _REQUIRED + (T_col, E_col):
        if name not in sweep.columns:
            hint = f" (does probe {kinetics.probe!r} exist?)" if name.startswith("probes/") else ""
            raise InputError(f"{where}: sweep has no column {name}{hint}")
    if len(sweep) == 0:
        raise InputError(f"{where}: the sweep has no points")
    parameter_columns = [f"parameters/{p}" for p in sweep.parameter_names]
    groups: dict[tuple, list[int]] = {}
    for i in range(len(sweep)):
        key = tuple(_plain(sweep[c][i]) for c in parameter_columns)
        groups.setdefault(key, []).append(i)
    tables = []
    for key, rows in groups.items():
        parameters = dict(zip(sweep.parameter_names, key))
        table_state = parameters.get(STATE_KEY, state)
        if kinetics.uses_state() and table_state is None:
            raise InputError(f"{where}: kinetics law {kinetics.law} depends on the device state; the config "
                             "needs a `state:` block")
        tables.append(_table_of_group(sweep, rows, parameters, kinetics, T_col, E_col, where, table_state))
    return tables


def _table_of_group(sweep: SweepTable, rows: list[int], parameters: dict, kinetics: KineticsLaw,
                    T_col: str, E_col: str, where: str, state: Optional[float]) -> RateTable:
    numeric = ("voltage_device", "voltage_applied", "current", "power", T_col, E_col)
    kept: list[int] = []
    excluded: list[dict] = []
    seen_voltages: set[float] = set()
    for i in rows:
        point = str(sweep["point_id"][i])
        status = str(sweep["status"][i])
        converged = sweep.columns.get("converged")
        reason = str(sweep.columns["reason"][i]) if "reason" in sweep.columns else ""
        if status != "ok" or (converged is not None and converged[i] != 1):
            excluded.append({"point_id": point, "status": status, "reason": reason})
            continue
        values = [float(sweep[c][i]) for c in numeric]
        if not all(math.isfinite(v) for v in values) or values[4] <= 0:
            excluded.append({"point_id": point, "status": status,
                             "reason": "non-finite or non-positive QoI"})
            continue
        if values[0] in seen_voltages:
            excluded.append({"point_id": point, "status": status, "reason": "repeated voltage"})
            continue
        seen_voltages.add(values[0])
        kept.append(i)
    kept = _polarities_with_enough_points(sweep, kept, excluded, parameters, where)
    order = sorted(kept, key=lambda i: float(sweep["voltage_device"][i]))

    def column(name: str) -> np.ndarray:
        return np.array([float(sweep[name][i]) for i in order], dtype=float)

    voltage, T, E = column("voltage_device"), column(T_col), column(E_col)
    with np.errstate(over="ignore", invalid="ignore"):
        rate = kinetics.rate(T, E, state, np.sign(voltage))
    if not np.all(np.isfinite(rate)):
        worst = float(T[~np.isfinite(rate)][0])
        raise InputError(f"{where}: the kinetics give a non-finite switching rate (at T_probe {worst:.1f} K); "
                         "check the kinetics parameters (e.g. kinetics.hop_distance)")
    table = RateTable(
        parameters=parameters,
        point_id=[str(sweep["point_id"][i]) for i in order],
        voltage=voltage,
        voltage_applied=column("voltage_applied"),
        current=column("current"),
        power=column("power"),
        T_probe=T,
        E_probe=np.abs(E),
        rate=rate,
        delta_per_pulse=rate * kinetics.pulse_width,
        state=state,
        excluded=excluded,
    )
    return table


def _polarities_with_enough_points(sweep: SweepTable, kept: list[int], excluded: list[dict], parameters: dict,
                                   where: str) -> list[int]:
    """The kept rows of the polarities that can be fitted: a polarity with fewer than
    MIN_BRANCH_POINTS converged points gets no branch (its points are listed as excluded, and
    fit says so); with neither polarity fittable the sweep cannot be fitted (exit 2)."""
    sign = {i: np.sign(float(sweep["voltage_device"][i])) for i in kept}
    counts = {name: sum(1 for i in kept if sign[i] == value) for name, value in POLARITIES.items()}
    if max(counts.values()) < MIN_BRANCH_POINTS:
        label = ", ".join(f"{k}={v}" for k, v in parameters.items())
        group = f" for {label}" if label else ""
        found = " and ".join(f"{count} with {name} voltage" for name, count in counts.items())
        raise InputError(f"{where}: only {found}{group} converged (the fit needs {MIN_BRANCH_POINTS} of one "
                         f"polarity at least; {len(excluded)} points failed)")
    for name, count in counts.items():
        if 0 < count < MIN_BRANCH_POINTS:
            for i in [i for i in kept if sign[i] == POLARITIES[name]]:
                excluded.append({"point_id": str(sweep["point_id"][i]), "status": "ok",
                                 "reason": f"only {count} {name} points: too few to fit that branch"})
            kept = [i for i in kept if sign[i] != POLARITIES[name]]
    return kept


def _plain(value: Any) -> Any:
    """A parameter value as plain Python (numpy scalars are not JSON)."""
    return value.item() if isinstance(value, np.generic) else value
