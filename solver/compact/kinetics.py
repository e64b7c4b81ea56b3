"""Switching kinetics: the ion-hopping rate at a probe's temperature and field.

The three laws of `kinetics.law` (DESIGN.md §3), in Hz, with T in K and E the field
magnitude in V/m (the direction of switching is given by the voltage polarity, not by the
rate):

- ``ion_hopping`` (Mott–Gurney): ν0 · exp(−Ea/kT) · 2 sinh(z q a E / 2kT)
- ``arrhenius``: ν0 · exp(−Ea/kT), field-independent
- ``jart`` (JART VCM v1b, Bengel et al., IEEE TCAS-I 2020; Cüppers et al., APL Mater. 7,
  091105, 2019): ν0 · [exp(−ΔW_min/kT) − exp(−ΔW_max/kT)] with
  ΔW_min/max = Ea [√(1−γ²) ∓ γπ/2 + γ asin γ] and γ = z a E / (π Ea), E in V/m and Ea in
  eV. γ is capped at 1, where the forward barrier vanishes.

`delta_per_pulse` = rate × pulse width: the expected number of hops (switching events) in
one pulse; `kinetics.target_delta` of them define the write voltage.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

# 2019 SI exact values.
ELEMENTARY_CHARGE = 1.602176634e-19  # C
BOLTZMANN = 1.380649e-23  # J/K


class KineticLaw(Protocol):
    """What a rate law needs: the `kinetics` block of a config or of a compact model."""

    law: str
    attempt_frequency: float
    activation_energy: float
    hop_distance: float
    charge: float


def switching_rate(kinetics: KineticLaw, temperature: np.ndarray, field: np.ndarray) -> np.ndarray:
    """Hop rate [Hz] at temperature [K] and field magnitude [V/m] (element-wise)."""
    T = np.asarray(temperature, dtype=float)
    E = np.abs(np.asarray(field, dtype=float))
    # Energies in eV divided by kT in eV: Ea q / (k_B T).
    kT = BOLTZMANN * T / ELEMENTARY_CHARGE
    nu0, Ea = kinetics.attempt_frequency, kinetics.activation_energy
    if kinetics.law == "arrhenius":
        return nu0 * np.exp(-Ea / kT) * np.ones_like(E)
    if kinetics.law == "ion_hopping":
        # z q a E is the work of the field over one hop, in eV when written z a E.
        work = kinetics.charge * kinetics.hop_distance * E
        return nu0 * np.exp(-Ea / kT) * 2.0 * np.sinh(work / (2.0 * kT))
    if kinetics.law == "jart":
        gamma = np.minimum(kinetics.charge * kinetics.hop_distance * E / (np.pi * Ea), 1.0)
        common = np.sqrt(1.0 - gamma**2) + gamma * np.arcsin(gamma)
        barrier_forward = Ea * (common - gamma * np.pi / 2.0)
        barrier_backward = Ea * (common + gamma * np.pi / 2.0)
        return nu0 * (np.exp(-barrier_forward / kT) - np.exp(-barrier_backward / kT))
    raise ValueError(f"unknown kinetic law {kinetics.law!r}")
