"""Material property laws: one class per law, holding its parameters and its value at T.

Each law is a strict pydantic model whose fields are its YAML keys (`law: arrhenius`, `value`,
`activation_energy`, ...), registered in :data:`LAWS` by :func:`register_law`. Everything else
derives from the registry: the config schema's unions of laws per property and their error
message (solver.config.schema), the reference table in docs/config.md
(solver.config.reference), and evaluation. One `at(T, ctx)` method serves both the FEM forms (UFL,
every parameter a DOLFINx Constant) and the compact model (numpy), so a law means the same
thing in both (docs/physics.md, "Material laws").

Laws of T alone cover most materials. Two conduction laws also depend on the local field
magnitude |E| = |grad phi| (trap-to-trap hopping, Poole-Frenkel), and a law parameter may depend
on the config's device state (a `StateLinear` parameter, e.g. a vacancy concentration that sets
the hopping activation energy): docs/physics.md, "Material laws" and "Device state".

Adding a law: one class here decorated with `@register_law`, plus a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Callable, ClassVar, Literal, Optional, Union

import numpy as np
from pydantic import Discriminator, Field, Tag, model_validator

from solver.base import NonNegative, Positive, StrictModel, TaggedModel
from solver.constants import BOLTZMANN, BOLTZMANN_EV, ELEMENTARY_CHARGE, VACUUM_PERMITTIVITY

PROPERTIES = ("electrical_conductivity", "thermal_conductivity", "seebeck", "heat_capacity")


@dataclass(frozen=True)
class LawContext:
    """How a law is evaluated: `ops` gives exp/sqrt/sinh/min_value/max_value/conditional (the
    ufl module or numpy), `number` turns each parameter into a value (float, or a DOLFINx
    Constant in forms), `sigma` is the electrical conductivity law of the same material
    (Wiedemann-Franz), `field_squared` the local |E|^2 [V^2/m^2] (0 where no field is given) and
    `state` the device state's value (solver.config.schema.StateVariable)."""

    ops: Any
    number: Callable[[float], Any] = float
    sigma: Optional[Callable[[Any], Any]] = None
    field_squared: Any = 0.0
    state: Any = None

    def parameter(self, value: "Union[float, StateLinear]", where: str = "a law parameter"):
        """A law parameter: a number, or a linear function of the device state."""
        if isinstance(value, StateLinear):
            if self.state is None:
                raise ValueError(f"{where} depends on the device state, but the config has no `state:`")
            result = self.number(value.intercept) + self.number(value.slope) * self.state
            if value.minimum is not None:
                result = self.ops.max_value(result, self.number(value.minimum))
            return result
        return self.number(value)


class NumpyOps:
    exp = staticmethod(np.exp)
    sqrt = staticmethod(np.sqrt)
    sinh = staticmethod(np.sinh)
    min_value = staticmethod(np.minimum)
    max_value = staticmethod(np.maximum)

    @staticmethod
    def conditional(condition, true_value, false_value):
        with np.errstate(all="ignore"):
            return np.where(condition, true_value, false_value)

    lt = staticmethod(np.less)


NUMPY = LawContext(NumpyOps)


class StateLinear(StrictModel):
    """A law parameter that depends on the device state N: intercept + slope N, not below
    `minimum` (in the parameter's own unit; slope in that unit per unit of the state)."""

    intercept: float = Field(description="value at N = 0")
    slope: float = Field(description="change per unit of the state")
    minimum: Optional[float] = Field(default=None, description="floor of the value")


StateDependent = Union[float, StateLinear]


class PropertyLaw(TaggedModel):
    """Base of every law; subclasses set `law` to a Literal tag and implement `at` and
    `is_positive`."""

    properties: ClassVar[tuple[str, ...]] = PROPERTIES  # which material properties may use it
    uses_field: ClassVar[bool] = False  # depends on |E| (conduction laws only)
    source: Optional[str] = Field(default=None, description="citation, or 'assumed'")

    @classmethod
    def tag(cls) -> str:
        """The `law:` name of this class."""
        return cls.model_fields["law"].annotation.__args__[0]

    def at(self, T: Any, ctx: LawContext) -> Any:
        """The property at temperature T."""
        raise NotImplementedError

    def is_positive(self, T_min: float, T_max: float) -> bool:
        """Whether the law is positive at every temperature from T_min to T_max [K] (sigma,
        kappa and heat capacity must be: the equations divide by them)."""
        raise NotImplementedError

    def uses_state(self) -> bool:
        """Whether a parameter depends on the device state."""
        return any(isinstance(getattr(self, name), StateLinear) for name in type(self).model_fields)


LAWS: dict[str, type[PropertyLaw]] = {}


def register_law(cls: type[PropertyLaw]) -> type[PropertyLaw]:
    tag = cls.tag()
    if tag in LAWS:
        raise ValueError(f"law {tag!r} is registered twice")
    LAWS[tag] = cls
    return cls


# ---------------------------------------------------------------- the laws


@register_law
class ConstantLaw(PropertyLaw):
    """value, independent of T."""

    law: Literal["constant"] = "constant"
    value: float = Field(description="the value (SI unit of the property)")

    def at(self, T, ctx):
        return ctx.number(self.value) + 0 * T

    def is_positive(self, T_min: float, T_max: float) -> bool:
        return self.value > 0


@register_law
class MetallicLaw(PropertyLaw):
    """value / (1 + alpha (T - T_ref)): a metal whose resistivity rises linearly with T."""

    law: Literal["metallic"]
    value: float = Field(description="value at T_ref")
    alpha: NonNegative = Field(description="temperature coefficient of the resistivity [1/K]")
    T_ref: Positive = Field(default=300.0, description="[K]")

    def at(self, T, ctx):
        n = ctx.number
        return n(self.value) / (1 + n(self.alpha) * (T - n(self.T_ref)))

    def is_positive(self, T_min: float, T_max: float) -> bool:
        # alpha >= 0: the denominator is smallest at T_min, where it must stay positive
        return self.value > 0 and 1 + self.alpha * (T_min - self.T_ref) > 0


@register_law
class ArrheniusLaw(PropertyLaw):
    """value * exp(-activation_energy / k_B (1/T - 1/T_ref)), activation energy in eV."""

    law: Literal["arrhenius"]
    value: float = Field(description="value at T_ref")
    activation_energy: float = Field(description="[eV]")
    T_ref: Positive = Field(default=300.0, description="[K]")

    def at(self, T, ctx):
        n = ctx.number
        return n(self.value) * ctx.ops.exp(-n(self.activation_energy) / BOLTZMANN_EV * (1 / T - 1 / n(self.T_ref)))

    def is_positive(self, T_min: float, T_max: float) -> bool:
        return self.value > 0


@register_law
class PowerLaw(PropertyLaw):
    """value * (T / T_ref) ** exponent."""

    law: Literal["power"]
    value: float = Field(description="value at T_ref")
    exponent: float = Field(description="dimensionless")
    T_ref: Positive = Field(default=300.0, description="[K]")

    def at(self, T, ctx):
        n = ctx.number
        return n(self.value) * (T / n(self.T_ref)) ** n(self.exponent)

    def is_positive(self, T_min: float, T_max: float) -> bool:
        return self.value > 0


@register_law
class TableLaw(PropertyLaw):
    """Piecewise linear in T through (T[i], value[i]); constant beyond the ends."""

    law: Literal["table"]
    T: tuple[Positive, ...] = Field(min_length=2, description="[K], strictly increasing")
    value: tuple[float, ...] = Field(min_length=2, description="one per T")

    @model_validator(mode="after")
    def _check_table(self) -> TableLaw:
        if len(self.T) != len(self.value):
            raise ValueError(f"value: has {len(self.value)} entries but T has {len(self.T)}")
        if any(b <= a for a, b in zip(self.T, self.T[1:])):
            raise ValueError("T: must be strictly increasing")
        return self

    def at(self, T, ctx):
        # piecewise linear: start value plus each segment's slope times the part of T inside it
        n = ctx.number
        Ts, vs = [n(t) for t in self.T], [n(v) for v in self.value]
        result = vs[0] + 0 * T
        for (t0, t1), (v0, v1) in zip(zip(Ts, Ts[1:]), zip(vs, vs[1:])):
            clamped = ctx.ops.min_value(ctx.ops.max_value(T, t0), t1)
            result = result + (v1 - v0) / (t1 - t0) * (clamped - t0)
        return result

    def is_positive(self, T_min: float, T_max: float) -> bool:
        return all(v > 0 for v in self.value)  # linear between positive values, constant beyond


@register_law
class WiedemannFranzLaw(PropertyLaw):
    """Thermal conductivity lorenz * sigma(T) * T + phonon (electrons plus lattice)."""

    properties: ClassVar[tuple[str, ...]] = ("thermal_conductivity",)
    law: Literal["wiedemann_franz"]
    lorenz: Positive = Field(default=2.44e-8, description="Lorenz number [W Ohm/K^2]")
    phonon: NonNegative = Field(default=0.0, description="lattice part [W/(m K)]")

    def at(self, T, ctx):
        if ctx.sigma is None:
            raise ValueError("wiedemann_franz needs the electrical conductivity")
        return ctx.number(self.lorenz) * ctx.sigma(T) * T + ctx.number(self.phonon)

    def is_positive(self, T_min: float, T_max: float) -> bool:
        return True  # lorenz > 0, phonon >= 0, and sigma is checked positive itself


# sinh(x)/x is taken at most at x = X_CAP (a conductance enhancement of 1e128): beyond it an
# iterate far from the solution would overflow to inf and NaN, and no physical state is there.
X_CAP = 300.0


def _sinh_over_x(x_squared, ctx: LawContext):
    """sinh(x)/x as a function of x^2: smooth and even at x = 0 (a series below x^2 = 1e-4,
    where it is exact to rounding), so Newton's Jacobian has no 0/0 at zero field."""
    ops = ctx.ops
    series = 1 + x_squared / 6 + x_squared**2 / 120
    x = ops.sqrt(ops.min_value(ops.max_value(x_squared, 1e-4), X_CAP**2))
    return ops.conditional(ops.lt(x_squared, 1e-4), series, ops.sinh(x) / x)


@register_law
class HoppingLaw(PropertyLaw):
    """Trap-to-trap hopping: q^2 N d^2 nu / (k_B T) exp(-E_a / k_B T) sinh(x)/x, x = q d |E| / (2 k_B T)."""

    properties: ClassVar[tuple[str, ...]] = ("electrical_conductivity",)
    uses_field: ClassVar[bool] = True
    law: Literal["hopping"]
    carrier_density: StateDependent = Field(description="density N of hopping sites/carriers [1/m^3]")
    hop_distance: StateDependent = Field(description="hop distance d [m]")
    attempt_frequency: Positive = Field(description="nu [Hz]")
    activation_energy: StateDependent = Field(description="E_a [eV]")

    def at(self, T, ctx):
        # The current density q N d nu exp(-E_a/kT) 2 sinh(x), divided by |E| = 2 k T x / (q d).
        p = ctx.parameter
        N, d = p(self.carrier_density, "carrier_density"), p(self.hop_distance, "hop_distance")
        Ea = p(self.activation_energy, "activation_energy")
        q, k = ctx.number(ELEMENTARY_CHARGE), ctx.number(BOLTZMANN)
        x_squared = (q * d / (2 * k * T)) ** 2 * ctx.field_squared
        low_field = q * q * N * d * d * ctx.number(self.attempt_frequency) / (k * T) \
            * ctx.ops.exp(-Ea * q / (k * T))
        return low_field * _sinh_over_x(x_squared, ctx)

    def is_positive(self, T_min: float, T_max: float) -> bool:
        return all(not isinstance(v, float) or v > 0 for v in (self.carrier_density, self.hop_distance))


@register_law
class PooleFrenkelLaw(PropertyLaw):
    """Poole-Frenkel emission: value exp(-(E_a - sqrt(q |E| / (pi eps0 eps_r))) / k_B T), barrier in eV."""

    properties: ClassVar[tuple[str, ...]] = ("electrical_conductivity",)
    uses_field: ClassVar[bool] = True
    law: Literal["poole_frenkel"]
    value: Positive = Field(description="prefactor, the conductivity as E_a -> 0 [S/m]")
    activation_energy: float = Field(description="trap depth E_a [eV]")
    relative_permittivity: Positive = Field(description="eps_r (high-frequency) of the insulator")
    field_floor: Positive = Field(default=1.0, description="|E| is taken as sqrt(|E|^2 + floor^2) [V/m]: "
                                  "keeps the Jacobian finite at zero field")

    def at(self, T, ctx):
        n = ctx.number
        # sqrt(q E / (pi eps0 eps_r)) is the barrier lowering in volts, so in eV as written.
        field = ctx.ops.sqrt(ctx.ops.sqrt(ctx.field_squared + n(self.field_floor) ** 2))
        lowering = ctx.ops.sqrt(n(ELEMENTARY_CHARGE / (np.pi * VACUUM_PERMITTIVITY * self.relative_permittivity))) * field
        return n(self.value) * ctx.ops.exp(-(n(self.activation_energy) - lowering) / (n(BOLTZMANN_EV) * T))

    def is_positive(self, T_min: float, T_max: float) -> bool:
        return True


# ---------------------------------------------------------------- unions for the schema


def _law_tag(value: Any) -> Optional[str]:
    # Union tags carry a "law:" prefix so that they can never be mistaken for data keys when an
    # error location is turned into a key path (see solver.config._located_path).
    law = value.get("law", "constant") if isinstance(value, dict) else getattr(value, "law", None)
    return f"law:{law}" if isinstance(law, str) else None


def number_as_constant(value: Any) -> Any:
    """`heat_capacity: 2.5e6` is shorthand for `{law: constant, value: 2.5e6}`."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"law": "constant", "value": value}
    return value


def laws_for(property_name: str) -> list[type[PropertyLaw]]:
    return [cls for cls in LAWS.values() if property_name in cls.properties]


def law_union(property_name: str):
    """The discriminated union of the laws a property may use (for the config schema)."""
    members = laws_for(property_name)
    names = ", ".join(cls.tag() for cls in members)
    return Annotated[
        Union[tuple(Annotated[cls, Tag(f"law:{cls.tag()}")] for cls in members)],
        Discriminator(_law_tag, custom_error_type="unknown_law",
                      custom_error_message=f"law must be one of {names} (a plain number means constant)"),
    ]


# ---------------------------------------------------------------- evaluation


class MaterialLaws:
    """sigma(T, |E|^2), kappa(T), S(T) and C(T) of one material: UFL expressions when given a
    mesh (every law parameter and the state a Constant, so a sweep over material numbers or
    states reuses the compiled forms), numpy functions otherwise. `state` is the device
    state's value (None: the config has none)."""

    def __init__(self, material, mesh=None, state: Optional[float] = None):
        self.material = material
        if mesh is None:
            self._ops, self._number = NumpyOps, float
        else:
            import dolfinx.fem
            import ufl

            self._ops = ufl
            self._number = lambda value: dolfinx.fem.Constant(mesh, float(value))
        self._state = None if state is None else self._number(state)

    def _law(self, law: PropertyLaw, T, sigma=None, field_squared=0.0):
        return law.at(T, LawContext(self._ops, self._number, sigma, field_squared, self._state))

    def sigma(self, T, field_squared=0.0):
        """Electrical conductivity at T and |E|^2 (field-dependent laws only use the latter)."""
        return self._law(self.material.electrical_conductivity, T, field_squared=field_squared)

    def kappa(self, T):
        # Wiedemann-Franz relates the thermal to the zero-field electrical conductivity.
        return self._law(self.material.thermal_conductivity, T, sigma=self.sigma)

    def seebeck(self, T):
        return self._law(self.material.seebeck, T)

    def heat_capacity(self, T):
        if self.material.heat_capacity is None:
            raise ValueError("material has no heat_capacity")
        return self._law(self.material.heat_capacity, T)
