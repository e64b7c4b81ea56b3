"""compact_model.sub / compact_model.lib: the fitted compact model as an ngspice subcircuit.

Plain ngspice (39) syntax, no Verilog-A and no OSDI: `.subckt` with `params:`, `.func`, and
behavioural current sources (B elements). Use it with

    .include compact_model.sub             or   .lib compact_model.lib filatherm
    X1 top bottom filatherm_compact             (optionally Tamb=350 Cth=5e-17 ...)

Two terminals, p (top electrode) and n; V = V(p, n), I(p -> n) the device current. Inside:

- the thermal node `t` carries the temperature rise T - Tamb [1 V = 1 K]: a capacitance Cth
  [F = J/K] to ground (the ambient) and a behavioural source that removes heat through the
  fitted thermal law,

      Cth dT/dt = P - (T - Tamb - beta I) / R_th(P),   P = V I,

  whose steady state is the fitted T = Tamb + R_th(P) P + beta I (solver.compact.laws): the
  circuit solve finds T where the Python model takes the lowest root of the same balance;
  a DC sweep from 0 V follows that root;
- the state node `s`, integrated on a capacitor Cs: ds/dt = sign(V) rate(T, E) [1/s], the
  signed switching progress, so s changes by +-delta_per_pulse over a rectangular pulse. The
  compact model has no conductance state yet, so nothing feeds back from s; a state law
  dN/dt = f(V, T, E, N) with I(V, T, N) takes the place of these lines (`STATE_ELEMENTS` and
  the current source) when the model gains one. A leak of Cs Rs = 1e6 s gives the node a DC
  path (in a DC analysis s is meaningless; at V = 0 it is 0);
- nodes tk, ic, ef and k hold the temperature [1 V = 1 K], the current [1 V = 1 uA], the
  field [1 V = 1 MV/m] and delta = rate x tp;
- the equations are `.func`s of the device voltage `ud` and temperature rise `rt`, the same
  laws (and numbers, to full double precision) as solver.compact.model's fitted law.

Tref is the temperature the laws were fitted at (their reference: do not change it); Tamb,
the ambient the device sits in, defaults to it. With Tamb = Tref the steady state is exactly
the Python compact model. Cth is not part of the fit (the steady sweep cannot see it): the
default is the lumped thermal capacitance of the CMO/HfOx compact model, 2e-17 J/K (Galetta
et al., Adv. Electron. Mater. 2025, doi:10.1002/aelm.202500373), which gives a thermal time
constant R_th Cth well below a nanosecond: quasi-static on the scale of a 60 ns pulse.
"""

from __future__ import annotations

from pathlib import Path

from solver.compact.document import FieldActivatedCurrentLaw
from solver.compact.model import CompactModel
from solver.constants import BOLTZMANN, ELEMENTARY_CHARGE
from solver.io import write_text_atomic

SUBCKT_NAME = "filatherm_compact"
LIBRARY_SECTION = "filatherm"
DEFAULT_THERMAL_CAPACITANCE = 2e-17  # J/K, Galetta et al. 2025 (CMO/HfOx compact model)
STATE_CAPACITANCE = 1e-9  # F: scales the state equation's current to mA, not physical
STATE_LEAK = 1e15  # Ohm: Cs Rs = 1e6 s
# The temperature inside the laws is kept above this fraction of Tamb: a Newton iterate of
# the circuit solve may overshoot to T <= 0, where the laws are undefined (the Python model
# scans from 0.1 T0 upwards, so it never evaluates below).
TEMPERATURE_FLOOR = 0.1

_Q_OVER_K = ELEMENTARY_CHARGE / BOLTZMANN  # K/eV
_K_OVER_Q = BOLTZMANN / ELEMENTARY_CHARGE  # eV/K

# The progress state of the static model (see the module docstring).
STATE_ELEMENTS = [
    "* state: ds/dt = sign(V) rate [1/s]; s = +-delta_per_pulse after one rectangular pulse",
    "Bs 0 s I = Cs*sgn(V(p,n))*V(k)/tp",
    "Cs s 0 {Cs}",
    "Rs s 0 {Rs}",
]


def number(value: float) -> str:
    """A float as ngspice reads it, to full double precision."""
    return repr(float(value))


def model_parameters(model: CompactModel, thermal_capacitance: float) -> list[tuple[str, float, str]]:
    """(name, value, comment with unit) of every subcircuit parameter of the device."""
    branches = model.branches
    current = model.current_law
    kinetics = model.kinetics
    parameters = [
        ("Tref", model.T0, "reference temperature of the fitted laws [K] (do not change)"),
        ("Tamb", model.T0, "ambient temperature [K]"),
        ("Cth", thermal_capacitance, "thermal capacitance [J/K] (assumed, not fitted)"),
    ]
    for branch, suffix, where in ((branches.positive, "pos", "V >= 0"), (branches.negative, "neg", "V < 0")):
        parameters += [
            (f"Rth_{suffix}", branch.R_th.value, f"thermal resistance at low power, {where} [K/W]"),
            (f"dRth_{suffix}", branch.delta_R_th.value, f"rise of the thermal resistance, {where} [K/W]"),
            (f"PR_{suffix}", branch.power_scale.value, f"power scale of the rise, {where} [W]"),
            (f"beta_{suffix}", branch.beta.value, f"Peltier-like term, {where} [K/A]"),
        ]
    parameters += _current_parameters(current) + [
        ("E1", model.field_law.scale.value, "probe field per volt at Tref [1/m]"),
        ("Ea_field", model.field_law.activation_energy.value, "field activation energy [eV]"),
    ]
    parameters += [(name, getattr(kinetics, key), comment) for name, key, comment in kinetics.verilog_parameters]
    parameters += [
        ("tp", kinetics.pulse_width, "pulse width: delta = rate x tp [s]"),
        ("Cs", STATE_CAPACITANCE, "capacitance of the state integrator [F] (a scale, not physical)"),
        ("Rs", STATE_LEAK, "leak of the state integrator [Ohm] (Cs Rs = 1e6 s)"),
    ]
    return parameters


def _current_parameters(law) -> list[tuple[str, float, str]]:
    """Parameters of the current law (solver.compact.laws): activated, or field-activated per polarity."""
    if isinstance(law, FieldActivatedCurrentLaw):
        out = []
        for branch, suffix, where in ((law.positive, "pos", "V >= 0"), (law.negative, "neg", "V < 0")):
            out += [(f"G0_{suffix}", branch.scale.value, f"low-field conductance at Tref, {where} [S]"),
                    (f"Ea_sigma_{suffix}", branch.activation_energy.value, f"conductance activation energy, {where} [eV]"),
                    (f"nexp_{suffix}", branch.exponent.value, f"path-temperature exponent, {where} [1]"),
                    (f"V1_{suffix}", branch.field_voltage.value, f"field voltage, {where} [V]"),
                    (f"gamma_{suffix}", branch.path_heating.value, f"path heating share, {where} [1]")]
        return out
    return [("G0", law.scale.value, "conductance at Tref [S]"),
            ("Ea_sigma", law.activation_energy.value, "conductance activation energy [eV]"),
            ("kappa", law.conduction_exponent.value, "conduction-path exponent [1]"),
            ("seebeck", law.seebeck.value, "effective Seebeck coefficient [V/K]")]


def _current_functions(law) -> list[str]:
    """`.func ft_current(ud, tk)`: the current law in the same operations as the Python model."""
    if isinstance(law, FieldActivatedCurrentLaw):
        def branch(suffix: str) -> str:
            tc = f"max(Tref + gamma_{suffix}*(tk - Tref), 0.05*Tref)"
            return (f"G0_{suffix}*exp(Ea_sigma_{suffix}*{_Q_OVER_K!r}/Tref*(1 - Tref/{tc}))*pow({tc}/Tref, nexp_{suffix})"
                    f"*ud*exp(abs(ud)*Tref/(V1_{suffix}*{tc}))")

        return [f".func ft_current(ud, tk) {{ud >= 0 ? {branch('pos')} : {branch('neg')}}}"]
    return [f".func ft_cond(tk) {{G0*exp(Ea_sigma*{_Q_OVER_K!r}/Tref*(1 - pow(Tref/tk, kappa)))}}",
            ".func ft_current(ud, tk) {ft_cond(tk)*(ud + seebeck*(tk - Tamb))}"]


def law_functions(model: CompactModel) -> list[str]:
    """The `.func` lines of the compact model's laws (ud: device voltage [V], tk: temperature
    [K], ef: field [MV/m])."""
    return [
        f".func ft_kT(tk) {{{_K_OVER_Q!r}*tk}}",
        *_current_functions(model.current_law),
        ".func ft_rth(ud, pw) {ud >= 0 ? Rth_pos + dRth_pos*(1 - exp(-pw/PR_pos))"
        " : Rth_neg + dRth_neg*(1 - exp(-pw/PR_neg))}",
        ".func ft_beta(ud) {ud >= 0 ? beta_pos : beta_neg}",
        f".func ft_field(ud, tk) {{1e-6*E1*abs(ud)*exp(-Ea_field*{_Q_OVER_K!r}*(1/tk - 1/Tref))}}",
        *model.kinetics.spice_rate(),
    ]


# Intermediate nodes hold the temperature, the current (in uA), the field (in MV/m) and
# delta = rate x tp, so that each behavioural source is a short expression: ngspice
# differentiates every B expression symbolically, and with the laws inlined into each other
# the trees, and the run time, grow several-fold.
ELECTROTHERMAL_ELEMENTS = [
    "* node tk: the temperature [1 V = 1 K], kept above TEMPERATURE_FLOOR Tamb",
    f"Btk tk 0 V = max(Tamb + V(t), {TEMPERATURE_FLOOR}*Tamb)",
    "* node ic: the device current [1 V = 1 uA]; the current p -> n",
    "Bc ic 0 V = 1e6*ft_current(V(p,n), V(tk))",
    "Bi p n I = 1e-6*V(ic)",
    "* thermal node t = T - Tamb: Cth dT/dt = P - (T - Tamb - beta I)/R_th(P)",
    "Bt t 0 I = (V(t) - 1e-6*ft_beta(V(p,n))*V(ic))/ft_rth(V(p,n), 1e-6*V(p,n)*V(ic)) - 1e-6*V(p,n)*V(ic)",
    "Ct t 0 {Cth}",
    "* node ef: the probe field [1 V = 1 MV/m]; node k: delta = rate x tp at the present V and T [1]",
    "Bef ef 0 V = ft_field(V(p,n), V(tk))",
    "Bk k 0 V = tp*ft_rate(V(tk), V(ef))",
]


def subcircuit_text(name: str, parameters: list[tuple[str, float, str]], model: CompactModel,
                    state_elements: list[str], ports: str = "p n") -> str:
    """A `.subckt` with the device's parameters, laws, electro-thermal elements and the given
    state elements (one parameter per continuation line, its unit in a comment)."""
    lines = [f".subckt {name} {ports}", "+ params:"]
    width = max(len(f"{key}={number(value)}") for key, value, _ in parameters)
    for key, value, comment in parameters:
        lines.append(f"+ {f'{key}={number(value)}':<{width}}  $ {comment}")
    lines += law_functions(model)
    lines += ELECTROTHERMAL_ELEMENTS
    lines += state_elements
    lines.append(f".ends {name}")
    return "\n".join(lines) + "\n"


def _header(model: CompactModel) -> list[str]:
    source = model.document.source if model.document is not None else None
    origin = f"config {source.config_name!r}, sweep config hash {source.config_hash}" if source else "no source"
    kinetics = model.kinetics
    return [
        f"* filatherm compact model ({origin}), written by `filatherm fit`; ngspice 39 syntax.",
        "* Two terminals: p = top electrode, n = bottom electrode; V = V(p,n), I(p -> n).",
        "*   I(V, T) = the fitted current law (solver.compact.laws): "
        + ("field-activated per polarity" if isinstance(model.current_law, FieldActivatedCurrentLaw)
           else "G0 exp(Ea_sigma q/k_B / Tref (1 - (Tref/T)^kappa)) (V + seebeck (T - Tamb))"),
        "*   Cth dT/dt = P - (T - Tamb - beta I)/R_th(P),  R_th(P) = Rth + dRth (1 - exp(-P/PR)),  P = V I",
        "*            (Rth, dRth, PR, beta per polarity); steady state T = Tamb + R_th(P) P + beta I",
        "*   E     = E1 |V| exp(-Ea_field q/k_B (1/T - 1/Tref))",
        f"*   rate  = {kinetics.law} law of T and E [Hz];  ds/dt = sign(V) rate  (s: switching progress)",
        "* Internal nodes: t = T - Tamb [K], s = switching progress [1], tk = T [K], ic = current [uA],\n*   ef = field [MV/m], k = rate x tp [1].",
    ]


def subcircuit_source(model: CompactModel, thermal_capacitance: float = DEFAULT_THERMAL_CAPACITANCE) -> str:
    """compact_model.sub: header and the `filatherm_compact` subcircuit."""
    body = subcircuit_text(SUBCKT_NAME, model_parameters(model, thermal_capacitance),
                           model, STATE_ELEMENTS)
    return "\n".join(_header(model) + ["* Use: .include compact_model.sub ;  X1 top bottom "
                                       f"{SUBCKT_NAME} [Tamb=... Cth=...]", ""]) + "\n" + body


def library_source(model: CompactModel, thermal_capacitance: float = DEFAULT_THERMAL_CAPACITANCE) -> str:
    """compact_model.lib: the same subcircuit in the library section `filatherm`."""
    body = subcircuit_text(SUBCKT_NAME, model_parameters(model, thermal_capacitance),
                           model, STATE_ELEMENTS)
    return "\n".join(_header(model) + [f"* Use: .lib compact_model.lib {LIBRARY_SECTION} ;  X1 top bottom "
                                       f"{SUBCKT_NAME} [Tamb=... Cth=...]", "",
                                       f".lib {LIBRARY_SECTION}"]) + "\n" + body + f".endl {LIBRARY_SECTION}\n"


def write_subcircuit(model_dir: str | Path, model: CompactModel,
                     thermal_capacitance: float = DEFAULT_THERMAL_CAPACITANCE) -> list[Path]:
    """Write compact_model.sub and compact_model.lib into `model_dir` atomically."""
    model_dir = Path(model_dir)
    return [
        write_text_atomic(model_dir / "compact_model.sub", subcircuit_source(model, thermal_capacitance)),
        write_text_atomic(model_dir / "compact_model.lib", library_source(model, thermal_capacitance)),
    ]
