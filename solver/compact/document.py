"""compact_model.json: the fitted compact model as a document (format "filatherm-compact-model", version 2;
version 1 files, written before the device state and the field-activated current law, are still read).

Written by `filatherm fit` into RESULTS_DIR/model/, read by `filatherm crossbar`, `filatherm
train`, the report, and anyone with a JSON parser. The pydantic models below are the
definition; `compact_model.schema.json` beside this module is generated from them
(`python scripts/generate_docs.py` rewrites it; a test checks that it is current). SI units
throughout; voltages are device voltages, signed.

    format, version        "filatherm-compact-model", 2
    source                 config_name, config_hash (of the sweep's config), config (resolved,
                           after --set), sweep (path), versions, parameters (swept values of
                           this model), overrides (--set given to fit), excluded_points
    kinetics               the kinetics block used (law, nu0, Ea, a, z, probe, statistic, ...)
    table                  both polarities sorted by voltage: point_id, voltage,
                           voltage_applied, current, power, T_probe, E_probe, rate,
                           delta_per_pulse
    fit                    T0 (the ambient, or fitted) and per polarity R_th [K/W] with its
                           rise delta_R_th over power_scale [W], beta [K/A]; the current law
                           (`activated`: G0, Ea_sigma, conduction_exponent, seebeck [V/K]; or
                           `field_activated`, per polarity: G0, Ea, exponent, field_voltage [V],
                           path_heating) and field law (E1, Ea_E), each value with its 1-sigma
                           error; residuals of the whole model against the FEM points
                           (equations: solver.compact.laws)
    figures_of_merit       V_write per polarity (signed), whether it is extrapolated, T there,
                           nonlinearity_half_select = rate(V_write)/rate(V_write/2),
                           nonlinearity_third_select (V/3), T_asymmetry at |V_write|

    state, states, thermal (version 2, a device with a state): the state's name, unit, range
                           and the reference value the top-level keys describe; one model
                           (state, table, fit, figures_of_merit) per solved state; the
                           thermal time constant [s] and capacitance [J/K] from a transient
                           step response (solver.compact.dynamic)

A file that is not such a document (wrong format or version, missing or unknown keys,
non-finite numbers, a table whose voltages do not increase) is bad input: InputError, one line.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import Discriminator, Field, Tag, ValidationError, model_validator

from solver.base import StrictModel
from solver.compact.table import MIN_BRANCH_POINTS
from solver.config.keypath import format_path
from solver.errors import InputError
from solver.io import write_json_atomic
from solver.materials.kinetics import Kinetics

FORMAT = "filatherm-compact-model"
VERSION = 2
READABLE_VERSIONS = (1, 2)
SCHEMA_PATH = Path(__file__).resolve().parent / "compact_model.schema.json"
MAX_FILE_BYTES = 50_000_000


DocumentModel = StrictModel  # every part: frozen, no unknown keys, finite numbers only


class Estimate(DocumentModel):
    value: float
    error: float = Field(ge=0, description="1-sigma standard error of the least-squares fit")


class ThermalBranch(DocumentModel):
    """T = T0 + R_th(P) P + beta I on one polarity, R_th(P) = R_th + delta_R_th (1 - exp(-P /
    power_scale)); beta I carries the polarity-odd Peltier part (solver.compact.laws)."""

    R_th: Estimate = Field(description="thermal resistance at low power [K/W]")
    delta_R_th: Estimate = Field(description="rise of the thermal resistance at high power [K/W]")
    power_scale: Estimate = Field(description="power over which the thermal resistance rises [W]")
    beta: Estimate = Field(description="Peltier-like coefficient [K/A]")
    points: int = Field(ge=1, description="points of this polarity in the fit")

    @model_validator(mode="after")
    def _positive_scale(self) -> ThermalBranch:
        if self.power_scale.value <= 0:
            raise ValueError("power_scale.value: must be positive")
        return self


class Branches(DocumentModel):
    """The thermal law per polarity; a sweep of one polarity has only that branch (null)."""

    positive: Optional[ThermalBranch] = None
    negative: Optional[ThermalBranch] = None

    @model_validator(mode="after")
    def _one_at_least(self) -> Branches:
        if self.positive is None and self.negative is None:
            raise ValueError("positive: no branch at all (a fit needs one polarity at least)")
        return self

    @property
    def polarities(self) -> tuple[str, ...]:
        return tuple(name for name in ("positive", "negative") if getattr(self, name) is not None)


class ActivatedLaw(DocumentModel):
    """|E|(V, T) = scale * |V| * exp(-(activation_energy q / k_B) (1/T - 1/T0)): the probe field.

    T is the probe temperature of the thermal law, T0 its ambient.
    """

    scale: Estimate = Field(description="E1, probe field per volt at T0 [1/m]")
    activation_energy: Estimate = Field(description="[eV]; negative means falling with T")
    max_relative_error: float = Field(
        ge=0, description="largest |law / FEM - 1| at the FEM voltages and temperatures"
    )

    @model_validator(mode="after")
    def _positive_scale(self) -> ActivatedLaw:
        if self.scale.value <= 0:
            raise ValueError("scale.value: must be positive")
        return self


class CurrentLaw(DocumentModel):
    """I(V, T) = G0 exp((a / T0) (1 - (T0/T)^conduction_exponent)) (V + seebeck (T - T0)),
    a = activation_energy q / k_B: an activated conductance in the conduction-path temperature
    T0 (T/T0)^conduction_exponent, driven by the applied voltage plus the thermoelectric EMF
    (solver.compact.laws). T is the probe temperature of the thermal law, T0 its ambient.
    """

    law: Literal["activated"] = "activated"
    scale: Estimate = Field(description="G0, conductance at T0 [S]")
    activation_energy: Estimate = Field(description="[eV]; negative means falling with T")
    conduction_exponent: Estimate = Field(
        description="kappa: 1 = Arrhenius in the probe temperature, < 1 a cooler conduction path"
    )
    seebeck: Estimate = Field(description="effective Seebeck coefficient of the cell [V/K]")
    max_relative_error: float = Field(
        ge=0, description="largest |law / FEM - 1| at the FEM voltages and temperatures"
    )

    @model_validator(mode="after")
    def _positive_scale(self) -> CurrentLaw:
        if self.scale.value <= 0:
            raise ValueError("scale.value: must be positive")
        return self


class Residuals(DocumentModel):
    """Largest deviations of the compact model (all laws, T solved) from the FEM points."""

    max_abs_dT: float = Field(ge=0, description="compact model vs FEM T_probe [K]")
    max_abs_dT_thermal_law: float = Field(
        ge=0, description="T0 + R_th P + beta I with the FEM P and I vs FEM T_probe [K]"
    )
    max_relative_current: float = Field(ge=0, description="|I_model / I_FEM - 1|")
    max_abs_dlog10_rate: float = Field(ge=0, description="compact model vs FEM-derived rate")


class FieldCurrentBranch(DocumentModel):
    """One polarity of the field-activated current law (solver.compact.laws)."""

    scale: Estimate = Field(description="G0, low-field conductance at T0 [S]")
    activation_energy: Estimate = Field(description="Ea of the conductance in the path temperature [eV]")
    exponent: Estimate = Field(description="n, power of the path temperature in the prefactor")
    field_voltage: Estimate = Field(description="V1: |V| T0 / (V1 T_c) is the field enhancement's exponent [V]")
    path_heating: Estimate = Field(description="gamma: the conduction path heats by gamma x the probe's rise")
    points: int = Field(ge=1, description="points of this polarity in the fit")

    @model_validator(mode="after")
    def _positive(self) -> FieldCurrentBranch:
        for name in ("scale", "field_voltage", "path_heating"):
            if getattr(self, name).value <= 0:
                raise ValueError(f"{name}.value: must be positive")
        return self


class FieldActivatedCurrentLaw(DocumentModel):
    """I = G0 exp((a/T0)(1 - T0/T_c)) (T_c/T0)^n V exp(|V| T0/(V1 T_c)), T_c = T0 + gamma (T - T0),
    per polarity (solver.compact.laws): the law of cells whose conduction is field-enhanced."""

    law: Literal["field_activated"]
    positive: FieldCurrentBranch
    negative: FieldCurrentBranch
    max_relative_error: float = Field(
        ge=0, description="largest |law / FEM - 1| at the FEM voltages and temperatures")


def _current_tag(value: Any) -> str:
    law = value.get("law", "activated") if isinstance(value, dict) else getattr(value, "law", "activated")
    return f"current:{law}"


AnyCurrentLaw = Annotated[
    Union[Annotated[CurrentLaw, Tag("current:activated")],
          Annotated[FieldActivatedCurrentLaw, Tag("current:field_activated")]],
    Discriminator(_current_tag),
]


class Fit(DocumentModel):
    T0: Estimate = Field(description="ambient of the thermal law [K]")
    T0_source: Literal["ambient", "fitted"] = Field(
        description="ambient: the config's thermal boundary temperature, pinned (error 0); fitted: "
                    "least squares (the boundaries are at different temperatures)"
    )
    branches: Branches
    current: AnyCurrentLaw
    field: ActivatedLaw
    residuals: Residuals


class Table(DocumentModel):
    """The FEM points with their rates, both polarities, voltage strictly increasing."""

    point_id: list[str]
    voltage: list[float] = Field(description="device voltage [V]")
    voltage_applied: list[float] = Field(description="[V]")
    current: list[float] = Field(description="[A], positive from top to bottom electrode")
    power: list[float] = Field(description="[W]")
    T_probe: list[float] = Field(description="[K]")
    E_probe: list[float] = Field(description="field magnitude [V/m]")
    rate: list[float] = Field(description="[Hz]")
    delta_per_pulse: list[float] = Field(description="rate x pulse width")

    @model_validator(mode="after")
    def _consistent(self) -> Table:
        n = len(self.voltage)
        for name in type(self).model_fields:
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name}: has {len(getattr(self, name))} entries, voltage has {n}")
        if any(b <= a for a, b in zip(self.voltage, self.voltage[1:])):
            raise ValueError("voltage: must be strictly increasing")
        counts = {name: sum(1 for v in self.voltage if v * sign > 0) for sign, name in ((1, "positive"),
                                                                                        (-1, "negative"))}
        for name, count in counts.items():
            if 0 < count < MIN_BRANCH_POINTS or max(counts.values()) < MIN_BRANCH_POINTS:
                raise ValueError(f"voltage: {count} {name} points, need {MIN_BRANCH_POINTS} (or none)")
        if min(self.T_probe) <= 0:
            raise ValueError("T_probe: must be positive")
        for name in ("E_probe", "rate", "delta_per_pulse"):
            if min(getattr(self, name)) < 0:
                raise ValueError(f"{name}: must not be negative")
        return self


class Polarities(DocumentModel):
    positive: Optional[float]
    negative: Optional[float]


class PolarityFlags(DocumentModel):
    positive: bool
    negative: bool


class TAsymmetry(DocumentModel):
    voltage: Optional[float] = Field(description="|V| compared: the mean |V_write| [V]")
    T_positive: Optional[float] = Field(description="T_probe at +|V| [K]")
    T_negative: Optional[float] = Field(description="T_probe at -|V| [K]")
    delta_T: Optional[float] = Field(description="T_positive - T_negative [K]")


class FiguresOfMerit(DocumentModel):
    """Evaluated on the FEM table (log-interpolated), the fitted law beyond it; null where the
    target is not reached within twice the swept voltage range."""

    target_delta: float = Field(gt=0, description="delta_per_pulse that defines V_write")
    V_write: Polarities = Field(description="signed device voltage [V]")
    V_write_extrapolated: PolarityFlags = Field(description="V_write beyond the swept range")
    T_at_write: Polarities = Field(description="T_probe at V_write [K]")
    nonlinearity_half_select: Polarities = Field(description="rate(V_write) / rate(V_write/2)")
    nonlinearity_third_select: Polarities = Field(description="rate(V_write) / rate(V_write/3)")
    T_asymmetry: TAsymmetry


class ExcludedPoint(DocumentModel):
    point_id: str
    status: str
    reason: str


class Source(DocumentModel):
    config_name: str
    config_hash: str = Field(description="hash of the sweep's resolved config")
    config: dict[str, Any] = Field(description="resolved config, --set overrides applied")
    sweep: str = Field(description="path of the sweep store that was fitted")
    versions: dict[str, str]
    parameters: dict[str, Any] = Field(description="swept parameter values of this model")
    overrides: list[str] = Field(description="--set assignments given to fit")
    excluded_points: list[ExcludedPoint] = Field(description="failed sweep points left out")


class StateInfo(DocumentModel):
    """The device state of a version-2 document (solver.config.schema.StateVariable)."""

    name: str
    unit: str
    minimum: Optional[float] = Field(description="smallest physical value (e.g. the HRS), if given")
    maximum: Optional[float] = Field(description="largest physical value (e.g. the LRS), if given")
    reference: float = Field(description="the state the top-level table, fit and figures of merit describe")


class StateModel(DocumentModel):
    """The compact model of one solved state."""

    state: float
    table: Table
    fit: Fit
    figures_of_merit: FiguresOfMerit


class ThermalDynamics(DocumentModel):
    """The lumped thermal node's time scale, from a transient FEM step response: the probe
    temperature relaxes to its steady value with time constant tau; C_th = tau / R_th."""

    time_constant: Optional[float] = Field(description="tau [s]; null: no step response was solved")
    capacitance: Optional[float] = Field(description="C_th = tau / R_th at the step [J/K]")
    step_voltage: Optional[float] = Field(description="device voltage of the step [V]")
    max_relative_error: Optional[float] = Field(
        description="largest |(T_lumped - T_FEM)| over the step's rise, relative to it")


class CompactModelDocument(DocumentModel):
    format: Literal["filatherm-compact-model"]
    version: Literal[1, 2]
    source: Source
    kinetics: Kinetics
    table: Table
    fit: Fit
    figures_of_merit: FiguresOfMerit
    state: Optional[StateInfo] = Field(default=None, description="version 2: the device state")
    states: Optional[list[StateModel]] = Field(default=None, description="version 2: one model per state")
    thermal: Optional[ThermalDynamics] = Field(default=None, description="version 2: the thermal node")

    def to_data(self) -> dict:
        """Plain JSON data; loading it again gives the same document."""
        return self.model_dump(mode="json")


def json_schema() -> dict:
    """The JSON Schema of compact_model.json, generated from the models above."""
    schema = CompactModelDocument.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://filatherm.invalid/compact_model.schema.json",
        **schema,
        "title": "filatherm compact model",
    }


def write_document(path: str | Path, document: CompactModelDocument) -> Path:
    """Write compact_model.json atomically."""
    return write_json_atomic(path, document.to_data())


def parse_document(data: Any, where: str) -> CompactModelDocument:
    """Validate decoded JSON as a compact model; InputError (one line) if it is not one."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: not a filatherm compact model (top level is not an object)")
    if data.get("format") != FORMAT:
        raise InputError(f"{where}: not a filatherm compact model (format {data.get('format')!r})")
    if data.get("version") not in READABLE_VERSIONS:
        raise InputError(f"{where}: compact model version {data.get('version')!r}, this filatherm reads "
                         f"{' and '.join(map(str, READABLE_VERSIONS))}")
    try:
        return CompactModelDocument.model_validate(data)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        loc = format_path([part for part in first["loc"] if isinstance(part, (str, int))])
        message = first["msg"].removeprefix("Value error, ")
        raise InputError(f"{where}: {loc}: {message}") from None
    except RecursionError:
        raise InputError(f"{where}: nested too deeply") from None


def read_document(path: str | Path) -> CompactModelDocument:
    """Read and validate a compact_model.json."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such compact model")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"{path}: larger than {MAX_FILE_BYTES} bytes; not a compact model")
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as err:
        raise InputError(f"{path}: not valid JSON ({str(err).splitlines()[0]})") from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply") from None
    return parse_document(data, str(path))


def _reject_constant(name: str) -> float:
    """NaN and Infinity are not JSON; Python's parser would accept them."""
    raise ValueError(f"{name} is not a finite number")


def finite_or_none(value: Optional[float]) -> Optional[float]:
    """A figure of merit, or None where it is undefined or overflows (JSON has no inf)."""
    return None if value is None or not math.isfinite(float(value)) else float(value)

