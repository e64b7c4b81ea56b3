"""Fit parameters: numbers of a config named by key path, their bounds and fit variables.

A fitted number p is moved in the variable x = ln p (log scale) or x = p (linear). The
variables are what the least-squares fit and its covariance see; `values(x)` turns them back.
Each parameter either changes a solved point (materials, geometry, electrical and thermal
numbers: a FEM solve per value) or only what is computed from solved points (kinetics: no FEM
solve at all); solver.config.sections says which section is which.

`enumerate_parameters` lists the numbers of a config a sensitivity study can perturb.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
from pydantic import BaseModel

from solver.config.calibration import DEFAULT_GEOMETRY_STEP, DEFAULT_STEP, FitParameter
from solver.config import Config, config_data, with_overrides
from solver.config.keypath import get_path, parse_path
from solver.config.sections import SECTIONS, STEADY
from solver.errors import ConfigError, InputError
from solver.quantities import STATE_UNIT

# Sections whose numbers a calibration may fit: those of a solved point that describe the
# device and its conditions, and the kinetics (applied to solved points afterwards).
FEM_SECTIONS = ("geometry", "materials", "electrical", "thermal")
POST_SECTIONS = ("kinetics",)
STATE_PATH = "state.value"


@dataclass(frozen=True)
class Parameter:
    """One fitted number: key path, bounds [its unit], fit variable and finite-difference step."""

    path: str
    label: str
    unit: str
    lower: float
    upper: float
    log: bool
    initial: float
    step: float          # in the fit variable: ln p (log) or p (linear, already times upper - lower)
    fem: bool            # changes a solved point

    def variable(self, value: float) -> float:
        return math.log(value) if self.log else float(value)

    def value(self, variable: float) -> float:
        return math.exp(variable) if self.log else float(variable)

    @property
    def variable_bounds(self) -> tuple[float, float]:
        return self.variable(self.lower), self.variable(self.upper)

    @property
    def width(self) -> float:
        """upper - lower in the fit variable."""
        low, high = self.variable_bounds
        return high - low


class ParameterSpace:
    """The fitted parameters of a config (its `calibration.parameters`, or given ones)."""

    def __init__(self, config: Config, fitted: Optional[Sequence[FitParameter]] = None,
                 where: str = "calibration.parameters"):
        fitted = config.calibration.parameters if fitted is None else tuple(fitted)
        if not fitted:
            raise ConfigError(f"{where}: no parameters to fit (give each a path and bounds)")
        self.config = config
        data = config_data(config)
        self.parameters = [_resolve(config, data, spec, f"{where}[{i}]") for i, spec in enumerate(fitted)]

    def __len__(self) -> int:
        return len(self.parameters)

    @property
    def paths(self) -> list[str]:
        return [p.path for p in self.parameters]

    @property
    def labels(self) -> list[str]:
        return [p.label for p in self.parameters]

    def initial_variables(self) -> np.ndarray:
        return np.array([p.variable(p.initial) for p in self.parameters])

    def variable_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        bounds = np.array([p.variable_bounds for p in self.parameters])
        return bounds[:, 0], bounds[:, 1]

    def widths(self) -> np.ndarray:
        return np.array([p.width for p in self.parameters])

    def steps(self) -> np.ndarray:
        return np.array([p.step for p in self.parameters])

    def values(self, x: Sequence[float]) -> np.ndarray:
        return np.array([p.value(xi) for p, xi in zip(self.parameters, x)])

    def assignments(self, x: Sequence[float]) -> dict[str, float]:
        """Key path -> value of every parameter at x."""
        return {p.path: float(v) for p, v in zip(self.parameters, self.values(x))}

    def fem_assignments(self, x: Sequence[float]) -> tuple[tuple[str, float], ...]:
        """The assignments that change a solved point (the FEM's part of x)."""
        return tuple((p.path, float(v)) for p, v in zip(self.parameters, self.values(x)) if p.fem)

    def config_at(self, x: Sequence[float]) -> Config:
        """The config with every parameter at x (a bad combination is bad input, named)."""
        try:
            return with_overrides(self.config, self.assignments(x))
        except ConfigError as err:
            shown = ", ".join(f"{p}={v:.6g}" for p, v in self.assignments(x).items())
            raise InputError(f"calibration: the parameters {shown} make an invalid config: {err}") from None


def _resolve(config: Config, data: dict, spec: FitParameter, where: str) -> Parameter:
    path = spec.path
    section = str(parse_path(path)[0])
    if section not in FEM_SECTIONS + POST_SECTIONS:
        reason = "is not a config section" if section not in SECTIONS else "no measurement depends on it"
        raise ConfigError(f"{where}.path: {path}: section {section!r} {reason} (fit numbers of "
                          f"{', '.join(FEM_SECTIONS + POST_SECTIONS)})")
    try:
        value = get_path(data, path)
    except ConfigError as err:
        raise ConfigError(f"{where}.path: {err}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        hint = " (a law: name its parameter, e.g. .value)" if isinstance(value, dict) else ""
        raise ConfigError(f"{where}.path: {path} is not a number{hint}")
    initial = float(spec.initial if spec.initial is not None else value)
    lower, upper = spec.bounds
    if not lower <= initial <= upper:
        raise ConfigError(f"{where}.bounds: the config's value {initial:g} is outside [{lower:g}, {upper:g}] "
                          "(widen the bounds or give `initial`)")
    try:
        with_overrides(config, {path: initial})
    except ConfigError as err:
        raise ConfigError(f"{where}.path: {path} cannot take a fitted number: {err}") from None
    log = spec.variable == "log"
    step = spec.step if spec.step is not None else (DEFAULT_GEOMETRY_STEP if section == "geometry" else DEFAULT_STEP)
    if not log:
        step *= upper - lower
    return Parameter(path=path, label=spec.label or path, unit=parameter_unit(config, path), lower=lower,
                     upper=upper, log=log, initial=initial, step=step, fem=section in STEADY)


# ---------------------------------------------------------------- units


_UNIT = re.compile(r"\[([^\]]+)\]")


def _field_unit(model: BaseModel, name: str) -> Optional[str]:
    field = type(model).model_fields.get(name)
    if field is None or not field.description:
        return None
    found = _UNIT.findall(field.description)
    return found[-1] if found else None


def parameter_unit(config: Config, path: str) -> str:
    """The unit of the number at `path`, from the schema's field descriptions ("1":
    dimensionless, "" unknown). Geometry lengths are in the config's `units`; a law's `value`
    has its property's unit; a state-dependent parameter's slope is per unit of the state."""
    segments = parse_path(path)
    if segments[0] == "geometry":
        return config.units
    chain: list[Any] = [config]
    for segment in segments[:-1]:
        node = chain[-1]
        if isinstance(segment, int):
            node = node[segment]
        elif isinstance(node, dict):
            node = node[segment]
        elif isinstance(node, BaseModel) and segment in (node.__pydantic_extra__ or {}):
            node = node.__pydantic_extra__[segment]
        else:
            node = getattr(node, segment)
        chain.append(node)
    last = segments[-1]
    owner = chain[-1]
    if not isinstance(owner, BaseModel):
        return ""
    from solver.materials.laws import PropertyLaw, StateLinear

    if isinstance(owner, StateLinear):  # intercept/minimum: the parameter's unit; slope: per state unit
        law, name = chain[-2], str(segments[-2])
        unit = _field_unit(law, name) or ""
        if last == "slope":
            state_unit = config.state.unit if config.state is not None else "state unit"
            if unit == state_unit:
                return "1"
            return f"{unit} per {state_unit}" if unit else f"per {state_unit}"
        return unit
    if isinstance(owner, PropertyLaw) and last == "value":
        material, prop = chain[-2], str(segments[-2])
        return _field_unit(material, prop) or ""
    unit = _field_unit(owner, str(last))
    if unit == STATE_UNIT:
        return config.state.unit if config.state is not None else ""
    if unit is None:
        description = type(owner).model_fields.get(str(last))
        return "1" if description is not None and description.description and \
            len(description.description.split()) == 1 else ""
    return unit


# ---------------------------------------------------------------- enumeration (sensitivity)


# Law parameters that are not physical unknowns: reference temperatures and floors.
_NOT_UNKNOWNS = ("T_ref", "minimum", "field_floor", "T")


@dataclass(frozen=True)
class Candidate:
    """A number of the config a sensitivity study may perturb."""

    path: str
    value: float
    unit: str
    group: str  # material name, "geometry" or "kinetics"


def enumerate_parameters(config: Config, scope: str = "default") -> list[Candidate]:
    """Non-zero numbers of the config that describe the device: the laws of every material the
    geometry uses (but heat capacity, which no steady solve uses), the geometry's lengths, a
    series resistance, and the kinetics parameters. `scope="default"` keeps a small set: the
    leading parameter of the electrical conductivity, thermal conductivity and Seebeck law of
    the probe's layer material and of each filament material, the filament radii, the probe
    layer's thickness, and every kinetics parameter (free: no FEM solve)."""
    if scope not in ("default", "all"):
        raise InputError(f"sensitivity: scope {scope!r}: expected default or all")
    data = config_data(config)
    found: list[Candidate] = []

    def add(path: str, group: str) -> None:
        value = get_path(data, path)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value == 0:
            return
        found.append(Candidate(path, float(value), parameter_unit(config, path), group))

    layers = config.geometry.layers
    probe_layer = config.probes[config.kinetics.probe].layer if config.kinetics is not None \
        and config.kinetics.probe in config.probes else None
    focus: list[str] = []
    for i, layer in enumerate(layers):
        if layer.name == probe_layer:
            focus.append(layer.material)
        if layer.filament is not None:
            focus.append(layer.filament.material)
    used = list(dict.fromkeys([m for layer in layers for m in
                               [layer.material] + ([layer.filament.material] if layer.filament else [])]))
    properties = ("electrical_conductivity", "thermal_conductivity", "seebeck")
    for material in (dict.fromkeys(focus) if scope == "default" else used):
        for prop in properties:
            law = data["materials"][material][prop]
            names = [k for k, v in law.items() if k not in ("law", "source") + _NOT_UNKNOWNS]
            if scope == "default":
                names = names[:1]
            for name in names:
                base = f"materials.{material}.{prop}.{name}"
                if isinstance(law[name], dict):  # a state-dependent parameter: intercept and slope
                    parts = [part for part in ("intercept", "slope") if law[name].get(part)]
                    for part in parts[: 1 if scope == "default" else 2]:
                        add(f"{base}.{part}", material)
                else:
                    add(base, material)
    for i, layer in enumerate(layers):
        if scope == "all" or layer.name == probe_layer:
            add(f"geometry.layers[{i}].thickness", "geometry")
        if layer.filament is not None:
            for key in ("radius", "top_radius") + (("height",) if scope == "all" else ()):
                if getattr(layer.filament, key) is not None:
                    add(f"geometry.layers[{i}].filament.{key}", "geometry")
    if scope == "all":
        add("geometry.radius", "geometry")
        terminal = config.electrical.terminal
        if getattr(terminal, "series_resistance", 0):
            add(f"electrical.{config.electrical.drive}.series_resistance", "electrical")
    if config.kinetics is not None:
        kinetics = data["kinetics"]
        for name, value in kinetics.items():
            if name in ("law", "source", "probe", "statistic", "pulse_width", "target_delta"):
                continue
            if isinstance(value, dict):
                for part in ("intercept", "slope"):
                    add(f"kinetics.{name}.{part}", "kinetics")
            else:
                add(f"kinetics.{name}", "kinetics")
    return found
