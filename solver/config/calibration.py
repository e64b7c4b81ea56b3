"""The `calibration:` section of a config: which numbers of the config a calibration fits, with
their bounds, and how the fit runs (`filatherm calibrate`, solver.calibration, docs/measurements.md).

A parameter is named by its config key path (solver.config.keypath), e.g.
`materials.CMO.thermal_conductivity.value` or `geometry.layers[1].filament.radius`. It is
fitted in the variable ln p (`scale: log`, for numbers that may span decades) or p (`linear`).
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator

from solver.base import Name, Positive, StrictModel
from solver.config.keypath import parse_path
from solver.errors import ConfigError

DEFAULT_STEP = 1e-3            # finite-difference step in the fit variable
DEFAULT_GEOMETRY_STEP = 1e-2   # geometry is re-meshed: a larger step stays above the re-meshing noise


class FitParameter(StrictModel):
    """One fitted number of the config."""

    path: str = Field(min_length=1, max_length=200, description=(
        "config key path of a number, e.g. materials.CMO.thermal_conductivity.value (a material law, "
        "geometry, electrical or thermal number, or a kinetics parameter)"))
    bounds: tuple[float, float] = Field(description="[lower, upper] of the value, in the parameter's own unit")
    scale: Optional[Literal["log", "linear"]] = Field(default=None, description=(
        "fit variable ln p (log) or p (linear); default log when 0 < lower and upper >= 10 lower"))
    initial: Optional[float] = Field(default=None, description=(
        "start of the fit [the parameter's unit]; default the config's value"))
    step: Optional[Positive] = Field(default=None, description=(
        f"finite-difference step in the fit variable: in ln p (log) or as a fraction of upper - lower "
        f"(linear); default {DEFAULT_STEP:g}, {DEFAULT_GEOMETRY_STEP:g} for geometry (re-meshed)"))
    label: Optional[Name] = Field(default=None, description="short name in tables and plots; default the path")

    @field_validator("path")
    @classmethod
    def _parsable(cls, value: str) -> str:
        try:
            parse_path(value)
        except ConfigError as err:
            raise ValueError(str(err)) from None
        return value

    @model_validator(mode="after")
    def _check(self) -> FitParameter:
        lower, upper = self.bounds
        if not lower < upper:
            raise ValueError("bounds: lower must be below upper")
        if self.scale == "log" and lower <= 0:
            raise ValueError("bounds: a log-scale parameter needs a positive lower bound")
        if self.initial is not None and not lower <= self.initial <= upper:
            raise ValueError(f"initial: {self.initial} is outside the bounds [{lower}, {upper}]")
        return self

    @property
    def variable(self) -> str:
        """The fit variable: `log` or `linear` (the default resolved)."""
        if self.scale is not None:
            return self.scale
        lower, upper = self.bounds
        return "log" if lower > 0 and upper >= 10 * lower else "linear"


class Calibration(StrictModel):
    """What `filatherm calibrate CONFIG MEASUREMENTS` fits and how (docs/measurements.md)."""

    parameters: tuple[FitParameter, ...] = Field(default=(), description=(
        "the fitted numbers: {path, bounds, scale, initial, step, label}"))
    max_evaluations: int = Field(default=40, ge=1, le=10_000, description=(
        "residual evaluations of the least-squares fit (each one set of FEM solves; Jacobians not counted)"))
    tolerance: Positive = Field(default=1e-6, description=(
        "the fit stops when the cost or the scaled parameters change by less than this (relative)"))
    identifiability: Positive = Field(default=0.25, description=(
        "a parameter whose standard error exceeds this fraction of its bounds (upper - lower, in its fit "
        "variable), or that lies on a combination the data leave free, is reported as not identified"))
    switching_grid: Positive = Field(default=0.03, le=0.2, description=(
        "spacing of the 5 amplitudes solved around each measured switching amplitude, relative to it"))
    state_grid: int = Field(default=5, ge=2, le=50, description=(
        "states solved for a pulse-train prediction, log-spaced over state.minimum ... state.maximum"))

    @field_validator("parameters")
    @classmethod
    def _distinct(cls, value: tuple) -> tuple:
        paths = [p.path for p in value]
        if len(set(paths)) != len(paths):
            raise ValueError("a path may appear once")
        return value
