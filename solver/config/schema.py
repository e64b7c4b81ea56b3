"""Typed, immutable models of the YAML configuration (docs/config.md).

Every model forbids unknown keys (a typo must never pass silently) and non-finite
numbers. Lengths in `geometry`, `mesh` and `probes` are in the config's `units`;
everything else is SI. Cross-field checks that need the whole document (materials that
exist, probes inside the geometry, properties the analysis needs) live on :class:`Config`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal, Optional, Union

import annotated_types

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_serializer,
    model_validator,
)

from solver.base import Name, NonNegative, Positive, StrictModel
from solver.config.calibration import Calibration
from solver.materials.kinetics import Kinetics
from solver.materials.laws import ConstantLaw, law_union, number_as_constant

LENGTH_UNITS = {"nm": 1e-9, "um": 1e-6, "mm": 1e-3, "m": 1.0}

Model = StrictModel


# ---------------------------------------------------------------- materials


class Material(Model):
    """Temperature-dependent properties of one material (SI units); each property is one of
    the laws of solver.materials.laws."""

    electrical_conductivity: law_union("electrical_conductivity") = Field(description="sigma [S/m]")
    thermal_conductivity: law_union("thermal_conductivity") = Field(description="kappa [W/(m K)]")
    seebeck: law_union("seebeck") = Field(default_factory=lambda: ConstantLaw(value=0.0), description="S [V/K]")
    heat_capacity: Optional[law_union("heat_capacity")] = Field(default=None, description="rho c_p [J/(m^3 K)]")
    description: Optional[str] = Field(default=None, description="free text")

    _coerce = field_validator(
        "electrical_conductivity", "thermal_conductivity", "seebeck", "heat_capacity", mode="before"
    )(number_as_constant)

    # sigma, kappa and rho c_p must be positive over the temperatures a solve can reach; the
    # range depends on the boundaries and the solver, so Config checks it (_cross_checks).
    POSITIVE: ClassVar[tuple[str, ...]] = ("electrical_conductivity", "thermal_conductivity", "heat_capacity")


class StateVariable(Model):
    """The device's internal state: one physical quantity (e.g. the average oxygen-vacancy
    concentration of the CMO switching region) that material laws may depend on through
    `StateLinear` parameters ({intercept, slope, minimum}); sweep it with
    `sweep.parameters: {state.value: [...]}` (docs/physics.md, "Device state")."""

    name: Name = Field(description="what the state is, e.g. vacancy_concentration")
    unit: str = Field(max_length=32, description="its unit, e.g. 1/m^3")
    value: float = Field(description="the state of the cell that is solved [unit of the state]")
    minimum: Optional[float] = Field(default=None,
                                     description="smallest physical value, e.g. the HRS [unit of the state]")
    maximum: Optional[float] = Field(default=None,
                                     description="largest physical value, e.g. the LRS [unit of the state]")
    description: Optional[str] = Field(default=None, description="free text")

    @model_validator(mode="after")
    def _ordered(self) -> StateVariable:
        if self.minimum is not None and self.maximum is not None and self.minimum >= self.maximum:
            raise ValueError("maximum: must be larger than minimum")
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


GEOMETRY_KINDS = ("axisymmetric", "cell3d", "tile")
TILE_REGIONS = ("substrate", "fill", "cap")  # region names a tile adds to its layers'


class Tile(Model):
    """An N x M crossbar tile of the layer stack (solver.geometry.tile): the first layer forms
    the word lines (along x, one per row), the last the bit lines (along y, one per column),
    the layers between them a pillar of line_width x line_width at every crossing, with the
    filament at the pillar's centre (plus geometry.filament_position). A dielectric fill
    surrounds lines and pillars; a substrate lies below, a cap above."""

    rows: int = Field(default=3, ge=1, le=32, description="word lines (rows of cells)")
    cols: int = Field(default=3, ge=1, le=32, description="bit lines (columns of cells)")
    pitch: Positive = Field(description="distance between neighbouring lines (config units)")
    line_width: Positive = Field(description="width of every line and side of every pillar (config units)")
    margin: Optional[Positive] = Field(
        default=None, description="fill beyond the outermost lines, to the outer faces (config units); "
        "default: one pitch")
    fill: str = Field(default="SiO2", description="material between lines and pillars, of substrate and cap")
    substrate: Positive = Field(description="thickness of the fill below the word lines (config units)")
    cap: Positive = Field(description="thickness of the fill above the bit lines (config units)")

    @model_validator(mode="after")
    def _check(self) -> Tile:
        if self.line_width >= self.pitch:
            raise ValueError(f"line_width: {self.line_width} is not smaller than the pitch {self.pitch}")
        return self

    @property
    def margin_length(self) -> float:
        return self.margin if self.margin is not None else self.pitch

    def centres(self) -> list[tuple[int, int, float, float]]:
        """(row, col, x, y) of every cell: bit line `col` at x = col pitch, word line `row` at
        y = row pitch (config units)."""
        return [(i, j, j * self.pitch, i * self.pitch) for i in range(self.rows) for j in range(self.cols)]

    def extent(self) -> tuple[float, float, float, float]:
        """(x_min, x_max, y_min, y_max) of the tile (config units)."""
        reach = self.line_width / 2 + self.margin_length
        return (-reach, (self.cols - 1) * self.pitch + reach, -reach, (self.rows - 1) * self.pitch + reach)

    def line_names(self) -> tuple[str, ...]:
        """The facet groups of the line ends: word line i at x_min is `row<i>`, bit line j at
        y_min is `col<j>`."""
        return tuple(f"row{i}" for i in range(self.rows)) + tuple(f"col{j}" for j in range(self.cols))


class Geometry(Model):
    kind: Literal["axisymmetric", "cell3d", "tile"] = Field(
        default="axisymmetric", description="axisymmetric: the (r, z) half-plane of the cell; cell3d: the "
        "same cell as a 3D cylinder; tile: an array of cells with word and bit lines (geometry.tile)")
    radius: Optional[Positive] = Field(default=None, description="outer radius of the simulated cell "
                                       "(axisymmetric and cell3d)")
    layers: tuple[Layer, ...] = Field(min_length=1, description="bottom to top")
    filament_position: tuple[float, float] = Field(
        default=(0.0, 0.0), description="(x, y) of the filaments' axis from the cell's centre (config units; "
        "3D kinds only); the probes are centred on it")
    tile: Optional[Tile] = Field(default=None, description="the array tile (kind: tile)")

    @model_validator(mode="after")
    def _check(self) -> Geometry:
        if self.kind == "tile":
            if self.tile is None:
                raise ValueError("tile: required key missing (kind: tile)")
            if len(self.layers) < 3:
                raise ValueError("layers: a tile needs at least 3 layers (word lines, a cell stack, bit lines)")
        else:
            if self.radius is None:
                raise ValueError(f"radius: required key missing (kind: {self.kind})")
            if self.tile is not None:
                raise ValueError(f"tile: only for kind: tile (this geometry is {self.kind})")
        if self.kind == "axisymmetric" and self.filament_position != (0.0, 0.0):
            raise ValueError("filament_position: the axisymmetric cell has its filament on the axis "
                             "(use kind: cell3d for an off-axis filament)")
        reserved = ("top", "bottom", "outer", "axis") + (TILE_REGIONS if self.kind == "tile" else ())
        names: set[str] = set()
        for i, layer in enumerate(self.layers):
            region_names = [layer.name] + ([f"{layer.name}_filament"] if layer.filament else [])
            for name in region_names:
                if "__" in name:
                    raise ValueError(f"layers[{i}].name: '__' is reserved for interface names")
                if name in names or name in reserved:
                    raise ValueError(f"layers[{i}].name: region name {name!r} is used twice")
                names.add(name)
            fil = layer.filament
            if fil is None:
                continue
            where = f"layers[{i}].filament"
            if self.kind == "tile" and i in (0, len(self.layers) - 1):
                raise ValueError(f"{where}: the first and last layers of a tile are its lines; a filament "
                                 "belongs to a layer between them")
            room = self.lateral_room()
            for key in ("radius", "top_radius"):
                value = getattr(fil, key)
                if value is not None and value + self.offset() >= room:
                    what = "the pillar half-width" if self.kind == "tile" else "the cell radius"
                    raise ValueError(f"{where}.{key}: {value} (at {self.offset():g} off the centre) does not "
                                     f"fit inside {what} {room}")
            if fil.height is not None and fil.height > layer.thickness:
                raise ValueError(
                    f"{where}.height: {fil.height} exceeds the layer thickness {layer.thickness}"
                )
        return self

    def offset(self) -> float:
        """Distance of the filament axis from the cell's centre (config units)."""
        return math.hypot(*self.filament_position)

    def lateral_room(self) -> float:
        """Radius around the cell's centre that a filament or probe must stay within: the cell
        radius, or half the pillar side in a tile (config units)."""
        return self.tile.line_width / 2 if self.kind == "tile" else self.radius

    @property
    def is_3d(self) -> bool:
        return self.kind != "axisymmetric"

    def filament_rims(self) -> list[tuple[float, float]]:
        """(r, z) of each filament's top rim, in config units: the re-entrant corner where a
        conductor meets the layer above, at which the field is singular (its maximum grows
        without bound under mesh refinement)."""
        return [(fil.top_radius or fil.radius, z0 + (fil.height or layer.thickness))
                for layer, z0 in zip(self.layers, self.z_bottoms())
                if (fil := layer.filament) is not None]

    def z_bottoms(self) -> list[float]:
        """z of each layer's bottom face, in config units (a tile's substrate lies below 0)."""
        z, out = 0.0, []
        for layer in self.layers:
            out.append(z)
            z += layer.thickness
        return out

    @property
    def height(self) -> float:
        """Height of the layer stack (config units; without a tile's substrate and cap)."""
        return sum(layer.thickness for layer in self.layers)

    @property
    def boundary_groups(self) -> tuple[str, ...]:
        """Facet groups of the outer boundary that take conditions (solver.geometry names
        them; the axis r = 0 is a symmetry line, not a boundary). A tile adds its line ends."""
        if self.kind == "tile":
            return ("bottom", "top", "outer") + self.tile.line_names()
        return ("bottom", "top", "outer")

    def scale_lengths(self) -> tuple[float, ...]:
        """The lengths that set the size of the model (config units)."""
        if self.kind == "tile":
            x0, x1, y0, y1 = self.tile.extent()
            return (x1 - x0, y1 - y0, self.height + self.tile.substrate + self.tile.cap)
        return (self.radius, self.height)


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
    current: float = Field(description="total current into the terminal [A]")


class FractionTerminal(Model):
    """A terminal held at a fixed fraction of the driven terminal's potential U (V/2, V/3 and
    2V/3 lines of a crossbar biasing scheme)."""

    fraction: float = Field(description="its potential / the driven terminal's potential U [1]")


def _terminal_tag(value: Any) -> Optional[str]:
    if isinstance(value, dict):
        if "current" in value:
            return "terminal:current"
        if "fraction" in value:
            return "terminal:fraction"
        return "terminal:voltage" if "voltage" in value else None
    if isinstance(value, FractionTerminal):
        return "terminal:fraction"
    return "terminal:current" if isinstance(value, CurrentTerminal) else "terminal:voltage"


Terminal = Annotated[
    Union[Annotated[VoltageTerminal, Tag("terminal:voltage")], Annotated[CurrentTerminal, Tag("terminal:current")],
          Annotated[FractionTerminal, Tag("terminal:fraction")]],
    Discriminator(
        _terminal_tag,
        custom_error_type="terminal",
        custom_error_message="expected {voltage: V, series_resistance: Ohm}, {current: A} or {fraction: f}",
    ),
]


class Electrical(Model):
    """Electrical conditions keyed by the geometry's boundary facet groups (`top`, `bottom`,
    `outer`; a tile's line ends `row<i>`, `col<j>`). The group named by `drive` is the driven
    terminal (an equipotential at the swept voltage, through an optional series resistor, or
    carrying a set current); every other group named here is grounded, {voltage: 0}, or held
    at a fraction of the driven terminal's potential, {fraction: f}; groups not named carry no
    current."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Terminal] = Field(init=False)
    boundary_description: ClassVar[str] = (
        "per boundary facet group (`top`, `bottom`, `outer`; a tile's `row<i>`, `col<j>`): the driven "
        "terminal {voltage [V], series_resistance [Ohm]} or {current [A]}, a ground {voltage: 0}, or "
        "{fraction [1]} of the driven terminal's potential; default (when `drive` is not given) top "
        "{voltage: 1.0}, bottom {voltage: 0}")
    drive: Name = Field(default="top", description="facet group of the driven terminal")

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if "drive" not in data:
            data = dict(data)
            data.setdefault("top", {"voltage": 1.0})
            data.setdefault("bottom", {"voltage": 0.0})
        for name, value in data.items():
            # `--set electrical.top.current=1e-4` adds a current to the default voltage
            # terminal: name what was given rather than the key the user never typed
            if isinstance(value, dict) and "current" in value and value.keys() & {"voltage", "series_resistance"}:
                raise ValueError(f"{name}: has both a voltage and a current; a terminal is {{voltage: V, "
                                 f"series_resistance: Ohm}} or {{current: A}} (e.g. --set "
                                 f"'electrical.{name}={{current: {value['current']}}}')")
        return data

    @model_validator(mode="after")
    def _one_driven_terminal(self) -> Electrical:
        if self.drive not in self.boundaries:
            raise ValueError(f"{self.drive}: the driven terminal (drive: {self.drive}) needs a condition")
        if isinstance(self.terminal, FractionTerminal):
            raise ValueError(f"{self.drive}: the driven terminal has a voltage or a current, not a fraction")
        for name, terminal in self.boundaries.items():
            grounded = isinstance(terminal, VoltageTerminal) and terminal.voltage == 0 \
                and terminal.series_resistance == 0
            if name != self.drive and not grounded and not isinstance(terminal, FractionTerminal):
                raise ValueError(f"{name}: only the driven terminal ({self.drive}) has a voltage or "
                                 "current; other electrical boundaries are grounds, {voltage: 0}, or "
                                 "{fraction: f} of the driven terminal's potential")
        return self

    @property
    def boundaries(self) -> dict[str, Any]:
        """Facet group -> condition (the driven terminal, the grounds, the fraction terminals)."""
        return dict(self.__pydantic_extra__ or {})

    @property
    def terminal(self):
        """The driven terminal's condition."""
        return self.boundaries[self.drive]

    @property
    def grounds(self) -> list[str]:
        return [name for name, bc in self.boundaries.items()
                if name != self.drive and not isinstance(bc, FractionTerminal)]

    def potential_fractions(self) -> dict[str, float]:
        """Terminal -> its potential over the driven terminal's U: 1 for the driven terminal,
        `fraction` for a fraction terminal, 0 for a ground."""
        return {name: 1.0 if name == self.drive else (bc.fraction if isinstance(bc, FractionTerminal) else 0.0)
                for name, bc in self.boundaries.items()}


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


DEFAULT_THERMAL = {"top": {"temperature": 300.0}, "bottom": {"temperature": 300.0}, "outer": "insulated"}


class Thermal(Model):
    """Thermal conditions keyed by the geometry's boundary facet groups: each is
    {temperature: K} | {h: W/(m^2 K), ambient: K} | insulated. `top`, `bottom` (300 K) and
    `outer` (insulated) have defaults; a group not named is insulated."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, ThermalBC] = Field(init=False)
    boundary_description: ClassVar[str] = (
        "per boundary facet group (`top`, `bottom`, `outer`): {temperature: K} | {h: W/(m^2 K), "
        "ambient: K} | insulated; default top and bottom 300 K, outer insulated, others insulated")
    initial_temperature: Positive = Field(default=300.0, description="[K]")

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {**DEFAULT_THERMAL, **data}
        return data

    @property
    def boundaries(self) -> dict[str, Any]:
        """Facet group -> condition."""
        return dict(self.__pydantic_extra__ or {})

    @property
    def reference_temperature(self) -> float:
        """The ambient the device sits in: the first fixed or convective temperature (bottom
        first, then top, then the other groups)."""
        boundaries = self.boundaries
        order = [name for name in ("bottom", "top") if name in boundaries]
        order += [name for name in boundaries if name not in order]
        for name in order:
            bc = boundaries[name]
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
    tolerance: Positive = Field(default=1e-2, description="global error target of T, relative to its rise: each "
                                "step's local error is held below tolerance x rise x dt / pulse duration")
    dt_initial: Positive = Field(default=1e-12, description="first step, and first step after each corner of "
                                 "the pulse (the fixed step if not adaptive) [s]")
    dt_min: Positive = Field(default=1e-16, description="smallest step before giving up [s]")
    dt_max: Optional[Positive] = Field(default=None, description="largest step [s]; default: none (the error "
                                       "control sets the step; this is a cap, not the accuracy knob)")
    snapshots: Optional[tuple[NonNegative, ...]] = Field(
        default=None, description="field output times [s]; default: end of each plateau and the end")


class Analysis(Model):
    kind: Literal["steady", "transient"] = Field(default="steady", description="what `filatherm solve` does")
    pulse: Optional[Pulse] = Field(default=None, description="the pulse of a transient analysis")
    time: TimeStepping = Field(default_factory=TimeStepping, description="time stepping of a transient")


class Probe(Model):
    """A region of one layer where QoIs are averaged; z is relative to the layer bottom. An
    annulus about the axis; in 3D a cylinder about the filament's axis (in a tile, one per cell:
    `<probe>_r<i>_c<j>`)."""

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
    error_estimate: bool = Field(
        default=False, description="also sweep the config's own parameter set on meshes x2 and /2 "
        "(RESULTS/mesh_error/); `fit` then gives V_write, T at V_write and the half-select ratio an error bar")

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


class PlainSGD(Model):
    """Plain parallel SGD: every sample's gradient step -lr delta a^T is one stochastic pulse
    update of the weight pairs (solver.crossbar.optimizers.PlainSGD)."""

    name: Literal["sgd"] = Field(default="sgd", description="plain parallel SGD")


class TikiTaka(Model):
    """Tiki-Taka v1 (Gokmen & Haensch, Front. Neurosci. 14:103, 2020): a fast array A takes the
    pulsed gradient updates; its columns are read one at a time and added to the slow weight
    pairs C by pulsed parallel updates; the network uses W = gamma A + C."""

    name: Literal["tiki_taka"] = Field(default="tiki_taka", description="Tiki-Taka with fast array A and slow array C")
    gamma: NonNegative = Field(default=0.1, description="weight of A in W = gamma A + C (dimensionless)")
    fast_learning_rate: Positive = Field(
        default=0.2, description="step onto A: A += -fast_learning_rate delta a^T (W units per unit delta x "
                                 "activation), the same in every epoch")
    transfer_every: int = Field(default=1, ge=1, le=100_000,
                                description="samples between transfers; each transfer reads one column of A")
    transfer_learning_rate: Positive = Field(
        default=0.2, description="C += transfer_learning_rate / epoch x (the column of A read) per transfer "
                                 "(dimensionless)")


class ChoppedTikiTaka(Model):
    """Chopped Tiki-Taka (TTv2 with a chopper, c-TTv2: Gokmen, Front. AI 4:699148, 2021; Rasch et
    al., Nat. Commun. 15:7133, 2024): A takes the gradient with the sign of its column's chopper;
    the column read back (times the chopper) is accumulated in a digital buffer H, and C gets
    whole pulses where |H| crosses the threshold; W = C."""

    name: Literal["chopped_tiki_taka"] = Field(default="chopped_tiki_taka",
                                               description="Tiki-Taka with digital buffer H and chopper")
    fast_learning_rate: Positive = Field(
        default=1.0, description="step onto A: A += -fast_learning_rate chopper delta a^T (W units per unit "
                                 "delta x activation), the same in every epoch")
    transfer_every: int = Field(default=1, ge=1, le=100_000,
                                description="samples between transfers; each transfer reads one column of A")
    transfer_learning_rate: Positive = Field(
        default=0.1, description="H += transfer_learning_rate / epoch x chopper x (the column of A read), in "
                                 "units of the W step of one pulse pair on C (dimensionless)")
    threshold: float = Field(default=1.0, gt=0, le=1, description=(
        "|H| [pulses] from which a pulse is written: n = sign(H) floor(|H| + 1 - threshold) pulses "
        "(1: truncate, 0.5: round)"))
    max_pulses: int = Field(default=1, ge=1, le=1000, description="most pulses written to one device per transfer")
    forget_buffer: bool = Field(default=True, description=(
        "after a write, H = 0 where pulses were written (true) or H -= the pulses written (false)"))
    chopper_probability: float = Field(default=0.1, ge=0, le=1, description=(
        "chance that a column's chopper flips after its read (0: no chopper, i.e. TTv2)"))
    chopper_random: bool = Field(default=True, description=(
        "flip at random with that chance (true) or regularly every round(1/chopper_probability) reads (false)"))


class MixedPrecision(Model):
    """Mixed precision (Nandakumar et al., Front. Neurosci. 14:406, 2020): the gradient is
    accumulated digitally in chi (in pulses); every `transfer_every` samples the whole pulses in
    chi are written row by row into the weight pairs and taken off chi."""

    name: Literal["mixed_precision"] = Field(default="mixed_precision",
                                             description="digital accumulation, thresholded pulses")
    transfer_every: int = Field(default=1, ge=1, le=100_000, description="samples between writes of chi")
    threshold: float = Field(default=1.0, gt=0, le=1, description=(
        "|chi| [pulses] from which a pulse is written: n = sign(chi) floor(|chi| + 1 - threshold)"))
    max_pulses: int = Field(default=4, ge=1, le=1000, description="most pulses written to one device per write")


ALGORITHM_NAMES = ("sgd", "tiki_taka", "chopped_tiki_taka", "mixed_precision")


def _algorithm_tag(value: Any) -> Optional[str]:
    """`algorithm: tiki_taka` is shorthand for `{name: tiki_taka}` (the parameters' defaults)."""
    name = value if isinstance(value, str) else (
        value.get("name", "sgd") if isinstance(value, dict) else getattr(value, "name", None))
    return f"algorithm:{name}" if name in ALGORITHM_NAMES else None


def _algorithm_from_word(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


Algorithm = Annotated[
    Union[
        Annotated[PlainSGD, Tag("algorithm:sgd")],
        Annotated[TikiTaka, Tag("algorithm:tiki_taka")],
        Annotated[ChoppedTikiTaka, Tag("algorithm:chopped_tiki_taka")],
        Annotated[MixedPrecision, Tag("algorithm:mixed_precision")],
    ],
    Discriminator(_algorithm_tag, custom_error_type="unknown_algorithm",
                  custom_error_message="name must be one of " + ", ".join(ALGORITHM_NAMES)),
]

HalfSelectRatio = Annotated[float, annotated_types.Ge(0), annotated_types.Lt(1)]


class TrainingMap(Model):
    """The design maps of `filatherm train --map` (solver.crossbar.design_map): accuracy of each
    algorithm on a synthetic device whose half-select response is set by k (see
    solver.crossbar.device.half_select_device), over k x asymmetry (at crossbar.device_spread)
    and k x device_spread (at asymmetry 0)."""

    k: tuple[HalfSelectRatio, ...] = Field(
        default=(0.0, 0.002, 0.005, 0.01, 0.02, 0.05), min_length=2,
        description="half-select ratios k = dw(V_write/2) / dw(V_write) of the RESET (down) polarity "
                    "(dimensionless, increasing)")
    asymmetry: tuple[HalfSelectRatio, ...] = Field(
        default=(0.0, 0.005, 0.01, 0.02), min_length=1,
        description="k_up - k_down: the SET (up) polarity's ratio is k + asymmetry (dimensionless, increasing)")
    device_spread: tuple[NonNegative, ...] = Field(
        default=(0.0, 0.1, 0.2, 0.4), min_length=1,
        description="device-to-device sigmas of the log-normal step prefactor swept at asymmetry 0 "
                    "(dimensionless, increasing)")
    epochs: int = Field(default=2, ge=1, le=1000, description="passes over the training set per map point")
    seeds: int = Field(default=2, ge=1, le=100, description="networks per map point")

    @field_validator("k", "asymmetry", "device_spread")
    @classmethod
    def _increasing(cls, values: tuple) -> tuple:
        if any(b <= a for a, b in zip(values, values[1:])):
            raise ValueError("must be strictly increasing")
        return values

    @model_validator(mode="after")
    def _ratios_below_one(self) -> TrainingMap:
        if self.k[-1] + self.asymmetry[-1] >= 1:
            raise ValueError("asymmetry: k + asymmetry must stay below 1 (a half-select pulse smaller than a "
                             "full one)")
        return self


def _default_comparison() -> tuple:
    return (PlainSGD(), TikiTaka(), ChoppedTikiTaka(), MixedPrecision())


class Pulses(Model):
    """Pulse response of a device with a state (`filatherm pulses`, solver.compact.pulses)."""

    read_voltage: float = Field(default=0.2, description="device voltage of a read [V] (Galetta et al. 2025: 0.2 V)")
    max_pulses: int = Field(default=400, ge=1, le=100_000, description="pulses of each LTP / LTD train")
    resolution: Positive = Field(
        default=1e-8, description="smallest conductance step that counts as a distinguishable state [S] "
                                  "(programming noise of CMO/HfOx arrays, Falcone et al. arXiv:2502.04524: 10 nS)")
    grid_points: int = Field(default=241, ge=11, le=10_000,
                             description="states of the pulse maps, log-spaced over the state's range")

    @field_validator("read_voltage")
    @classmethod
    def _nonzero(cls, value: float) -> float:
        if value == 0:
            raise ValueError("must not be 0")
        return value


class Training(Model):
    """Hardware-aware training of an MLP (solver.crossbar.training) on scikit-learn's digits or
    a user data set."""

    hidden: int = Field(default=32, ge=1, le=1024, description="hidden units of the inputs-hidden-classes MLP")
    epochs: int = Field(default=4, ge=1, le=1000, description="passes over the training set")
    learning_rate: Positive = Field(
        default=0.05, description="SGD step of epoch 1 (batch size 1); epoch e uses it / e"
    )
    seeds: int = Field(default=3, ge=1, le=100, description="independent runs per device")
    test_fraction: float = Field(default=0.25, gt=0, lt=1, description="share held out for testing")
    weight_range: Positive = Field(
        default=1.0, description="|W| of a differential pair with one device at each bound"
    )
    data: str = Field(default="digits", min_length=1, description=(
        "`digits` (scikit-learn's bundled 8x8 digits) or the path of an .npz file: x (samples x features, or "
        "samples x height x width), y (integer labels 0..classes-1), optional split (0 train, 1 test; else "
        "a stratified test_fraction)"))
    algorithm: Algorithm = Field(default_factory=PlainSGD, description=(
        "optimizer on the crossbar: {name: sgd | tiki_taka | chopped_tiki_taka | mixed_precision, its "
        "parameters} (a bare name takes the defaults)"))
    compare: tuple[Algorithm, ...] = Field(default_factory=_default_comparison, min_length=1, description=(
        "the algorithms `filatherm train --compare` and `--map` run (bare names take the defaults)"))
    map: TrainingMap = Field(default_factory=TrainingMap, description="grid of `filatherm train --map`")

    _words = field_validator("algorithm", mode="before")(_algorithm_from_word)

    @field_validator("compare", mode="before")
    @classmethod
    def _compare_words(cls, value: Any) -> Any:
        return tuple(_algorithm_from_word(v) for v in value) if isinstance(value, (list, tuple)) else value

    @field_validator("compare")
    @classmethod
    def _distinct(cls, value: tuple) -> tuple:
        names = [a.name for a in value]
        if len(set(names)) != len(names):
            raise ValueError("each algorithm may appear once")
        return value


CROSSTALK_CASES = ("one_cell", "row", "column", "all_half")


class Crosstalk(Model):
    """`filatherm crosstalk` (solver.crosstalk): biasing cases solved on the tile at several
    pitches, every cell's probe temperature and switching rate, the coupling matrix and the
    disturbance it adds. The biasing scheme is crossbar.scheme (V/2 or V/3)."""

    device: Name = Field(default="default", description="results/<device>/model/compact_model.json is the "
                         "compact model of the matching axisymmetric cell (--model overrides)")
    pitches: tuple[Positive, ...] = Field(default=(50.0, 100.0, 200.0, 400.0), min_length=1, max_length=20,
                                          description="tile pitches to solve (config units)")
    polarity: Literal["positive", "negative"] = Field(default="positive", description="polarity of the pulses")
    voltage: Optional[float] = Field(default=None, description="full pulse amplitude V [V], signed; default: "
                                     "the compact model's V_write of the polarity")
    cases: tuple[Literal["one_cell", "row", "column", "all_half"], ...] = Field(
        default=CROSSTALK_CASES, min_length=1, description="one_cell: the middle cell at V, its row and column "
        "half-selected; row: the middle row at V, the rest at V/2 (V/3); column: the middle column at V; "
        "all_half: every cell at V/2 (V/3)")


class Newton(Model):
    rtol: Positive = Field(default=1.0e-8, description="converged when every field's Newton update is "
                                                        "below rtol x its magnitude ...")
    atol: Positive = Field(default=1.0e-10, description="... or below atol (V for the potential, K for T)")
    max_it: int = Field(default=30, ge=1, le=1000, description="Newton iterations per solve")
    reuse_jacobian: Optional[bool] = Field(
        default=None, description="keep the factorised Jacobian across Newton iterations and drive or time "
                                  "steps while it converges fast (chord iterations, refreshed when an update "
                                  "shrinks by less than 0.3x or a solve takes more than 5); default: on with "
                                  "a direct solver (pc_type lu: a factorisation to keep), off with an iterative one")

    def reuses_jacobian(self, petsc: dict) -> bool:
        """The chord setting in effect for these PETSc options (see reuse_jacobian)."""
        if self.reuse_jacobian is not None:
            return self.reuse_jacobian
        return petsc.get("pc_type") == "lu"


class Continuation(Model):
    max_step: Optional[Positive] = Field(
        default=None, description="largest step in the drive [V] at a voltage terminal, [A] at a current "
                                  "terminal; default 0.25 V, or a quarter of the largest |current| solved")
    min_step: Optional[Positive] = Field(
        default=None, description="smallest step before giving up (V or A); default 1e-4 V, or 1e-4 x the "
                                  "largest |current| solved")
    max_solves: int = Field(default=1000, ge=1, le=1_000_000,
                            description="Newton solves allowed on the way to one point (then no_convergence)")
    max_temperature: Positive = Field(
        default=1.0e4, description="ceiling [K]: a solved T_max above it ends the branch as `unphysical` "
                                   "(far above any melting point)")

    @model_validator(mode="after")
    def _ordered_steps(self) -> Continuation:
        if self.max_step is not None and self.min_step is not None and self.max_step < self.min_step:
            raise ValueError(f"max_step: {self.max_step:g} is smaller than min_step {self.min_step:g}")
        return self


# Continuation steps at a voltage terminal when the config gives none: largest, smallest [V].
VOLTAGE_STEPS = (0.25, 1e-4)

PetscValue = Union[bool, int, float, str]

DIRECT_PETSC = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}
# 3D kinds: GMRES preconditioned by one multiplicative block Gauss-Seidel sweep over the fields
# (phi with the terminal potential U, then T), each block by one BoomerAMG V-cycle with HMIS
# coarsening, distance-two (ext+i) interpolation truncated to 4 entries per row and strength
# threshold 0.5: the settings the hypre manual recommends for 3D diffusion (PETSc's defaults,
# Falgout/classical/0.25, made a linear solve 4x slower on the default cell in 3D). The index
# sets of the splits come from the mixed space (solver.fem.snes). The tight relative tolerance
# keeps Newton's quadratic convergence (the same iteration counts as LU).
ITERATIVE_PETSC = {
    "ksp_type": "gmres", "ksp_gmres_restart": 200, "ksp_rtol": 1.0e-10, "ksp_atol": 1.0e-30,
    "ksp_max_it": 2000,
    "pc_type": "fieldsplit", "pc_fieldsplit_type": "multiplicative",
    **{f"fieldsplit_{field}_{key}": value for field in ("phi", "T") for key, value in (
        ("ksp_type", "preonly"), ("pc_type", "hypre"), ("pc_hypre_type", "boomeramg"),
        ("pc_hypre_boomeramg_coarsen_type", "HMIS"), ("pc_hypre_boomeramg_interp_type", "ext+i"),
        ("pc_hypre_boomeramg_P_max", 4), ("pc_hypre_boomeramg_strong_threshold", 0.5))},
}


class Solver(Model):
    degree: Literal[1, 2] = Field(default=1, description="Lagrange degree of phi and T")
    newton: Newton = Field(default_factory=Newton, description="nonlinear tolerances")
    petsc: dict[str, PetscValue] = Field(
        description="PETSc options of the solvers (snes_*, ksp_*, pc_*, mat_*, and fieldsplit_phi_* / "
        "fieldsplit_T_* for the blocks of a fieldsplit preconditioner; no leading '-'), e.g. "
        "snes_linesearch_type: bt; true is a flag; viewers print to the terminal only; default: LU (MUMPS) "
        "for the axisymmetric cell, GMRES with a fieldsplit (phi, T) preconditioner and BoomerAMG per "
        "field for 3D kinds",
        default_factory=lambda: dict(DIRECT_PETSC))
    continuation: Continuation = Field(default_factory=Continuation, description="steps in the drive")

    @field_validator("petsc")
    @classmethod
    def _check_petsc(cls, value: dict) -> dict:
        from solver.fem.petsc_options import check_names_and_values  # no PETSc import: pure checks

        check_names_and_values(value)
        return value


# ---------------------------------------------------------------- the document


class Config(Model):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)] = Field(
        description="results go to results/<name>/ (default: the config file's name)")
    units: Literal["nm", "um", "mm", "m"] = Field(
        default="nm", description="length unit of geometry, mesh and probes (everything else is SI)")
    geometry: Geometry = Field(description="the cell (axisymmetric or 3D) or an array tile")
    mesh: MeshOptions = Field(description="element sizes (default: scaled from the geometry)")
    materials: dict[Name, Material] = Field(
        default_factory=dict, description="additions to / overrides of the built-in library")
    electrical: Electrical = Field(default_factory=Electrical, description="terminals")
    thermal: Thermal = Field(default_factory=Thermal, description="thermal boundaries")
    analysis: Analysis = Field(default_factory=Analysis, description="steady or transient")
    probes: dict[Name, Probe] = Field(default_factory=dict, description="regions where QoIs are averaged")
    sweep: Sweep = Field(default_factory=Sweep, description="what `filatherm sweep` varies")
    state: Optional[StateVariable] = Field(default=None, description="the device state material laws may depend on")
    kinetics: Optional[Kinetics] = Field(default=None, description="switching kinetics (needed by fit and run)")
    pulses: Pulses = Field(default_factory=Pulses, description="pulse response of a device with a state")
    crossbar: Crossbar = Field(default_factory=Crossbar, description="compact crossbar model")
    training: Training = Field(default_factory=Training, description="hardware-aware training")
    calibration: Calibration = Field(default_factory=Calibration,
                                     description="what `filatherm calibrate` fits (docs/measurements.md)")
    crosstalk: Crosstalk = Field(default_factory=Crosstalk, description="thermal crosstalk study on a tile")
    solver: Solver = Field(default_factory=Solver, description="discretisation and nonlinear solver")

    @model_validator(mode="before")
    @classmethod
    def _default_mesh(cls, data: Any) -> Any:
        """Mesh sizes scale with the geometry when the config leaves them out."""
        if not isinstance(data, dict) or "mesh" in data:
            return data
        geometry = data.get("geometry")
        try:
            if geometry.get("kind") == "tile":
                radius = float(geometry["tile"]["pitch"])
            else:
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

    @model_validator(mode="before")
    @classmethod
    def _default_solver(cls, data: Any) -> Any:
        """3D kinds default to the iterative solver (LU fill grows too fast in 3D)."""
        if not isinstance(data, dict) or not isinstance(data.get("geometry"), dict):
            return data
        if data["geometry"].get("kind", "axisymmetric") == "axisymmetric":
            return data
        solver = data.get("solver")
        if solver is None:
            solver = {}
        if isinstance(solver, dict) and "petsc" not in solver:
            data = {**data, "solver": {**solver, "petsc": dict(ITERATIVE_PETSC)}}
        return data

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        if not all(math.isfinite(v) for v in self.scale_lengths()):
            raise ValueError("geometry: lengths overflow when converted to metres")
        used = [("geometry.layers[%d].material" % i, layer.material) for i, layer in enumerate(self.geometry.layers)]
        if self.geometry.tile is not None:
            used.append(("geometry.tile.fill", self.geometry.tile.fill))
        used += [
            ("geometry.layers[%d].filament.material" % i, layer.filament.material)
            for i, layer in enumerate(self.geometry.layers)
            if layer.filament is not None
        ]
        for where, material in used:
            if material not in self.materials:
                known = ", ".join(sorted(self.materials))
                raise ValueError(f"{where}: unknown material {material!r} (known: {known})")
        for where, name in used:
            for key in ("electrical_conductivity", "thermal_conductivity", "seebeck", "heat_capacity"):
                law = getattr(self.materials[name], key)
                if law is not None and law.uses_state() and self.state is None:
                    raise ValueError(f"materials.{name}.{key}: depends on the device state (used at {where}); "
                                     "the config needs a `state:` block")
        if self.analysis.kind == "transient":
            if self.analysis.pulse is None:
                raise ValueError("analysis.pulse: required for a transient analysis")
            for where, material in used:
                if self.materials[material].heat_capacity is None:
                    raise ValueError(
                        f"materials.{material}.heat_capacity: required for a transient analysis "
                        f"(used at {where})"
                    )
        geometry = self.geometry
        layers = {layer.name: layer for layer in geometry.layers}
        for name, probe in self.probes.items():
            if probe.layer not in layers:
                raise ValueError(f"probes.{name}.layer: no layer named {probe.layer!r}")
            if probe.r_max + geometry.offset() > geometry.lateral_room():
                what = "the pillar half-width" if geometry.kind == "tile" else "the cell radius"
                raise ValueError(f"probes.{name}.r_max: outside {what} {geometry.lateral_room()}")
            if geometry.kind == "tile" and probe.layer in (geometry.layers[0].name, geometry.layers[-1].name):
                raise ValueError(f"probes.{name}.layer: {probe.layer} forms the tile's lines; a probe belongs "
                                 "to a layer of the cell stack between them")
            if probe.z_max > layers[probe.layer].thickness:
                raise ValueError(
                    f"probes.{name}.z_max: outside the layer ({layers[probe.layer].thickness} thick)"
                )
        for section, conditions in (("electrical", self.electrical.boundaries),
                                    ("thermal", self.thermal.boundaries)):
            for name in conditions:
                if name not in self.geometry.boundary_groups:
                    raise ValueError(f"{section}.{name}: not a boundary of the cell (its boundaries: "
                                     f"{', '.join(self.geometry.boundary_groups)})")
        if geometry.kind == "tile" and self.electrical.drive not in geometry.tile.line_names():
            raise ValueError(f"electrical.drive: a tile is driven through a line end (row<i> or col<j>), "
                             f"not {self.electrical.drive!r}")
        if self.kinetics is not None and self.kinetics.probe not in self.probes:
            raise ValueError(f"kinetics.probe: no probe named {self.kinetics.probe!r}")
        if self.kinetics is not None and self.kinetics.statistic == "max" and self.kinetics.uses_field:
            probe = self.probes[self.kinetics.probe]
            z0 = self.geometry.z_bottoms()[[layer.name for layer in self.geometry.layers].index(probe.layer)]
            for r, z in self.geometry.filament_rims():
                if probe.r_min <= r <= probe.r_max and z0 + probe.z_min <= z <= z0 + probe.z_max:
                    raise ValueError(
                        f"kinetics.statistic: max takes the field maximum of probe {self.kinetics.probe!r}, "
                        f"which touches the filament rim at r = {r:g}, z = {z:g} {self.units} where the field "
                        "is singular (it grows ~40% per mesh halving); use `mean`")
        if self.mesh.filament_size > self.mesh.size:
            raise ValueError("mesh.filament_size: larger than mesh.size")
        low, high = self.reachable_temperatures()
        for where, name in used:
            for key in Material.POSITIVE:
                law = getattr(self.materials[name], key)
                if law is not None and not law.is_positive(low, high):
                    raise ValueError(f"materials.{name}.{key}: must be positive from {low:g} to {high:g} K, "
                                     f"the temperatures a solve can reach (used at {where})")
        steps = self.solver.continuation
        if isinstance(self.electrical.terminal, VoltageTerminal):
            largest, smallest = steps.max_step or VOLTAGE_STEPS[0], steps.min_step or VOLTAGE_STEPS[1]
            if largest < smallest:
                raise ValueError(f"solver.continuation.max_step: {largest:g} V is smaller than min_step "
                                 f"{smallest:g} V")
        return self

    def reachable_temperatures(self) -> tuple[float, float]:
        """[K] the range the solver evaluates the material laws over: from half the coldest
        boundary, ambient or initial temperature (the continuation's predictor clamps
        temperatures at half the previous minimum; Peltier cooling stays far above that) to
        the continuation's ceiling, solver.continuation.max_temperature."""
        temperatures = [self.thermal.initial_temperature]
        for bc in self.thermal.boundaries.values():
            if isinstance(bc, FixedTemperature):
                temperatures.append(bc.temperature)
            elif isinstance(bc, Convective):
                temperatures.append(bc.ambient)
        return 0.5 * min(temperatures), self.solver.continuation.max_temperature

    def scale_lengths(self) -> tuple[float, ...]:
        scale = self.length_scale
        return tuple(length * scale for length in self.geometry.scale_lengths())

    @property
    def length_scale(self) -> float:
        """Metres per config length unit."""
        return LENGTH_UNITS[self.units]
