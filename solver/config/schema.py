"""Typed, immutable models of the YAML configuration (DESIGN.md §3).

Every model forbids unknown keys (a typo must never pass silently) and non-finite
numbers. Lengths in `geometry`, `mesh` and `probes` are in the config's `units`;
everything else is SI. Cross-field checks that need the whole document (materials that
exist, probes inside the geometry, properties the analysis needs) live on :class:`Config`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Optional, Union

import annotated_types
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    field_validator,
    model_serializer,
    model_validator,
)

LENGTH_UNITS = {"nm": 1e-9, "um": 1e-6, "mm": 1e-3, "m": 1.0}
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"

# Constraints as annotated_types/StringConstraints, never as a shared Field(...): pydantic 2.10
# (Debian 13) merges a field's default into a FieldInfo shared through Annotated, so one
# `x: Positive = 2.44e-8` gave every required Positive field that default.
Positive = Annotated[float, annotated_types.Gt(0)]
NonNegative = Annotated[float, annotated_types.Ge(0)]
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=64)]


class Model(BaseModel):
    """Base of every config model: frozen, no unknown keys, finite numbers only."""

    # strict: a string is not a number and a float is not an int; the loader turns YAML
    # lists into tuples first, so sequences validate in strict mode too.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


# ---------------------------------------------------------------- material laws


SOURCE_FIELD = Field(default=None, description="citation, or 'assumed'")


class ConstantLaw(Model):
    """value, independent of T."""

    law: Literal["constant"] = "constant"
    value: float
    source: Optional[str] = SOURCE_FIELD


class MetallicLaw(Model):
    """value / (1 + alpha (T - T_ref)): a metal whose resistivity rises linearly with T."""

    law: Literal["metallic"]
    value: float
    alpha: NonNegative
    T_ref: Positive = 300.0
    source: Optional[str] = SOURCE_FIELD


class ArrheniusLaw(Model):
    """value * exp(-activation_energy / k_B (1/T - 1/T_ref)), activation energy in eV."""

    law: Literal["arrhenius"]
    value: float
    activation_energy: float
    T_ref: Positive = 300.0
    source: Optional[str] = SOURCE_FIELD


class PowerLaw(Model):
    """value * (T / T_ref) ** exponent."""

    law: Literal["power"]
    value: float
    exponent: float
    T_ref: Positive = 300.0
    source: Optional[str] = SOURCE_FIELD


class TableLaw(Model):
    """Piecewise linear in T through (T[i], value[i]); constant beyond the ends."""

    law: Literal["table"]
    T: tuple[Positive, ...] = Field(min_length=2)
    value: tuple[float, ...] = Field(min_length=2)
    source: Optional[str] = SOURCE_FIELD

    @model_validator(mode="after")
    def _check_table(self) -> TableLaw:
        if len(self.T) != len(self.value):
            raise ValueError(f"value: has {len(self.value)} entries but T has {len(self.T)}")
        if any(b <= a for a, b in zip(self.T, self.T[1:])):
            raise ValueError("T: must be strictly increasing")
        return self


class WiedemannFranzLaw(Model):
    """Thermal conductivity lorenz * sigma(T) * T + phonon (electrons plus lattice)."""

    law: Literal["wiedemann_franz"]
    lorenz: Positive = 2.44e-8
    phonon: NonNegative = 0.0
    source: Optional[str] = SOURCE_FIELD


# Union tags carry a "family:" prefix so that they can never be mistaken for data keys when
# an error location is turned into a key path (see solver.config._located_path).


def _law_tag(value: Any) -> Optional[str]:
    law = value.get("law", "constant") if isinstance(value, dict) else getattr(value, "law", None)
    return f"law:{law}" if isinstance(law, str) else None


def _number_as_constant(value: Any) -> Any:
    """`heat_capacity: 2.5e6` is shorthand for `{law: constant, value: 2.5e6}`."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"law": "constant", "value": value}
    return value


_LAW_ERROR = (
    "law must be one of constant, metallic, arrhenius, power, table (a plain number means constant)"
)

Law = Annotated[
    Union[
        Annotated[ConstantLaw, Tag("law:constant")],
        Annotated[MetallicLaw, Tag("law:metallic")],
        Annotated[ArrheniusLaw, Tag("law:arrhenius")],
        Annotated[PowerLaw, Tag("law:power")],
        Annotated[TableLaw, Tag("law:table")],
    ],
    Discriminator(_law_tag, custom_error_type="unknown_law", custom_error_message=_LAW_ERROR),
]

ThermalConductivityLaw = Annotated[
    Union[
        Annotated[ConstantLaw, Tag("law:constant")],
        Annotated[MetallicLaw, Tag("law:metallic")],
        Annotated[ArrheniusLaw, Tag("law:arrhenius")],
        Annotated[PowerLaw, Tag("law:power")],
        Annotated[TableLaw, Tag("law:table")],
        Annotated[WiedemannFranzLaw, Tag("law:wiedemann_franz")],
    ],
    Discriminator(
        _law_tag,
        custom_error_type="unknown_law",
        custom_error_message=_LAW_ERROR.replace("table", "table, wiedemann_franz"),
    ),
]


def law_is_positive(law: Any) -> bool:
    """Whether a law can only give positive values (for sigma, kappa, heat capacity)."""
    if isinstance(law, TableLaw):
        return all(v > 0 for v in law.value)
    if isinstance(law, WiedemannFranzLaw):
        return True
    return law.value > 0


class Material(Model):
    """Temperature-dependent properties of one material (SI units)."""

    electrical_conductivity: Law = Field(description="sigma [S/m]")
    thermal_conductivity: ThermalConductivityLaw = Field(description="kappa [W/(m K)]")
    seebeck: Law = Field(default_factory=lambda: ConstantLaw(value=0.0), description="S [V/K]")
    heat_capacity: Optional[Law] = Field(default=None, description="rho c_p [J/(m^3 K)]")
    description: Optional[str] = Field(default=None, description="free text")

    _coerce = field_validator(
        "electrical_conductivity", "thermal_conductivity", "seebeck", "heat_capacity", mode="before"
    )(_number_as_constant)

    @model_validator(mode="after")
    def _positive_properties(self) -> Material:
        for key in ("electrical_conductivity", "thermal_conductivity", "heat_capacity"):
            law = getattr(self, key)
            if law is not None and not law_is_positive(law):
                raise ValueError(f"{key}: must be positive")
        return self


# ---------------------------------------------------------------- geometry and mesh


class Filament(Model):
    """A body of revolution on the axis: cylinder, or truncated cone with `top_radius`."""

    material: str = Field(description="material name (library or `materials:`)")
    radius: Positive = Field(description="radius at the layer bottom")
    top_radius: Optional[Positive] = Field(default=None, description="radius at its top")
    height: Optional[Positive] = Field(
        default=None, description="< layer thickness leaves a gap above the filament"
    )


class Layer(Model):
    name: Name = Field(description="region name (letters, digits, _; no '__')")
    material: str = Field(description="material name (library or `materials:`)")
    thickness: Positive = Field(description="layer thickness")
    filament: Optional[Filament] = Field(default=None, description="optional body on the axis")


class Geometry(Model):
    radius: Positive = Field(description="outer radius of the simulated cell")
    layers: tuple[Layer, ...] = Field(min_length=1, description="bottom to top")

    @model_validator(mode="after")
    def _check(self) -> Geometry:
        names: set[str] = set()
        for i, layer in enumerate(self.layers):
            region_names = [layer.name] + ([f"{layer.name}_filament"] if layer.filament else [])
            for name in region_names:
                if "__" in name:
                    raise ValueError(f"layers[{i}].name: '__' is reserved for interface names")
                if name in names or name in ("top", "bottom", "outer", "axis"):
                    raise ValueError(f"layers[{i}].name: region name {name!r} is used twice")
                names.add(name)
            fil = layer.filament
            if fil is None:
                continue
            where = f"layers[{i}].filament"
            for key in ("radius", "top_radius"):
                value = getattr(fil, key)
                if value is not None and value >= self.radius:
                    raise ValueError(
                        f"{where}.{key}: {value} is not smaller than the cell radius {self.radius}"
                    )
            if fil.height is not None and fil.height > layer.thickness:
                raise ValueError(
                    f"{where}.height: {fil.height} exceeds the layer thickness {layer.thickness}"
                )
        return self

    def z_bottoms(self) -> list[float]:
        """z of each layer's bottom face, in config units."""
        z, out = 0.0, []
        for layer in self.layers:
            out.append(z)
            z += layer.thickness
        return out

    @property
    def height(self) -> float:
        return sum(layer.thickness for layer in self.layers)


class MeshOptions(Model):
    size: Positive = Field(description="element size far from the filament (config units)")
    filament_size: Positive = Field(description="element size in and around the filament")
    refine_distance: Positive = Field(description="distance over which the size grades")
    order: Literal[1, 2] = Field(default=1, description="geometric order of the elements")


# ---------------------------------------------------------------- boundaries


class VoltageTerminal(Model):
    voltage: float = Field(description="applied voltage [V]")
    series_resistance: NonNegative = Field(default=0.0, description="series load [Ohm]")


class CurrentTerminal(Model):
    current: float = Field(description="total current into the top electrode [A]")


def _terminal_tag(value: Any) -> Optional[str]:
    if isinstance(value, dict):
        if "current" in value:
            return "terminal:current"
        return "terminal:voltage" if "voltage" in value else None
    return "terminal:current" if isinstance(value, CurrentTerminal) else "terminal:voltage"


Terminal = Annotated[
    Union[Annotated[VoltageTerminal, Tag("terminal:voltage")], Annotated[CurrentTerminal, Tag("terminal:current")]],
    Discriminator(
        _terminal_tag,
        custom_error_type="terminal",
        custom_error_message="expected {voltage: V, series_resistance: Ohm} or {current: A}",
    ),
]


class Ground(Model):
    voltage: Literal[0, 0.0] = Field(default=0.0, description="the bottom electrode is ground")


class Electrical(Model):
    top: Terminal = Field(default_factory=lambda: VoltageTerminal(voltage=1.0),
                          description="{voltage, series_resistance} or {current}: an equipotential terminal")
    bottom: Ground = Field(default_factory=Ground, description="grounded electrode")


class FixedTemperature(Model):
    temperature: Positive = Field(description="[K]")


class Convective(Model):
    h: Positive = Field(description="heat transfer coefficient [W/(m^2 K)]")
    ambient: Positive = Field(description="[K]")


class Insulated(Model):
    """Zero total heat flux (conduction plus Peltier); written `insulated` in YAML."""

    @model_validator(mode="before")
    @classmethod
    def _from_word(cls, value: Any) -> Any:
        return {} if value == "insulated" else value

    @model_serializer
    def _as_word(self) -> str:
        return "insulated"


def _thermal_tag(value: Any) -> Optional[str]:
    if value == "insulated" or isinstance(value, Insulated):
        return "bc:insulated"
    if isinstance(value, dict):
        if "temperature" in value:
            return "bc:temperature"
        return "bc:convective" if "h" in value or "ambient" in value else None
    if isinstance(value, FixedTemperature):
        return "bc:temperature"
    return "bc:convective" if isinstance(value, Convective) else None


ThermalBC = Annotated[
    Union[
        Annotated[FixedTemperature, Tag("bc:temperature")],
        Annotated[Convective, Tag("bc:convective")],
        Annotated[Insulated, Tag("bc:insulated")],
    ],
    Discriminator(
        _thermal_tag,
        custom_error_type="thermal_boundary",
        custom_error_message="expected {temperature: K}, {h: W/(m^2 K), ambient: K} or insulated",
    ),
]


class Thermal(Model):
    top: ThermalBC = Field(default_factory=lambda: FixedTemperature(temperature=300.0),
                           description="{temperature: K} | {h: W/(m^2 K), ambient: K} | insulated")
    bottom: ThermalBC = Field(default_factory=lambda: FixedTemperature(temperature=300.0),
                              description="as `top`")
    outer: ThermalBC = Field(default_factory=Insulated, description="the cylinder wall r = radius; as `top`")
    initial_temperature: Positive = Field(default=300.0, description="[K]")

    @property
    def reference_temperature(self) -> float:
        """The ambient the device sits in: the first fixed or convective temperature."""
        for bc in (self.bottom, self.top, self.outer):
            if isinstance(bc, FixedTemperature):
                return bc.temperature
            if isinstance(bc, Convective):
                return bc.ambient
        return self.initial_temperature


# ---------------------------------------------------------------- analysis


class Pulse(Model):
    """Trapezoid from t = 0: rise, `width` at full amplitude, fall, then `after` at zero."""

    amplitude: float = Field(description="[V], or [A] on a current terminal")
    width: Positive = Field(default=60e-9, description="time at full amplitude [s]")
    rise: NonNegative = Field(default=2e-9, description="[s]")
    fall: NonNegative = Field(default=2e-9, description="[s]")
    after: NonNegative = Field(default=20e-9, description="time simulated after the last pulse [s]")
    count: int = Field(default=1, ge=1, le=10_000, description="pulses in the train")
    period: Optional[Positive] = Field(default=None, description="start-to-start [s]")

    @model_validator(mode="after")
    def _check_period(self) -> Pulse:
        if self.count > 1:
            if self.period is None:
                raise ValueError("period: required when count > 1")
            if self.period < self.rise + self.width + self.fall:
                raise ValueError("period: shorter than rise + width + fall")
        return self


class TimeStepping(Model):
    scheme: Literal["bdf2", "backward_euler"] = Field(default="bdf2", description="time integrator")
    adaptive: bool = Field(default=True, description="local-error control; false: fixed dt_initial")
    tolerance: Positive = Field(default=1e-3, description="local error per step, relative to the T rise")
    dt_initial: Positive = Field(default=1e-12, description="first step (the fixed step if not adaptive) [s]")
    dt_min: Positive = Field(default=1e-16, description="smallest step before giving up [s]")
    dt_max: Optional[Positive] = Field(default=None, description="largest step [s]; default: pulse width / 10")
    snapshots: Optional[tuple[NonNegative, ...]] = Field(
        default=None, description="field output times [s]; default: end of each plateau and the end")


class Analysis(Model):
    kind: Literal["steady", "transient"] = Field(default="steady", description="what `filatherm solve` does")
    pulse: Optional[Pulse] = Field(default=None, description="the pulse of a transient analysis")
    time: TimeStepping = Field(default_factory=TimeStepping, description="time stepping of a transient")


class Probe(Model):
    """A region of one layer where QoIs are averaged; z is relative to the layer bottom."""

    layer: str = Field(description="layer name")
    r_min: NonNegative = Field(default=0.0, description="inner radius")
    r_max: Positive = Field(description="outer radius")
    z_min: NonNegative = Field(description="bottom, above the layer's bottom")
    z_max: Positive = Field(description="top, above the layer's bottom")

    @model_validator(mode="after")
    def _check(self) -> Probe:
        if self.r_min >= self.r_max:
            raise ValueError("r_max: must be larger than r_min")
        if self.z_min >= self.z_max:
            raise ValueError("z_max: must be larger than z_min")
        return self


# ---------------------------------------------------------------- sweep, kinetics, crossbar


class VoltageRange(Model):
    start: float = Field(description="first drive [V] (or [A] at a current terminal)")
    stop: float = Field(description="last drive")
    num: int = Field(ge=1, le=100_000, description="points, evenly spaced, both ends included")


class VoltageValues(Model):
    values: tuple[float, ...] = Field(min_length=1, max_length=100_000, description="drives, any order")


def _voltage_tag(value: Any) -> Optional[str]:
    if isinstance(value, dict):
        return "sweep:values" if "values" in value else "sweep:range"
    return "sweep:values" if isinstance(value, VoltageValues) else "sweep:range"


VoltagePlan = Annotated[
    Union[Annotated[VoltageRange, Tag("sweep:range")], Annotated[VoltageValues, Tag("sweep:values")]],
    Discriminator(_voltage_tag),
]


class Sweep(Model):
    voltage: Optional[VoltagePlan] = Field(
        default=None, description="{start, stop, num} or {values}; both polarities allowed")
    parameters: dict[str, tuple[Any, ...]] = Field(
        default_factory=dict, description="key path -> list of values, e.g. geometry.layers[1].filament.radius")
    combine: Literal["product", "zip"] = Field(default="product", description="how parameter lists combine")

    @field_validator("parameters")
    @classmethod
    def _check_parameters(cls, value: dict) -> dict:
        from solver.config.keypath import parse_path

        for key, values in value.items():
            parse_path(key)
            if key.split(".")[0] in ("sweep", "name"):
                raise ValueError(f"{key}: cannot be swept")
            if not values:
                raise ValueError(f"{key}: needs at least one value")
        return value

    @model_validator(mode="after")
    def _zip_lengths(self) -> Sweep:
        if self.combine == "zip" and len({len(v) for v in self.parameters.values()}) > 1:
            raise ValueError("parameters: combine: zip needs lists of equal length")
        return self


class Kinetics(Model):
    """Switching kinetics applied to a probe's temperature and field (solver.compact.kinetics)."""

    law: Literal["ion_hopping", "arrhenius", "jart"] = Field(
        default="ion_hopping", description="rate law: ion_hopping (Mott-Gurney), arrhenius, jart"
    )
    attempt_frequency: Positive = Field(default=2.0e13, description="nu0 [Hz]")
    activation_energy: Positive = Field(default=1.35, description="Ea [eV]")
    hop_distance: Positive = Field(default=0.25e-9, description="a [m]")
    charge: Positive = Field(default=2, description="z")
    probe: str = Field(default="active", description="probe whose temperature and field drive the rate")
    statistic: Literal["mean", "max"] = Field(
        default="mean", description="probe statistic used: T_mean/E_mean or T_max/E_max"
    )
    pulse_width: Positive = Field(default=60e-9, description="[s]")
    target_delta: Positive = Field(default=1.0, description="delta_per_pulse that defines V_write")


class AccessTransistor(Model):
    """The access nFET of a 1T1R cell: SPICE level-1 MOSFET, no body effect (solver.crossbar.lines).
    Geometry of IBM/Analog_ReRAM_Training_Simulator's 10x10 1T1R netlist (W 2 um, L 250 nm,
    V_th 0.5 V); KP is a typical long-channel value of 0.25-0.35 um CMOS (assumed)."""

    threshold_voltage: float = Field(default=0.5, description="V_th [V]")
    transconductance: Positive = Field(default=2.0e-4, description="KP = mu_n C_ox [A/V^2]")
    width: Positive = Field(default=2.0e-6, description="channel width W [m]")
    length: Positive = Field(default=2.5e-7, description="channel length L [m]")
    gate_voltage_positive: float = Field(
        default=1.4, description="on-gate voltage during pulses of positive device voltage (SET) [V]")
    gate_voltage_negative: float = Field(
        default=3.3, description="on-gate voltage during pulses of negative device voltage (RESET) [V]")


class SpiceArray(Model):
    """The circuit-level array of `filatherm spice-array` (solver.spice.array): one fully
    parallel stochastic update simulated by ngspice."""

    rows: int = Field(default=16, ge=1, le=256, description="rows of the simulated array")
    cols: int = Field(default=16, ge=1, le=256, description="columns of the simulated array")
    scheme: Literal["v_half", "v_third", "gate_coincidence"] = Field(
        default="v_half", description="biasing scheme (gate_coincidence needs cell: 1T1R, v_third 1R)")
    pulse_train_length: int = Field(
        default=10, ge=1, le=1000,
        description="BL: slots of the pulse trains (10 as in IBM/Analog_ReRAM_Training_Simulator)")
    edge_time: Positive = Field(default=1.0e-9, description="rise and fall time of a line pulse [s]")
    thermal_capacitance: Positive = Field(
        default=2.0e-17, description="C_th of every cell [J/K] (Galetta et al. 2025, CMO/HfOx)")
    conductance_min: Positive = Field(
        default=25e-6, description="conductance at w_min, for reporting dG [S] (CMO/HfOx window)")
    conductance_max: Positive = Field(default=90e-6, description="conductance at w_max [S]")
    timeout: Positive = Field(default=1800.0, description="longest ngspice run [s]")
    sweep_sizes: tuple[Annotated[int, Field(ge=2, le=1024)], ...] = Field(
        default=(16, 32, 64, 128), min_length=1,
        description="lines per side of the square arrays of the IR-drop sweep (numpy model)")
    sweep_resistances: tuple[Positive, ...] = Field(
        default=(0.25, 0.5, 1.0, 2.0), min_length=1,
        description="line resistances of the IR-drop sweep [Ohm per segment]")


class Crossbar(Model):
    """The compact crossbar model (solver.crossbar): array, biasing scheme and device noise."""

    rows: int = Field(default=64, ge=1, le=4096, description="rows of the array")
    cols: int = Field(default=64, ge=1, le=4096, description="columns of the array")
    scheme: Literal["v_half", "v_third"] = Field(default="v_half", description="biasing scheme")
    states: int = Field(
        default=32, ge=2, le=100_000, description="full range / step of one write pulse (dw_min)"
    )
    noise: NonNegative = Field(default=0.1, description="cycle-to-cycle sigma, relative")
    device_spread: NonNegative = Field(
        default=0.1, description="device-to-device sigma of the log-normal step prefactor (assumed)"
    )
    pulse_train_length: int = Field(
        default=31, ge=1, le=1000, description="BL: slots of the stochastic pulse trains of an update"
    )
    disturb_pulses: int = Field(
        default=100_000, ge=1, le=100_000_000, description="half-select pulses in the endurance test"
    )
    verify_iterations: int = Field(
        default=5, ge=0, le=100, description="read-verify rounds when mapping weights"
    )
    seed: int = Field(default=0, ge=0, description="random seed of the crossbar experiments")
    line_resistance: NonNegative = Field(
        default=0.0, description="resistance of one line segment per cell (word, bit and source "
                                 "lines) [Ohm]; 0: ideal wires. Used by spice-array and the numpy "
                                 "line model; the crossbar and train experiments assume ideal wires")
    cell: Literal["1R", "1T1R"] = Field(
        default="1R", description="cell: device alone, or with an access nFET (spice-array, line model)")
    transistor: AccessTransistor = Field(default_factory=AccessTransistor,
                                         description="the access nFET of 1T1R cells")
    spice: SpiceArray = Field(default_factory=SpiceArray,
                              description="the circuit-level array of `filatherm spice-array`")

    @model_validator(mode="after")
    def _spice_scheme_fits_cell(self) -> Crossbar:
        if self.spice.scheme == "gate_coincidence" and self.cell != "1T1R":
            raise ValueError("spice.scheme: gate_coincidence needs cell: 1T1R")
        if self.spice.scheme == "v_third" and self.cell != "1R":
            raise ValueError("spice.scheme: v_third applies to cell: 1R only")
        if self.spice.conductance_max <= self.spice.conductance_min:
            raise ValueError("spice.conductance_max: must exceed conductance_min")
        return self


class Training(Model):
    """Hardware-aware training of an MLP on scikit-learn's digits (solver.crossbar.training)."""

    hidden: int = Field(default=32, ge=1, le=1024, description="hidden units of the 64-h-10 MLP")
    epochs: int = Field(default=4, ge=1, le=1000, description="passes over the training set")
    learning_rate: Positive = Field(
        default=0.05, description="SGD step of epoch 1 (batch size 1); epoch e uses it / e"
    )
    seeds: int = Field(default=3, ge=1, le=100, description="independent runs per device")
    test_fraction: float = Field(default=0.25, gt=0, lt=1, description="share held out for testing")
    weight_range: Positive = Field(
        default=1.0, description="|W| of a differential pair with one device at each bound"
    )


class Newton(Model):
    rtol: Positive = Field(default=1.0e-8, description="converged when every field's Newton update is "
                                                        "below rtol x its magnitude ...")
    atol: Positive = Field(default=1.0e-10, description="... or below atol (V for the potential, K for T)")
    max_it: int = Field(default=30, ge=1, le=1000, description="Newton iterations per solve")


class Continuation(Model):
    max_step: Positive = Field(default=0.25, description="largest voltage step [V] (or current [A])")
    min_step: Positive = Field(default=1e-4, description="smallest step before giving up")


PetscValue = Union[bool, int, float, str]


class Solver(Model):
    degree: Literal[1, 2] = Field(default=1, description="Lagrange degree of phi and T")
    newton: Newton = Field(default_factory=Newton, description="nonlinear tolerances")
    petsc: dict[str, PetscValue] = Field(description="PETSc options (no leading '-'), e.g. snes_linesearch_type: bt",
        default_factory=lambda: {
            "ksp_type": "preonly",
            "pc_type": "lu",
            "pc_factor_mat_solver_type": "mumps",
        }
    )
    continuation: Continuation = Field(default_factory=Continuation, description="steps in the drive")

    @field_validator("petsc")
    @classmethod
    def _check_petsc(cls, value: dict) -> dict:
        for key in value:
            if not key or key.startswith("-") or not key.replace("_", "").isalnum():
                raise ValueError(f"{key!r}: PETSc option names are like ksp_type (no leading '-')")
        return value


# ---------------------------------------------------------------- the document


class Config(Model):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)] = Field(
        description="results go to results/<name>/ (default: the config file's name)")
    units: Literal["nm", "um", "mm", "m"] = Field(
        default="nm", description="length unit of geometry, mesh and probes (everything else is SI)")
    geometry: Geometry = Field(description="the axisymmetric cell")
    mesh: MeshOptions = Field(description="element sizes (default: scaled from the geometry)")
    materials: dict[Name, Material] = Field(
        default_factory=dict, description="additions to / overrides of the built-in library")
    electrical: Electrical = Field(default_factory=Electrical, description="terminals")
    thermal: Thermal = Field(default_factory=Thermal, description="thermal boundaries")
    analysis: Analysis = Field(default_factory=Analysis, description="steady or transient")
    probes: dict[Name, Probe] = Field(default_factory=dict, description="regions where QoIs are averaged")
    sweep: Sweep = Field(default_factory=Sweep, description="what `filatherm sweep` varies")
    kinetics: Optional[Kinetics] = Field(default=None, description="switching kinetics (needed by fit and run)")
    crossbar: Crossbar = Field(default_factory=Crossbar, description="compact crossbar model")
    training: Training = Field(default_factory=Training, description="hardware-aware training")
    solver: Solver = Field(default_factory=Solver, description="discretisation and nonlinear solver")

    @model_validator(mode="before")
    @classmethod
    def _default_mesh(cls, data: Any) -> Any:
        """Mesh sizes scale with the geometry when the config leaves them out."""
        if not isinstance(data, dict) or "mesh" in data:
            return data
        geometry = data.get("geometry")
        try:
            radius = float(geometry["radius"])
            radii = [
                min(float(v) for k, v in layer["filament"].items() if k in ("radius", "top_radius"))
                for layer in geometry["layers"]
                if isinstance(layer.get("filament"), dict)
            ]
        except (TypeError, KeyError, ValueError, AttributeError):
            return data  # the geometry's own errors are more useful than a mesh one
        smallest = min(radii) if radii else radius / 10
        return {
            **data,
            "mesh": {
                "size": radius / 20,
                "filament_size": smallest / 12,
                "refine_distance": 3 * smallest,
            },
        }

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        if not all(math.isfinite(v) for v in self.scale_lengths()):
            raise ValueError("geometry: lengths overflow when converted to metres")
        used = [("geometry.layers[%d].material" % i, layer.material) for i, layer in enumerate(self.geometry.layers)]
        used += [
            ("geometry.layers[%d].filament.material" % i, layer.filament.material)
            for i, layer in enumerate(self.geometry.layers)
            if layer.filament is not None
        ]
        for where, material in used:
            if material not in self.materials:
                known = ", ".join(sorted(self.materials))
                raise ValueError(f"{where}: unknown material {material!r} (known: {known})")
        if self.analysis.kind == "transient":
            if self.analysis.pulse is None:
                raise ValueError("analysis.pulse: required for a transient analysis")
            for where, material in used:
                if self.materials[material].heat_capacity is None:
                    raise ValueError(
                        f"materials.{material}.heat_capacity: required for a transient analysis "
                        f"(used at {where})"
                    )
        layers = {layer.name: layer for layer in self.geometry.layers}
        for name, probe in self.probes.items():
            if probe.layer not in layers:
                raise ValueError(f"probes.{name}.layer: no layer named {probe.layer!r}")
            if probe.r_max > self.geometry.radius:
                raise ValueError(f"probes.{name}.r_max: outside the cell radius {self.geometry.radius}")
            if probe.z_max > layers[probe.layer].thickness:
                raise ValueError(
                    f"probes.{name}.z_max: outside the layer ({layers[probe.layer].thickness} thick)"
                )
        if self.kinetics is not None and self.kinetics.probe not in self.probes:
            raise ValueError(f"kinetics.probe: no probe named {self.kinetics.probe!r}")
        if self.mesh.filament_size > self.mesh.size:
            raise ValueError("mesh.filament_size: larger than mesh.size")
        return self

    def scale_lengths(self) -> tuple[float, ...]:
        scale = self.length_scale
        return (self.geometry.radius * scale, self.geometry.height * scale)

    @property
    def length_scale(self) -> float:
        """Metres per config length unit."""
        return LENGTH_UNITS[self.units]
