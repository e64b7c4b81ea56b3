"""Switching kinetics: one class per rate law, holding its parameters, its rate and its
Verilog-A text.

A law is the `kinetics:` block of a config (discriminated by `law:`), with the keys every law
shares (which probe drives it, which statistic of that probe, the pulse width and the target
number of events per pulse that defines V_write) and its own parameters. Rates are in Hz with
T in K and E the field magnitude in V/m; the direction of switching is given by the voltage
polarity, not by the rate (docs/physics.md, "Switching kinetics").

- ``ion_hopping`` (Mott-Gurney): nu0 exp(-Ea/kT) 2 sinh(z q a E / 2kT)
- ``arrhenius``: nu0 exp(-Ea/kT), field-independent
- ``jart`` (JART VCM v1b, Bengel et al., IEEE TCAS-I 67, 4618 (2020); Cueppers et al.,
  APL Mater. 7, 091105 (2019)): nu0 [exp(-dW_min/kT) - exp(-dW_max/kT)] with
  dW_min/max = Ea [sqrt(1-g^2) -/+ g pi/2 + g asin g] and g = z a E / (pi Ea), E in V/m and Ea
  in eV; g is capped at 1, where the forward barrier vanishes.

- ``vacancy_hopping`` (the device-state law of the CMO/HfOx compact model of Galetta et al.,
  Adv. Electron. Mater. 12, e00373 (2025)): ion hopping whose activation energy depends on the
  polarity (SET for V > 0, RESET for V < 0) and on the device state N, the vacancy
  concentration of the switching region; each hop moves N by a/L of itself, slowed near the
  saturation density: dN/dt = sign(V) (N a / L) (1 - N/N_max)^p rate.

`delta_per_pulse` = rate x pulse width: the expected number of hops (switching events) in one
pulse. Adding a law: one class here decorated with `@register_kinetics`, plus a test (the
Verilog-A export is checked against `rate` for every registered law).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Optional, Union

import numpy as np
from pydantic import Discriminator, Field, Tag

from solver.base import Positive, TaggedModel
from solver.constants import BOLTZMANN, ELEMENTARY_CHARGE
from solver.materials.laws import NUMPY, LawContext, StateDependent, StateLinear


class KineticsLaw(TaggedModel):
    """What every rate law shares; subclasses add `law` and their parameters."""

    probe: str = Field(default="active", description="probe whose temperature and field drive the rate")
    statistic: Literal["mean", "max"] = Field(
        default="mean", description="probe statistic used: T_mean/E_mean or T_max/E_max (max is refused "
        "for a field-driven law whose probe touches a filament rim, where the field is singular)")
    pulse_width: Positive = Field(default=60e-9, description="[s]")
    target_delta: Positive = Field(default=1.0, description="delta_per_pulse that defines V_write")

    # (Verilog-A parameter name, field name, comment) of the law's own parameters
    verilog_parameters: ClassVar[tuple[tuple[str, str, str], ...]] = ()
    moves_state: ClassVar[bool] = False  # the law says how the device state changes (dN/dt)
    uses_field: ClassVar[bool] = True  # the rate depends on the probe's field

    @classmethod
    def tag(cls) -> str:
        """The `law:` name of this class."""
        return cls.model_fields["law"].annotation.__args__[0]

    def rate(self, temperature, field, state=None, polarity=1.0) -> np.ndarray:
        """Hop rate [Hz] at temperature [K] and field magnitude [V/m] (element-wise); laws that
        depend on the device state or the polarity (the sign of V) take those too."""
        T = np.asarray(temperature, dtype=float)
        E = np.abs(np.asarray(field, dtype=float))
        # Energies in eV divided by kT in eV: Ea q / (k_B T).
        return self._rate(T, E, BOLTZMANN * T / ELEMENTARY_CHARGE, state, polarity)

    def _rate(self, T: np.ndarray, E: np.ndarray, kT: np.ndarray, state, polarity) -> np.ndarray:
        raise NotImplementedError

    def uses_state(self) -> bool:
        return any(isinstance(getattr(self, name), StateLinear) for name in type(self).model_fields)

    def verilog_a(self) -> tuple[str, str]:
        """(declarations of extra local reals, statements setting `rate` from kT and E_probe)
        in compact_model.va; the parameters are declared from `verilog_parameters`."""
        raise NotImplementedError

    def spice_rate(self) -> list[str]:
        """ngspice `.func` lines defining ft_rate(tk, ef) [Hz] of the temperature tk [K] and the
        field ef [MV/m], with ft_kT(tk) [eV] and the `verilog_parameters` names in scope
        (compact_model.sub, solver.compact.subcircuit)."""
        raise NotImplementedError


KINETICS: dict[str, type[KineticsLaw]] = {}


def register_kinetics(cls: type[KineticsLaw]) -> type[KineticsLaw]:
    if cls.tag() in KINETICS:
        raise ValueError(f"kinetics law {cls.tag()!r} is registered twice")
    KINETICS[cls.tag()] = cls
    return cls


@register_kinetics
class IonHopping(KineticsLaw):
    """Mott-Gurney ion hopping: nu0 exp(-Ea/kT) 2 sinh(z q a E / 2kT)."""

    law: Literal["ion_hopping"] = "ion_hopping"
    attempt_frequency: Positive = Field(default=2.0e13, description="nu0 [Hz]")
    activation_energy: Positive = Field(default=1.35, description="Ea [eV]")
    hop_distance: Positive = Field(default=0.25e-9, description="a [m]")
    charge: Positive = Field(default=2, description="z")

    verilog_parameters = (("nu0", "attempt_frequency", "attempt frequency [Hz]"),
                          ("Ea", "activation_energy", "switching activation energy [eV]"),
                          ("a_hop", "hop_distance", "hop distance [m]"),
                          ("z_ion", "charge", "ion charge number"))

    def _rate(self, T, E, kT, state, polarity):
        # z q a E is the work of the field over one hop, in eV when written z a E.
        work = self.charge * self.hop_distance * E
        return self.attempt_frequency * np.exp(-self.activation_energy / kT) * 2.0 * np.sinh(work / (2.0 * kT))

    def verilog_a(self) -> tuple[str, str]:
        return "", "rate = nu0 * exp(-Ea / kT) * 2.0 * sinh(z_ion * a_hop * E_probe / (2.0 * kT));"

    def spice_rate(self) -> list[str]:
        return [".func ft_rate(tk, ef) {nu0*exp(-Ea/ft_kT(tk))*2*sinh(z_ion*a_hop*1e6*ef/(2*ft_kT(tk)))}"]


@register_kinetics
class Arrhenius(KineticsLaw):
    """Field-independent: nu0 exp(-Ea/kT)."""

    law: Literal["arrhenius"]
    uses_field = False
    attempt_frequency: Positive = Field(default=2.0e13, description="nu0 [Hz]")
    activation_energy: Positive = Field(default=1.35, description="Ea [eV]")

    verilog_parameters = (("nu0", "attempt_frequency", "attempt frequency [Hz]"),
                          ("Ea", "activation_energy", "switching activation energy [eV]"))

    def _rate(self, T, E, kT, state, polarity):
        return self.attempt_frequency * np.exp(-self.activation_energy / kT) * np.ones_like(E)

    def verilog_a(self) -> tuple[str, str]:
        return "", "rate = nu0 * exp(-Ea / kT);"

    def spice_rate(self) -> list[str]:
        return [".func ft_rate(tk, ef) {nu0*exp(-Ea/ft_kT(tk))}"]


@register_kinetics
class Jart(KineticsLaw):
    """JART VCM v1b: forward minus backward hops over a field-lowered barrier."""

    law: Literal["jart"]
    attempt_frequency: Positive = Field(default=2.0e13, description="nu0 [Hz]")
    activation_energy: Positive = Field(default=1.35, description="Ea [eV]")
    hop_distance: Positive = Field(default=0.25e-9, description="a [m]")
    charge: Positive = Field(default=2, description="z")

    verilog_parameters = IonHopping.verilog_parameters

    def _rate(self, T, E, kT, state, polarity):
        Ea = self.activation_energy
        gamma = np.minimum(self.charge * self.hop_distance * E / (np.pi * Ea), 1.0)
        common = np.sqrt(1.0 - gamma**2) + gamma * np.arcsin(gamma)
        barrier_forward = Ea * (common - gamma * np.pi / 2.0)
        barrier_backward = Ea * (common + gamma * np.pi / 2.0)
        return self.attempt_frequency * (np.exp(-barrier_forward / kT) - np.exp(-barrier_backward / kT))

    def verilog_a(self) -> tuple[str, str]:
        return ("  real gamma, barrier_common;\n",
                "gamma = min(z_ion * a_hop * E_probe / (3.141592653589793 * Ea), 1.0);\n"
                "    barrier_common = sqrt(1.0 - gamma * gamma) + gamma * asin(gamma);\n"
                "    rate = nu0 * (exp(-Ea * (barrier_common - gamma * 3.141592653589793 / 2.0) / kT)\n"
                "                  - exp(-Ea * (barrier_common + gamma * 3.141592653589793 / 2.0) / kT));")

    def spice_rate(self) -> list[str]:
        return [
            ".func ft_gamma(ef) {min(z_ion*a_hop*1e6*ef/(3.141592653589793*Ea), 1)}",
            ".func ft_common(ef) {sqrt(1 - ft_gamma(ef)*ft_gamma(ef)) + ft_gamma(ef)*asin(ft_gamma(ef))}",
            ".func ft_rate(tk, ef) {nu0*(exp(-Ea*(ft_common(ef) - ft_gamma(ef)*1.5707963267948966)/ft_kT(tk))"
            " - exp(-Ea*(ft_common(ef) + ft_gamma(ef)*1.5707963267948966)/ft_kT(tk)))}",
        ]


@register_kinetics
class VacancyHopping(KineticsLaw):
    """State-resolved ion hopping: nu0 exp(-Ea_b(N)/kT) 2 sinh(z q a E / 2kT), dN/dt = sign(V) (N a / L) (1 - N/N_max)^p rate."""

    law: Literal["vacancy_hopping"]
    attempt_frequency: Positive = Field(default=4.0e12, description="nu0 [Hz]")
    hop_distance: Positive = Field(default=1.0e-9, description="a [m]")
    charge: Positive = Field(default=2, description="z")
    activation_energy_set: StateDependent = Field(description="Ea of V > 0 (N rises) [eV]")
    activation_energy_reset: StateDependent = Field(description="Ea of V < 0 (N falls) [eV]")
    region_thickness: Positive = Field(default=12e-9, description="L, thickness of the switching region [m]")
    saturation_density: Positive = Field(default=1e28, description="N_max [unit of the state]")
    saturation_exponent: float = Field(default=10.0, ge=0, description="p")

    moves_state: ClassVar[bool] = True

    def activation_energy(self, state, polarity) -> np.ndarray:
        """Ea [eV] of the polarity's branch at state N (element-wise)."""
        context = LawContext(NUMPY.ops, float, None, 0.0, np.asarray(state, dtype=float))
        Ea_set = context.parameter(self.activation_energy_set, "activation_energy_set")
        Ea_reset = context.parameter(self.activation_energy_reset, "activation_energy_reset")
        return np.where(np.asarray(polarity) >= 0, Ea_set, Ea_reset)

    def _rate(self, T, E, kT, state, polarity):
        if state is None:
            raise ValueError("vacancy_hopping: the rate depends on the device state")
        work = self.charge * self.hop_distance * E
        Ea = self.activation_energy(state, polarity)
        return self.attempt_frequency * np.exp(-Ea / kT) * 2.0 * np.sinh(work / (2.0 * kT))

    def state_change_rate(self, rate, state, polarity) -> np.ndarray:
        """dN/dt [unit of the state / s] from the hop rate [Hz] at state N and polarity."""
        N = np.asarray(state, dtype=float)
        saturation = np.clip(1.0 - N / self.saturation_density, 0.0, None) ** self.saturation_exponent
        return np.sign(polarity) * N * self.hop_distance / self.region_thickness * saturation * rate

    def verilog_a(self) -> tuple[str, str]:
        raise ValueError("vacancy_hopping moves the device state: its Verilog-A is the dynamic model's")


def _kinetics_tag(value: Any) -> Optional[str]:
    law = value.get("law", "ion_hopping") if isinstance(value, dict) else getattr(value, "law", None)
    return f"kinetics:{law}" if isinstance(law, str) else None


_NAMES = ", ".join(KINETICS)

Kinetics = Annotated[
    Union[tuple(Annotated[cls, Tag(f"kinetics:{tag}")] for tag, cls in KINETICS.items())],
    Discriminator(_kinetics_tag, custom_error_type="unknown_kinetics",
                  custom_error_message=f"law must be one of {_NAMES}"),
]
