"""The measurement file of `filatherm calibrate` (docs/measurements.md): YAML or CSV.

What a device measurement can say, each kind with its unit (SI):

- `conductance`: G = I / V [S] at a read voltage [V] in a state;
- `iv`: a quasi-static current [A] at a voltage [V] in a state (one row per point);
- `switching`: the pulse amplitude [V] (its sign is the polarity) whose pulse of `width` [s]
  makes `delta` switching events (hops) in a state: delta = rate x width, rate from the
  config's kinetics at the probe's steady temperature and field (the pulse is long against
  the thermal time constant); default delta: kinetics.target_delta, the V_write criterion;
- `temperature`: a temperature [K] at a voltage (the probe's mean, its maximum, or the cell's);
- `thermal_resistance`: a lumped thermal resistance [K/W] at a voltage,
  (T_probe_mean - T_ambient) / P with P the power into the cell;
- `pulse_trains`: LTP/LTD curves, the conductance [S] read at `read_voltage` after each of a
  number of identical pulses (amplitude [V], width [s]) from a start state.

Every row has an `uncertainty` (absolute, in its unit) or a `relative_uncertainty`, else the
file's `defaults` for its kind, else the built-in default (DEFAULT_UNCERTAINTY). `state` is the
device state's value in the config's state unit (default: the config's `state.value`).

Files are read with the project's safe YAML loader (no tags, no aliases beyond a bound) or as
CSV; both are validated by the strict models below, and every error is one line naming the row.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import annotated_types
from pydantic import Field, ValidationError, field_validator, model_validator

from solver.base import Name, Positive, StrictModel
from solver.config.keypath import format_path
from solver.config.yamlio import parse_yaml
from solver.errors import InputError

FORMAT = "filatherm-measurements"
VERSION = 1
MAX_BYTES = 20_000_000  # a measurement file is data tables, not a data dump

KINDS = ("conductance", "iv", "switching", "temperature", "thermal_resistance", "pulse_trains")
# (measured field, unit) of each kind
MEASURED = {
    "conductance": ("conductance", "S"),
    "iv": ("current", "A"),
    "switching": ("amplitude", "V"),
    "temperature": ("temperature", "K"),
    "thermal_resistance": ("thermal_resistance", "K/W"),
    "pulse_trains": ("conductance", "S"),
}
# Built-in uncertainties: (absolute [unit of the kind], relative); one of the two.
DEFAULT_UNCERTAINTY = {
    "conductance": (None, 0.05),
    "iv": (None, 0.05),
    "switching": (0.02, None),
    "temperature": (10.0, None),
    "thermal_resistance": (None, 0.1),
    "pulse_trains": (None, 0.05),
}


Count = Annotated[int, annotated_types.Ge(0), annotated_types.Le(10_000_000)]  # pulses


def _nonzero(value: float) -> float:
    if value == 0:
        raise ValueError("must not be 0")
    return value


class Uncertain(StrictModel):
    uncertainty: Optional[Positive] = Field(default=None, description="absolute, in the unit of the measured value")
    relative_uncertainty: Optional[Positive] = Field(default=None, description="fraction of the measured value")

    @model_validator(mode="after")
    def _one_kind(self) -> "Uncertain":
        if self.uncertainty is not None and self.relative_uncertainty is not None:
            raise ValueError("relative_uncertainty: give uncertainty or relative_uncertainty, not both")
        return self


class Row(Uncertain):
    state: Optional[float] = Field(default=None, description="device state [the state's unit]; default state.value")


class ConductanceRow(Row):
    voltage: float = Field(description="read voltage [V]")
    conductance: Positive = Field(description="I / V at the read voltage [S]")
    _check = field_validator("voltage")(_nonzero)


class CurrentRow(Row):
    voltage: float = Field(description="applied voltage [V]")
    current: float = Field(description="current [A]")
    _check = field_validator("voltage")(_nonzero)


class SwitchingRow(Row):
    amplitude: float = Field(description="pulse amplitude [V]; positive: SET polarity, negative: RESET")
    width: Positive = Field(description="pulse width [s]")
    delta: Optional[Positive] = Field(default=None, description="switching events per pulse; default kinetics.target_delta")
    _check = field_validator("amplitude")(_nonzero)


class TemperatureRow(Row):
    voltage: float = Field(description="applied voltage [V]")
    temperature: Positive = Field(description="[K]")
    where: Literal["probe_mean", "probe_max", "cell_max"] = Field(
        default="probe_mean", description="the probe's volume mean, its hottest point, or the cell's hottest point")
    probe: Optional[Name] = Field(default=None, description="probe name; default kinetics.probe")


class ThermalResistanceRow(Row):
    voltage: float = Field(description="applied voltage [V]")
    thermal_resistance: Positive = Field(description="(T_probe_mean - T_ambient) / P [K/W]")
    probe: Optional[Name] = Field(default=None, description="probe name; default kinetics.probe")
    _check = field_validator("voltage")(_nonzero)


class PulseTrain(Uncertain):
    amplitude: float = Field(description="pulse amplitude [V]; positive: potentiation (SET), negative: depression")
    width: Positive = Field(description="pulse width [s]")
    read_voltage: float = Field(description="read voltage [V]")
    start_state: Optional[float] = Field(default=None, description=(
        "state before the first pulse; default state.minimum for positive pulses, state.maximum for negative"))
    pulses: tuple[Count, ...] = Field(min_length=1, description="pulse counts at which G was read")
    conductance: tuple[Positive, ...] = Field(min_length=1, description="G after that many pulses [S]")
    _check = field_validator("amplitude", "read_voltage")(_nonzero)

    @model_validator(mode="after")
    def _lengths(self) -> "PulseTrain":
        if len(self.pulses) != len(self.conductance):
            raise ValueError(f"conductance: {len(self.conductance)} values for {len(self.pulses)} pulse counts")
        return self


class Defaults(StrictModel):
    """Uncertainties of rows that give none, per kind."""

    conductance: Optional[Uncertain] = None
    iv: Optional[Uncertain] = None
    switching: Optional[Uncertain] = None
    temperature: Optional[Uncertain] = None
    thermal_resistance: Optional[Uncertain] = None
    pulse_trains: Optional[Uncertain] = None


class MeasurementFile(StrictModel):
    format: Literal["filatherm-measurements"] = Field(default=FORMAT, description="file format tag")
    version: Literal[1] = Field(default=VERSION, description="format version")
    description: Optional[str] = Field(default=None, max_length=10_000, description="free text")
    source: Optional[str] = Field(default=None, max_length=10_000, description="where the data come from")
    defaults: Defaults = Field(default_factory=Defaults, description="uncertainties per kind")
    conductance: tuple[ConductanceRow, ...] = ()
    iv: tuple[CurrentRow, ...] = ()
    switching: tuple[SwitchingRow, ...] = ()
    temperature: tuple[TemperatureRow, ...] = ()
    thermal_resistance: tuple[ThermalResistanceRow, ...] = ()
    pulse_trains: tuple[PulseTrain, ...] = ()

    @model_validator(mode="after")
    def _some_data(self) -> "MeasurementFile":
        if not any(getattr(self, kind) for kind in KINDS):
            raise ValueError(f"no measurements (give rows under any of {', '.join(KINDS)})")
        return self

    def uncertainty(self, kind: str, row: Uncertain, value: float) -> float:
        """The absolute uncertainty of a measured value of a row of `kind` (its own, the
        file's default for the kind, or the built-in default)."""
        for source in (row, getattr(self.defaults, kind)):
            if source is not None and source.uncertainty is not None:
                return float(source.uncertainty)
            if source is not None and source.relative_uncertainty is not None:
                return float(source.relative_uncertainty) * abs(value)
        absolute, relative = DEFAULT_UNCERTAINTY[kind]
        return absolute if absolute is not None else relative * abs(value)


@dataclass(frozen=True)
class Measurements:
    """A validated measurement file and where it came from."""

    data: MeasurementFile
    path: Path
    sha256: str

    def rows(self, kind: str) -> tuple:
        return getattr(self.data, kind)


# ---------------------------------------------------------------- loading


def load_measurements(path: Union[str, Path]) -> Measurements:
    """Read and validate a measurement file (.yaml/.yml or .csv); InputError names what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: " + ("a directory, not a measurement file" if path.is_dir() else
                                        "no such measurement file"))
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise InputError(f"{path}: {size} bytes; a measurement file holds at most {MAX_BYTES}")
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        data, lines = _from_csv(text, path)
    elif suffix in (".yaml", ".yml"):
        data, lines = parse_yaml(text, str(path)), None
        if not isinstance(data, dict):
            raise InputError(f"{path}: the top level must be a mapping (format, conductance, iv, ...)")
    else:
        raise InputError(f"{path}: unknown measurement file type {suffix!r} (expected .yaml, .yml or .csv)")
    return Measurements(validate_measurements(data, str(path), lines), path, digest)


def validate_measurements(data: Any, where: str, lines: Optional[dict] = None) -> MeasurementFile:
    """Strict validation with a one-line error: `where: kind[i].key: message` (with the CSV
    line of row i when `lines` maps (kind, i) to it)."""
    try:
        return MeasurementFile.model_validate(_tuples(data))
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        loc = [item for item in first["loc"] if not (isinstance(item, str) and ":" in item)]
        location = format_path(loc) if loc else ""
        if lines is not None and len(loc) >= 2 and (loc[0], loc[1]) in lines:
            location = f"line {lines[(loc[0], loc[1])]}: {location}"
        message = first["msg"]
        for prefix in ("Value error, ", "Assertion failed, "):
            if message.startswith(prefix):
                message = message[len(prefix):]
        if first["type"] == "extra_forbidden":
            message = "unknown key"
        elif first["type"] == "missing":
            message = "required key missing"
        elif "input" in first and not isinstance(first["input"], (dict, tuple, list)):
            shown = repr(first["input"])
            message += f" (got {shown if len(shown) <= 40 else shown[:37] + '...'})"
        raise InputError(f"{where}: {location}: {message}" if location else f"{where}: {message}") from None


def _tuples(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_tuples(v) for v in value)
    return value


# ---------------------------------------------------------------- CSV


# column -> unit; `value` has the unit of the row's kind (MEASURED)
CSV_COLUMNS = {
    "kind": "-", "state": "", "voltage": "V", "amplitude": "V", "width": "s", "delta": "1", "pulse": "1",
    "where": "-", "probe": "-", "value": "", "uncertainty": "", "relative_uncertainty": "1",
}
CSV_KINDS = ("conductance", "iv", "switching", "temperature", "thermal_resistance", "pulse_train")


def _from_csv(text: str, path: Path) -> tuple[dict, dict]:
    """A CSV table -> the YAML structure. Header cells are column names, optionally with their
    unit in brackets (`voltage [V]`), checked against CSV_COLUMNS; `value` and `uncertainty`
    are in the unit of the row's kind. Pulse-train rows with the same amplitude, width, read
    voltage and start state form one train."""
    reader = csv.reader(io.StringIO(text))
    try:
        rows = [row for row in reader]
    except csv.Error as err:
        raise InputError(f"{path}: unreadable CSV ({err})") from None
    rows = [(i + 1, row) for i, row in enumerate(rows) if any(cell.strip() for cell in row)
            and not row[0].lstrip().startswith("#")]
    if not rows:
        raise InputError(f"{path}: empty CSV")
    header_line, header = rows[0]
    columns = []
    for cell in header:
        name, _, unit = cell.strip().partition("[")
        name, unit = name.strip(), unit.rstrip("]").strip()
        if name not in CSV_COLUMNS:
            raise InputError(f"{path}: line {header_line}: unknown column {name!r} "
                             f"(columns: {', '.join(CSV_COLUMNS)})")
        expected = CSV_COLUMNS[name]
        if unit and expected not in ("", "-") and unit != expected:
            raise InputError(f"{path}: line {header_line}: column {name} is in {expected}, not {unit}")
        if name in columns:
            raise InputError(f"{path}: line {header_line}: column {name} appears twice")
        columns.append(name)
    if "kind" not in columns or "value" not in columns:
        raise InputError(f"{path}: line {header_line}: the columns kind and value are required")
    data: dict = {kind: [] for kind in KINDS}
    lines: dict = {}
    trains: dict = {}
    for number, row in rows[1:]:
        if len(row) != len(columns):
            raise InputError(f"{path}: line {number}: {len(row)} cells, the header has {len(columns)}")
        cells = {name: cell.strip() for name, cell in zip(columns, row) if cell.strip()}
        kind = cells.pop("kind", "")
        if kind not in CSV_KINDS:
            raise InputError(f"{path}: line {number}: kind {kind!r}: expected one of {', '.join(CSV_KINDS)}")
        values = {}
        for name, cell in cells.items():
            if name in ("where", "probe"):
                values[name] = cell
                continue
            try:
                number_value = float(cell)
            except ValueError:
                raise InputError(f"{path}: line {number}: {name}: {cell!r} is not a number") from None
            if not math.isfinite(number_value):
                raise InputError(f"{path}: line {number}: {name}: must be finite")
            values[name] = int(number_value) if name == "pulse" and number_value.is_integer() else number_value
        if kind == "pulse_train":
            key = tuple(values.get(k) for k in ("amplitude", "width", "voltage", "state"))
            if key not in trains:
                trains[key] = {"amplitude": values.get("amplitude"), "width": values.get("width"),
                               "read_voltage": values.get("voltage"), "pulses": [], "conductance": []}
                if "state" in values:
                    trains[key]["start_state"] = values["state"]
                for name in ("uncertainty", "relative_uncertainty"):
                    if name in values:
                        trains[key][name] = values[name]
                lines[("pulse_trains", len(trains) - 1)] = number
            trains[key]["pulses"].append(values.get("pulse"))
            trains[key]["conductance"].append(values.get("value"))
            continue
        measured = MEASURED[kind][0]
        if kind == "switching" and "amplitude" in values:
            raise InputError(f"{path}: line {number}: a switching row gives its amplitude as `value`")
        entry = {("amplitude" if kind == "switching" else measured) if name == "value" else name: value
                 for name, value in values.items()}
        lines[(kind, len(data[kind]))] = number
        data[kind].append(entry)
    data["pulse_trains"] = [{k: v for k, v in train.items() if v is not None} for train in trains.values()]
    return {kind: rows for kind, rows in data.items() if rows}, lines
