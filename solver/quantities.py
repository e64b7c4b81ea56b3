"""Quantities of interest: name, unit, meaning and how each is computed, in one table.

Everything that lists QoIs derives from this table: the QoI record of a solve (qoi.json,
solver.fem.qoi), the sweep store's columns with their HDF5 `units`/`description` attributes
and CSV header (solver.sweep.store), the transient series (series.csv), what the compact-model
fit requires of a sweep (solver.compact.table), and the tables of docs/outputs.md (a test
keeps them in step).

`compute` reads a solved state (solver.fem.qoi.SolvedState: the converged problem, the drive,
the coordinate system); it runs only for a converged solve, and a failed one records `NaN`
(or what `on_failure` gives: the drive of a failed voltage-controlled point is still known).

Adding a QoI: one `Quantity(...)` entry in the right tuple below, plus a test. It then appears
in qoi.json, sweep.h5/.csv (with its unit) and the docs table without further edits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

NAN = math.nan


@dataclass(frozen=True)
class Quantity:
    name: str
    unit: str  # SI; "1" for a dimensionless number, "-" for text and flags
    description: str
    compute: Optional[Callable[[Any], Any]] = None
    on_failure: Optional[Callable[[Any], Any]] = None
    kind: str = "number"  # number | integer | flag | text
    required: bool = False  # finite in every solved row: the stages downstream rely on it

    def value(self, state) -> Any:
        if self.compute is None:
            raise ValueError(f"quantity {self.name} is not computed from a solved state")
        if state.converged:
            return self.compute(state)
        return self.on_failure(state) if self.on_failure is not None else NAN


def _ratio(a: float, b: float) -> float:
    return a / b if b != 0 else NAN


# ---------------------------------------------------------------- a steady solve


STEADY = (
    Quantity("voltage_applied", "V", "the drive at the driven terminal: the applied voltage (at a current "
             "terminal: the terminal's potential)", lambda s: s.voltage_applied,
             on_failure=lambda s: NAN if s.current_mode else s.drive, required=True),
    Quantity("voltage_device", "V", "potential of the driven terminal against ground: the voltage across "
             "the cell (the applied voltage less the drop over a series resistor)",
             lambda s: s.voltage_device, required=True),
    Quantity("current", "A", "current into the driven terminal, from the reaction of the charge equation",
             lambda s: s.current, required=True),
    Quantity("resistance", "Ohm", "voltage_device / current", lambda s: _ratio(s.voltage_device, s.current)),
    Quantity("power", "W", "electrical power into the cell: voltage_device x current (with terminals at "
             "fractions of it: the sum of potential x current over the terminals)",
             lambda s: s.power, required=True),
    Quantity("T_max", "K", "hottest temperature in the cell", lambda s: s.hottest[0], required=True),
)
# The hottest point's coordinates: one column per axis of the coordinate system (T_max_r,
# T_max_z in the axisymmetric cell), in metres.
HOTTEST_POSITION = Quantity("T_max_{axis}", "m", "{axis} coordinate of the hottest point",
                            lambda s, i: s.hottest[1][i])
BALANCES = (
    Quantity("heat_out", "W", "heat leaving through all boundaries: the boundary flux of "
             "(-kappa grad T + S T J).n of the discrete fields", lambda s: s.heat_out),
    Quantity("energy_balance", "1", "|power - heat_out| / |power|: energy conservation of the discrete fields "
             "(falls with the mesh size, O(h) for P1; solver/fem/balances.py)",
             lambda s: _ratio(abs(s.power - s.heat_out), abs(s.power))
             if s.current != 0 else 0.0),
    Quantity("current_balance", "1", "|I_grounds - current| / |current|: the current leaving through the "
             "grounds and the terminals at a fraction of the drive (boundary flux of J) against the terminal "
             "current (falls with the mesh size)",
             lambda s: _ratio(abs(s.ground_current - s.current), abs(s.current)) if s.current != 0 else 0.0),
    Quantity("matrix_current_share", "1", "the largest height-mean share of the current through a "
             "layer's matrix, bypassing its filament (NaN without a filament, and in a tile)", lambda s: s.matrix_share),
)

# Statistics of a probe region (columns probes/<probe>/<stat>).
PROBE = (
    Quantity("T_mean", "K", "volume-mean temperature of the probe region", lambda p: p["T_mean"]),
    Quantity("T_max", "K", "hottest temperature (nodal) in the probe region", lambda p: p["T_max"]),
    Quantity("E_mean", "V/m", "volume-mean field magnitude |grad phi| in the probe region", lambda p: p["E_mean"]),
    Quantity("E_max", "V/m", "largest field magnitude (per cell) in the probe region", lambda p: p["E_max"]),
)

# How a solve went.
BOOKKEEPING = (
    Quantity("converged", "-", "1 if the solve converged (status ok), else 0", kind="flag"),
    Quantity("status", "-", "ok | runaway | unphysical | diverged | no_convergence | failed (docs/outputs.md)", kind="text"),
    Quantity("reason", "-", "why a point failed (empty when ok)", kind="text"),
    Quantity("newton_iterations", "1", "Newton iterations of the final solve at the point (chord "
             "iterations with a kept Jacobian included)", kind="integer"),
    Quantity("dofs", "1", "degrees of freedom of the discrete problem", kind="integer"),
    Quantity("wall_time_s", "s", "wall time of the point", ),
)
CONDITIONAL = (
    Quantity("current_target", "A", "the set current of a current-controlled terminal"),
    Quantity("last_converged_drive", "V", "a failed point: the last drive (V, or A at a current terminal) "
             "where the branch converged"),
)
CONTINUATION = (
    Quantity("continuation_solves", "1", "Newton solves on the way from rest to the point", kind="integer"),
    Quantity("total_newton_iterations", "1", "Newton iterations of all those solves", kind="integer"),
)

# Sweep rows (sweep.h5, sweep.csv).
SWEEP = (
    Quantity("point_id", "-", "stable id of the point: a hash of its drive and swept parameters", kind="text"),
    Quantity("point_index", "1", "position of the point in the sweep plan (the table's row order)",
             kind="integer"),
    Quantity("drive", "V", "the swept drive of the point: the terminal voltage (V; A at a current terminal), "
             "or a transient sweep's pulse amplitude"),
)

# ---------------------------------------------------------------- a pulse (transient)

SERIES = (
    Quantity("time", "s", "time since the pulse train started"),
    Quantity("voltage_applied", "V", "drive at the terminal"),
    Quantity("voltage_device", "V", "voltage across the cell"),
    Quantity("current", "A", "current into the driven terminal"),
    Quantity("T_max", "K", "hottest temperature in the cell"),
)
SERIES_PROBE = PROBE
# A pulse train: qoi.json of a transient solve (these first, the end state under `end_state`)
# and one row of a transient sweep. The peaks are what a device engineer reads off a pulse.
PULSE = (
    Quantity("pulse_amplitude", "V", "amplitude of the pulse (V, or A at a current terminal)", required=True),
    Quantity("pulse_width", "s", "time at full amplitude"),
    Quantity("pulse_count", "1", "pulses in the train", kind="integer"),
    Quantity("peak_T_max", "K", "highest T_max over the pulse train", required=True),
    Quantity("peak_T_max_time", "s", "when it was reached (from the start of the train)"),
    Quantity("peak_current", "A", "the current of largest magnitude over the train (signed)"),
    Quantity("switching", "1", "integral of the kinetics' switching rate at the probe's T and |E| over the train "
             "(the state change it drives, in the units of kinetics.target_delta); NaN without kinetics"),
    Quantity("switching_per_pulse", "1", "switching / pulse_count"),
    Quantity("rise_time_90", "s", "time from the pulse start until T_max first reaches 90% of its rise at the "
             "end of the first plateau (a rise time, not an exponential time constant)"),
    Quantity("steps", "1", "accepted time steps", kind="integer"),
    Quantity("rejected_steps", "1", "rejected time steps (error control or Newton failure)", kind="integer"),
    Quantity("end_time", "s", "time reached"),
    Quantity("energy_in", "J", "electrical energy delivered over the pulse, int U I dt"),
    Quantity("energy_stored", "J", "heat stored in the cell over the pulse, int C dT dV"),
    Quantity("energy_out", "J", "heat leaving through the boundaries over the pulse (boundary fluxes)"),
    Quantity("pulse_energy_balance", "1", "|energy_in - energy_stored - energy_out| / energy_in"),
)
# Per probe over a pulse train (qoi.json `probes.<probe>.<name>`; sweep column probes/<probe>/<name>).
PULSE_PROBE = (
    Quantity("peak_T_mean", "K", "highest volume-mean temperature of the probe region over the train",
             lambda p: p["peak_T_mean"]),
    Quantity("peak_T_max", "K", "highest temperature in the probe region over the train", lambda p: p["peak_T_max"]),
    Quantity("peak_E_mean", "V/m", "largest volume-mean field magnitude in the probe region over the train",
             lambda p: p["peak_E_mean"]),
)


# ---------------------------------------------------------------- lookup


def axes_quantities(axes: tuple[str, ...]) -> tuple[Quantity, ...]:
    """The hottest-point columns of a coordinate system with these axis names."""
    template = HOTTEST_POSITION
    return tuple(Quantity(template.name.format(axis=axis), template.unit, template.description.format(axis=axis),
                          lambda s, i=i: template.compute(s, i)) for i, axis in enumerate(axes))


def steady_quantities(axes: tuple[str, ...]) -> tuple[Quantity, ...]:
    """Every scalar quantity of a steady QoI record, in record order."""
    return STEADY + axes_quantities(axes) + BALANCES


_ALL_AXES = ("r", "z", "x", "y")
_BY_NAME = {q.name: q for q in STEADY + axes_quantities(_ALL_AXES) + BALANCES + BOOKKEEPING
            + CONDITIONAL + CONTINUATION + SWEEP + PULSE}
_PROBE_BY_NAME = {q.name: q for q in PROBE + PULSE_PROBE}
_SERIES_BY_NAME = {q.name: q for q in SERIES}

REQUIRED = tuple(q.name for q in STEADY if q.required)
REQUIRED_PULSE = tuple(q.name for q in PULSE if q.required)  # of a transient sweep's solved rows
COLUMN_ORDER = tuple(q.name for q in STEADY + axes_quantities(_ALL_AXES) + BALANCES + PULSE + BOOKKEEPING
                     if q.kind != "text")
TEXT_COLUMNS = tuple(q.name for q in SWEEP + BOOKKEEPING if q.kind == "text")


def split_header(cell: str) -> tuple[str, str]:
    """`name [unit]` (a CSV header cell written by filatherm) -> (name, unit)."""
    if cell.endswith("]") and " [" in cell:
        name, unit = cell[:-1].rsplit(" [", 1)
        return name, unit
    return cell, ""


def describe(column: str, length_unit: Optional[str] = None, state_unit: Optional[str] = None) -> Quantity:
    """The quantity of a record key or table column: `current`, `probes/<probe>/T_mean`,
    `parameters/<key path>`, `<probe>.T_mean` (series.csv). KeyError for an unknown name:
    nothing is written without a unit. A swept parameter's unit may be the config's own
    (`length_unit`, `state_unit`: see `config_units`)."""
    if column.startswith("probes/"):
        _, probe, stat = column.split("/")
        q = _PROBE_BY_NAME[stat]
        return Quantity(column, q.unit, f"{q.description} '{probe}'", kind=q.kind)
    if column.startswith("parameters/"):
        path = column[len("parameters/"):]
        return Quantity(column, parameter_unit(path, length_unit, state_unit), f"swept config value {path}")
    if column in _BY_NAME:
        return _BY_NAME[column]
    if column in _SERIES_BY_NAME:
        return _SERIES_BY_NAME[column]
    if "." in column:
        probe, stat = column.split(".", 1)
        q = _PROBE_BY_NAME[stat]
        return Quantity(column, q.unit, f"{q.description} '{probe}'")
    raise KeyError(f"{column}: not a registered quantity (solver.quantities)")


LENGTH_UNIT = "config length unit (units)"
STATE_UNIT = "unit of the state"  # the schema's "[...]" for numbers in the state's own unit


def config_units(data: Optional[dict]) -> dict:
    """`length_unit` and `state_unit` of a (raw or resolved) config mapping, for `describe`
    and `parameter_unit`: a stored table knows its config, so its columns name real units."""
    data = data if isinstance(data, dict) else {}
    state = data.get("state") if isinstance(data.get("state"), dict) else {}
    length, unit = data.get("units"), state.get("unit")
    return {"length_unit": length if isinstance(length, str) else None,
            "state_unit": unit if isinstance(unit, str) else None}


def parameter_unit(path: str, length_unit: Optional[str] = None, state_unit: Optional[str] = None) -> str:
    """Unit of a swept config key: the config's length unit for geometry, mesh and probes,
    else the "[unit]" in the schema field's description (for a law's `value`, the unit of the
    material property it gives; for the state and numbers in its unit, the state's unit), "1"
    when there is none. Without the config's units, the placeholders name where they are."""
    head = path.split(".")[0].split("[")[0]
    if head in ("units", "geometry", "mesh", "probes"):
        return length_unit or LENGTH_UNIT
    from solver.config.schema import Config  # lazily: the registry itself is dependency-free

    units = _field_units(Config, path)
    unit = units[-1] if units and units[-1] else None
    if unit is None and path.endswith(".value") and len(units) > 1 and units[-2]:
        unit = units[-2]
    if unit == STATE_UNIT:
        return state_unit or f"{STATE_UNIT} (state.unit)"
    return unit or "1"


def _field_units(model, path: str) -> list[Optional[str]]:
    """The "[unit]" of each schema field along a key path (None where a field has none);
    mapping keys (material and probe names) and list indices are stepped over."""
    import re
    import typing

    from pydantic import BaseModel

    def models_in(annotation) -> list:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return [annotation]
        return [m for arg in typing.get_args(annotation) for m in models_in(arg)]

    units: list[Optional[str]] = []
    candidates = [model]
    parts = re.sub(r"\[\d+\]", "", path).split(".")
    skip_key = False
    for part in parts:
        if skip_key:
            skip_key = False
            continue
        field = next((m.model_fields[part] for m in candidates if part in m.model_fields), None)
        if field is None:  # a key of a section keyed by name (electrical.top, thermal.bottom)
            extra = [typing.get_type_hints(m).get("__pydantic_extra__") for m in candidates]
            extra = [typing.get_args(a)[1] for a in extra if a is not None]
            if not extra:
                return units
            units.append(None)
            candidates = [m for a in extra for m in models_in(a)]
            continue
        match = re.search(r"\[([^\]]+)\]", field.description or "")
        units.append(match.group(1) if match else None)
        skip_key = typing.get_origin(field.annotation) is dict or any(
            typing.get_origin(a) is dict for a in typing.get_args(field.annotation))
        candidates = models_in(field.annotation)
    return units


# ---------------------------------------------------------------- docs/outputs.md

OUTPUTS_DOC = Path(__file__).resolve().parents[1] / "docs" / "outputs.md"
_BEGIN = "<!-- BEGIN GENERATED QUANTITY TABLES (python scripts/generate_docs.py) -->"
_END = "<!-- END GENERATED QUANTITY TABLES -->"


def _table(title: str, rows: tuple[Quantity, ...]) -> list[str]:
    lines = [f"**{title}**", "", "| name | unit | meaning |", "|---|---|---|"]
    lines += [f"| `{q.name}` | {q.unit} | {q.description.replace('|', chr(92) + '|')} |" for q in rows]
    return lines + [""]


def outputs_tables() -> str:
    """The generated part of docs/outputs.md: every registered quantity with its unit."""
    lines = [_BEGIN, ""]
    lines += _table("A steady solve (qoi.json; one sweep row). `T_max_<axis>`: one per axis of the coordinate "
                    "system (`r`, `z` in the axisymmetric cell)", STEADY + (HOTTEST_POSITION,) + BALANCES)
    lines += _table("Per probe (qoi.json `probes.<probe>.<name>`; sweep column `probes/<probe>/<name>`)", PROBE)
    lines += _table("How the solve went", BOOKKEEPING)
    lines += _table("Where they apply (a current terminal; a failed point)", CONDITIONAL)
    lines += _table("`filatherm solve` only (qoi.json)", CONTINUATION)
    lines += _table("Sweep rows only (sweep.h5, sweep.csv)", SWEEP)
    lines += _table("series.csv of a pulse (plus `<probe>.T_mean`, `<probe>.T_max`, `<probe>.E_mean`, "
                    "`<probe>.E_max`)", SERIES)
    lines += _table("A pulse train: its qoi.json (the end state under `end_state`) and one row of a transient "
                    "sweep", PULSE)
    lines += _table("Per probe over a pulse train (qoi.json `probes.<probe>.<name>`; sweep column "
                    "`probes/<probe>/<name>`)", PULSE_PROBE)
    lines += [_END]
    return "\n".join(lines)


def current_outputs_tables() -> str:
    text = OUTPUTS_DOC.read_text()
    return text[text.index(_BEGIN): text.index(_END) + len(_END)]


def updated_outputs_doc() -> str:
    text = OUTPUTS_DOC.read_text()
    return text[:text.index(_BEGIN)] + outputs_tables() + text[text.index(_END) + len(_END):]
