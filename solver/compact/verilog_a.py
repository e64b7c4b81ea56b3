"""compact_model.va: the fitted law as a Verilog-A two-terminal device.

Module `filatherm_compact(p, n)`, p the top electrode: I(p, n) is the fitted current. The
probe temperature is solved inside the module with the same scan, bisection and Newton step
as solver.compact.laws (so no internal thermal node and no starting guess), and the current,
field, switching rate and delta per pulse follow from it exactly as in
:class:`solver.compact.model.CompactModel` (fitted law). They are marked `(*retrieve*)` so
that verilogae (or a simulator's operating-point output) can read them. Every fitted number
is a `parameter real` written with full double precision, with `desc` and `units` attributes
(Verilog-AMS LRM 2.4, attributes; `units="1"` for a dimensionless number).

The ambient is the simulator's `$temperature`; `Tref` is the temperature the laws were fitted
at, their reference (T0 of solver.compact.laws), which only the fit may change. The ambient
enters where T0 is an ambient in the laws: the thermal balance T = Tamb + R_th(P) P + beta I,
the thermoelectric EMF S (T - Tamb) of the activated law, the conduction-path temperature
T_c = Tamb + gamma (T - Tamb) of the field-activated law, and the scan's grid; the activation
terms keep Tref. At $temperature = Tref the module is the Python model.

The thermal law is the steady-state one: the device is quasi-static on the scale of a
60 ns pulse only if its thermal time constant is much shorter (check the transient solve).
A device with a state has its own module (solver.compact.verilog_a_state), built from the
pieces below, one set per solved state.
"""

from __future__ import annotations

import re
from pathlib import Path

from solver.compact.document import ActivatedLaw, Branches, FieldActivatedCurrentLaw
from solver.compact.laws import BISECTION_STEPS, SCAN_HIGH, SCAN_POINTS, SCAN_START, SCAN_STEP
from solver.compact.model import CompactModel
from solver.io import write_text_atomic

MODULE_NAME = "filatherm_compact"

Parameter = tuple[str, float, str]  # name, value, "description [unit]"

_UNIT = re.compile(r"^(.*?)\s*\[([^\]]+)\]$")


def _number(value: float) -> str:
    return repr(float(value))


def declaration(name: str, value: float, comment: str) -> str:
    """`(* desc, units *) parameter real` of a parameter whose comment ends with its [unit]
    (none: a dimensionless number, units "1")."""
    match = _UNIT.match(comment)
    description, units = (match.group(1), match.group(2)) if match else (comment, "1")
    description = description.replace('"', "'")
    return f'  (* desc="{description}", units="{units}" *) parameter real {name} = {_number(value)};'


def declarations(parameters: list[Parameter]) -> str:
    return "\n".join(declaration(*parameter) for parameter in parameters)


def law_parameters(branches: Branches, law, field: ActivatedLaw, tag: str = "") -> list[Parameter]:
    """The fitted electro-thermal laws' parameters: thermal branches, current law `law` and
    probe-field law (names end with `tag`, one set per solved state)."""
    parameters = []
    for polarity, suffix, where in ((branches.positive, "pos", "V >= 0"), (branches.negative, "neg", "V < 0")):
        parameters += [
            (f"Rth_{suffix}{tag}", polarity.R_th.value, f"thermal resistance at low power, {where} [K/W]"),
            (f"dRth_{suffix}{tag}", polarity.delta_R_th.value, f"rise of the thermal resistance, {where} [K/W]"),
            (f"PR_{suffix}{tag}", polarity.power_scale.value, f"power scale of the rise, {where} [W]"),
            (f"beta_{suffix}{tag}", polarity.beta.value, f"Peltier-like term, {where} [K/A]"),
        ]
    if isinstance(law, FieldActivatedCurrentLaw):
        for branch, suffix, where in ((law.positive, "pos", "V >= 0"), (law.negative, "neg", "V < 0")):
            parameters += [
                (f"G0_{suffix}{tag}", branch.scale.value, f"low-field conductance at Tref, {where} [S]"),
                (f"Ea_sigma_{suffix}{tag}", branch.activation_energy.value,
                 f"conductance activation energy, {where} [eV]"),
                (f"nexp_{suffix}{tag}", branch.exponent.value, f"path-temperature exponent, {where} [1]"),
                (f"V1_{suffix}{tag}", branch.field_voltage.value, f"field voltage, {where} [V]"),
                (f"gamma_{suffix}{tag}", branch.path_heating.value, f"path heating share, {where} [1]"),
            ]
    else:
        parameters += [
            (f"G0{tag}", law.scale.value, "conductance at Tref [S]"),
            (f"Ea_sigma{tag}", law.activation_energy.value, "conductance activation energy [eV]"),
            (f"kappa{tag}", law.conduction_exponent.value, "conduction-path exponent [1]"),
            (f"seebeck{tag}", law.seebeck.value, "effective Seebeck coefficient [V/K]"),
        ]
    return parameters + [
        (f"E1{tag}", field.scale.value, "probe field per volt at Tref [1/m]"),
        (f"Ea_field{tag}", field.activation_energy.value, "field activation energy [eV]"),
    ]


def _kind(law) -> str:
    return "FIELD" if isinstance(law, FieldActivatedCurrentLaw) else "ACT"


# The laws as macros of a temperature, over the locals a branch selection sets (tamb: the
# ambient, tref: the laws' reference, v: the device voltage).
MACROS = {
    "ACT": ("`define FT_I_ACT(t) (g0 * exp(a_sigma / tref * (1.0 - pow(tref / (t), kappa_c))) "
            "* (v + seebeck_c * ((t) - tamb)))"),
    "FIELD": ("`define FT_TC(t) max(tamb + path_gamma * ((t) - tamb), 0.05 * tamb)\n"
              "`define FT_I_FIELD(t) (g0 * exp(a_sigma / tref * (1.0 - tref / `FT_TC(t))) * pow(`FT_TC(t) / tref, nexp)"
              " * v * exp(abs(v) * tref / (v1 * `FT_TC(t))))"),
}
BALANCE_MACRO = ("`define FT_BALANCE(t, i) (tamb + ((rth + drth * (1.0 - exp(-(v * (i)) / pr))) * v + beta) * (i) - (t))")
LAW_LOCALS = ("real v, tamb, tref, rth, drth, pr, beta, g0, ea_sigma, a_sigma, kappa_c, seebeck_c, nexp, v1, path_gamma, "
              "e1, a_field, t_low, t_high, t_mid, t_root, i_root, d_current, decay, resistance, d_resistance, slope, tc, "
              "heating;\n  integer k, found, step;")


def macros(laws: list) -> str:
    """The `define lines the current laws `laws` need."""
    return "\n".join([MACROS[kind] for kind in ("ACT", "FIELD") if any(_kind(law) == kind for law in laws)]
                     + [BALANCE_MACRO])


def current_at(law, temperature: str) -> str:
    """The current law at a temperature expression, over the selected branch's locals."""
    return f"`FT_I_{_kind(law)}({temperature})"


def select_branch(law, tag: str = "", indent: str = "    ") -> str:
    """Statements that set the current law `law`'s and the thermal and field laws' locals from the parameters (names ending with `tag`) of
    the branch of sign(v)."""
    def branch(suffix: str) -> list[str]:
        lines = [f"rth = Rth_{suffix}{tag};", f"drth = dRth_{suffix}{tag};", f"pr = PR_{suffix}{tag};",
                 f"beta = beta_{suffix}{tag};"]
        if _kind(law) == "FIELD":
            lines += [f"g0 = G0_{suffix}{tag};", f"ea_sigma = Ea_sigma_{suffix}{tag};", f"nexp = nexp_{suffix}{tag};",
                      f"v1 = V1_{suffix}{tag};", f"path_gamma = gamma_{suffix}{tag};"]
        return lines

    common = [] if _kind(law) == "FIELD" else [f"g0 = G0{tag};", f"ea_sigma = Ea_sigma{tag};", f"kappa_c = kappa{tag};",
                                                f"seebeck_c = seebeck{tag};"]
    common += ["a_sigma = ea_sigma * `FT_CHARGE / `FT_BOLTZMANN;", f"e1 = E1{tag};",
               f"a_field = Ea_field{tag} * `FT_CHARGE / `FT_BOLTZMANN;"]
    inner = indent + "  "
    return "\n".join([f"{indent}if (v >= 0) begin", *(inner + line for line in branch("pos")),
                      f"{indent}end else begin", *(inner + line for line in branch("neg")), f"{indent}end",
                      *(indent + line for line in common)])


def steady_temperature(law, target: str, indent: str = "    ") -> str:
    """Statements that set `target` to the lowest root of the thermal balance (scan, bisection,
    one Newton step, as solver.compact.laws.steady_temperature), SCAN_HIGH tamb without one."""
    kind = _kind(law)
    balance = lambda t: f"`FT_BALANCE({t}, {current_at(law, t)})"  # noqa: E731
    grid = lambda k: f"tamb * exp({_number(SCAN_START)} + {_number(SCAN_STEP)} * {k})"  # noqa: E731
    if kind == "FIELD":
        slope = ["tc = `FT_TC(t_root);",
                 "if (tamb + path_gamma * (t_root - tamb) > 0.05 * tamb)",
                 "  heating = path_gamma;",
                 "else",
                 "  heating = 0.0;",
                 "d_current = i_root * (a_sigma / (tc * tc) + nexp / tc - abs(v) * tref / (v1 * tc * tc)) * heating;"]
    else:
        # dI/dT = G'(T) (v + S (T - Tamb)) + G(T) S, with G' = G a kappa (Tref/T)^kappa / (Tref T)
        slope = ["d_current = g0 * exp(a_sigma / tref * (1.0 - pow(tref / t_root, kappa_c))) * a_sigma / tref * kappa_c"
                 " * pow(tref / t_root, kappa_c) / t_root * (v + seebeck_c * (t_root - tamb))"
                 " + g0 * exp(a_sigma / tref * (1.0 - pow(tref / t_root, kappa_c))) * seebeck_c;"]
    lines = [
        "// 1. first scan point T_k = Tamb exp(start + k step) where the balance turns <= 0",
        "found = 0;",
        "k = 0;",
        f"while (found == 0 && k < {SCAN_POINTS}) begin",
        f"  t_high = {grid('k')};",
        f"  if ({balance('t_high')} <= 0)",
        "    found = 1;",
        "  else",
        "    k = k + 1;",
        "end",
        "if (found == 0)",
        f"  k = {SCAN_POINTS - 1};",
        f"t_high = {grid('k')};",
        "if (k > 0)",
        f"  t_low = {grid('(k - 1)')};",
        "else",
        "  t_low = t_high;",
        "// 2. bisection",
        "step = 0;",
        f"while (step < {BISECTION_STEPS}) begin",
        "  t_mid = 0.5 * (t_low + t_high);",
        f"  if ({balance('t_mid')} > 0)",
        "    t_low = t_mid;",
        "  else",
        "    t_high = t_mid;",
        "  step = step + 1;",
        "end",
        "// 3. one Newton step with the analytic slope (carries dT/dV for the simulator's Jacobian)",
        "t_root = 0.5 * (t_low + t_high);",
        f"i_root = {current_at(law, 't_root')};",
        *slope,
        "decay = exp(-v * i_root / pr);",
        "resistance = rth + drth * (1.0 - decay);",
        "d_resistance = drth * decay * v * d_current / pr;",
        "slope = d_resistance * v * i_root + (resistance * v + beta) * d_current - 1.0;",
        f"{target} = t_root - {balance('t_root')} / slope;",
        "if (found == 0)",
        f"  {target} = {grid(SCAN_POINTS - 1)};",
    ]
    return "\n".join(indent + line for line in lines)


def field_at(temperature: str) -> str:
    """The probe-field law at a temperature expression, over the selected branch's locals."""
    return f"e1 * abs(v) * exp(-a_field * (1.0 / {temperature} - 1.0 / tref))"


HEADER_DEFINES = "`define FT_BOLTZMANN 1.380649e-23\n`define FT_CHARGE 1.602176634e-19"


def origin(model: CompactModel) -> str:
    source = model.document.source if model.document is not None else None
    return f"config {source.config_name!r}, sweep config hash {source.config_hash}" if source else "no source"


def verilog_a_source(model: CompactModel) -> str:
    """Verilog-A text of the fitted compact model."""
    kinetics = model.kinetics
    law = model.current_law
    parameters = [("Tref", model.T0, "reference temperature of the fitted laws (do not change) [K]")]
    parameters += law_parameters(model.branches, law, model.field_law)
    parameters += [(name, getattr(kinetics, key), comment) for name, key, comment in kinetics.verilog_parameters]
    parameters += [("t_pulse", kinetics.pulse_width, "pulse width [s]")]
    rate_locals, rate_statements = kinetics.verilog_a()
    equation = ("Tc = Tamb + gamma (T - Tamb);  I = G0 exp(Ea_sigma q/k_B / Tref (1 - Tref/Tc)) (Tc/Tref)^nexp V "
                "exp(|V| Tref / (V1 Tc))  (per polarity)" if _kind(law) == "FIELD" else
                "G(T) = G0 exp(Ea_sigma q/k_B / Tref (1 - (Tref/T)^kappa)),  I = G(T) (V + seebeck (T - Tamb))")
    return f"""// compact_model.va: filatherm compact model ({origin(model)}), generated by `filatherm fit`.
// Two-terminal device, p = top electrode, n = bottom electrode; V = V(p, n) is the device voltage.
// Tamb = $temperature (the ambient); Tref = the laws' reference temperature.
//   {equation}
//   E_probe = E1 |V| exp(-Ea_field q/k_B (1/T - 1/Tref))
//   T_probe = Tamb + Rth(P) P + beta I,  Rth(P) = Rth + dRth (1 - exp(-P/PR)),  P = V I
//             (Rth, dRth, PR, beta per polarity): lowest root, solved below
//   rate    = {kinetics.law} law of T_probe and E_probe [Hz];  delta = rate * t_pulse
// T_probe = {SCAN_HIGH:g} Tamb marks voltages without a steady state (thermal runaway).
`include "disciplines.vams"

{HEADER_DEFINES}
{macros([law])}

module {MODULE_NAME}(p, n);
  inout p, n;
  electrical p, n;
{declarations(parameters)}

  (*retrieve*) real I_dev;
  (*retrieve*) real T_probe;
  (*retrieve*) real E_probe;
  (*retrieve*) real rate;
  (*retrieve*) real delta;
  real kT;
  {LAW_LOCALS}
{rate_locals}
  analog begin
    v = V(p, n);
    tamb = $temperature;
    tref = Tref;
{select_branch(law)}
{steady_temperature(law, "T_probe")}

    I_dev = {current_at(law, "T_probe")};
    E_probe = {field_at("T_probe")};
    kT = `FT_BOLTZMANN * T_probe / `FT_CHARGE;
    {rate_statements}
    delta = rate * t_pulse;
    I(p, n) <+ I_dev;
  end
endmodule
"""


def write_verilog_a(path: str | Path, model: CompactModel) -> Path:
    """Write compact_model.va atomically."""
    return write_text_atomic(path, verilog_a_source(model))
