"""The published lumped CMO/HfOx compact model, written out from its equations, as the reference
the calibration of configs/cmo_hfox.yaml is checked against (docs/calibration_cmo_hfox.md).

Source: Galetta et al., "Study of Resistive Switching Dynamics and Memory States Equilibria in
Analog Filamentary Conductive-Metal-Oxide/HfOx ReRAM via Compact Modeling", Adv. Electron.
Mater. 12, e00373 (2025), doi:10.1002/aelm.202500373, as parametrised in the public ngspice
model of IBM/Analog_ReRAM_Training_Simulator (Apache-2.0; Clerico et al., under review): a
steady state of

    I = A q N d nu_e exp(-E_e / kT) 2 sinh(q F d / 2kT),  F = (V - I R_s) / L
    T = T0 + V I R_th
    dN/dt = (N / L) a nu exp(-E_a / kT) 2 sinh(2 q F a / 2kT) (1 - N / N_max)^10

with A = pi (11 nm)^2 1.44, L = 12 nm, R_s = 223.2217 Ohm, nu_e = 2e13 Hz,
d = max(2 nm, 3.6369 nm - 3.0738e-35 m^4 N), E_e = 1.275579e-20 J - 3.697330e-47 J m^3 N,
a = 1 nm, nu = 4e12 Hz, E_a = 1.499179e-19 J + 2.288824e-45 J m^3 N (V >= 0) or 1.18 eV (V < 0),
N_max = 1e28 m^-3, T0 = 293 K, R_th = 1.4e6 K/W; the published constants k = 1.38062e-23 J/K,
q = 1.60219e-19 C. Nothing here is filatherm's code: it is an independent reference.

    .venv/bin/python scripts/cmo_reference.py      # the numbers quoted in the docs
"""

from __future__ import annotations

import math
import sys

from scipy.optimize import brentq

Q = 1.60219e-19          # C (the published model's constant)
K_B = 1.38062e-23        # J/K (the published model's constant)
EV = 1.602176634e-19     # J per eV
AREA = math.pi * (11e-9) ** 2 * 1.44   # m^2
LENGTH = 12e-9           # m
R_SERIES = 219.2217 + 4  # Ohm
R_TH = 1.4e6             # K/W
T0 = 293.0               # K
STATES = {"HRS": 7e24, "symmetry point": 1.64e25, "LRS": 3.77e25}  # m^-3
SET_V, RESET_V, WIDTH, READ_V = 1.35, -1.3, 1e-6, 0.2                # V, V, s, V


def hop_distance(N: float) -> float:
    return max(2e-9, 3.6369e-9 - 3.0738e-35 * N)


def electron_barrier(N: float) -> float:
    return -3.697330457076916e-47 * N + 1.275579007691538e-20  # J


def current(V: float, N: float, T: float) -> float:
    """I [A] at applied V, state N, temperature T: the implicit series drop solved exactly."""
    d = hop_distance(N)
    prefactor = AREA * Q * N * d * 2e13 * math.exp(-electron_barrier(N) / (K_B * T))

    def excess(I: float) -> float:
        field = (V - I * R_SERIES) / LENGTH
        return prefactor * 2 * math.sinh(Q * field * d / (2 * K_B * T)) - I

    bound = V / R_SERIES
    return brentq(excess, min(0.0, bound), max(0.0, bound), xtol=1e-18, rtol=1e-14)


def steady_state(V: float, N: float) -> tuple[float, float]:
    """(T [K], I [A]) of T = T0 + V I R_th, by fixed-point iteration from T0 (the state
    reached from rest)."""
    T = T0
    for _ in range(1000):
        I = current(V, N, T)
        T_next = T0 + V * I * R_TH
        if abs(T_next - T) < 1e-10:
            return T_next, I
        T = T_next
    raise RuntimeError(f"no steady state at {V} V, N = {N}")


def hop_rate(V: float, N: float) -> float:
    """Ion hops per second [Hz] in steady state at applied V and state N."""
    T, I = steady_state(V, N)
    field = abs(V - I * R_SERIES) / LENGTH
    barrier = 2.288823616285713e-45 * N + 1.499179468667143e-19 if V >= 0 else 1.18 * EV
    return 4e12 * math.exp(-barrier / (K_B * T)) * 2 * math.sinh(2 * Q * field * 1e-9 / (2 * K_B * T))


def delta_per_pulse(V: float, N: float, width: float = WIDTH) -> float:
    """Hops in one rectangular pulse (the state held at N: the quasi-static rate times width)."""
    return hop_rate(V, N) * width


def main() -> int:
    for name, N in STATES.items():
        T, I = steady_state(READ_V, N)
        print(f"{name:15s} N = {N:.3g} m^-3: G({READ_V} V) = {I / READ_V * 1e6:.3f} uS (T = {T:.2f} K)")
    N = STATES["symmetry point"]
    for V in (SET_V, RESET_V):
        T, I = steady_state(V, N)
        print(f"{V:+.2f} V at the symmetry point: T = {T:.1f} K, I = {I * 1e6:.2f} uA, P = V I = {V * I * 1e6:.2f} uW, "
              f"device voltage {V - I * R_SERIES:+.4f} V, delta = {delta_per_pulse(V, N):.4f} hops per {WIDTH:g} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
