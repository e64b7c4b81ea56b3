"""compact_model.va of a device with a state: the dynamic compact model
(solver.compact.dynamic.DynamicModel) as a Verilog-A module.

Module `filatherm_compact(p, n)`, as the static one (solver.compact.verilog_a), with two
internal nodes:

- `xs` (electrical), the state: V(xs) = (N - N_init) / N_scale, integrated with `idt` from 0,
  so N starts at the parameter N_init (default the document's reference state) and the node
  holds the change, in units of the reference state: a number of order one across the window
  that still resolves a half-select pulse's change (of order 1e-12 of N) in its own digits.
  dN/dt is the kinetics law's state equation (e.g. vacancy_hopping) at the node temperature,
  the interpolated probe field and N; a rate that would carry N beyond [N_min, N_max] (the
  state's physical range, as DynamicModel holds it) is cut to 0 there, and a time step that
  still crossed a bound is pulled back onto it at PULL_BACK_RATE (within ~1 ps);
- `th` (thermal), the temperature rise T - Tamb of the thermal node: its capacitance Cth
  (`ddt`) and the conductance 1/Rth_node to the steady temperature of the present V and N,
      Cth dT/dt = (T_ss(V, N) - T) / Rth_node,   Rth_node Cth = tau,
  DynamicModel's dT/dt = (T_ss - T)/tau with tau and C_th = tau / R_th of the FEM step
  response (compact_model.json `thermal`); without a step response Cth = 0: the node follows
  T_ss at once (quasi-static), as DynamicModel does.

T_ss, the current and the probe field are each state's fitted laws (solver.compact.laws, the
same text as the static module, one parameter set `_s<i>` per solved state) interpolated by
the monotone cubic of DynamicModel in ln N (solver.compact.pchip_text); T_ss of each state is
its own lowest root (scan, bisection, Newton), not DynamicModel's tabulated one. I and E are
taken at the node temperature T. Ambient: Tamb = $temperature; each state's laws keep their
reference Tref_s<i> and see the ambient Tref_s<i> + ($temperature - Tref), so at
$temperature = Tref the module is the Python model.

Retrievable (`(*retrieve*)`, e.g. by verilogae): I_dev [A], T_probe (the node) and T_ss [K],
E_probe [V/m], rate [Hz], dNdt and dNdt_held [unit of the state / s] and N_state.
"""

from __future__ import annotations

from pathlib import Path

from solver.compact.document import CompactModelDocument, StateModel
from solver.compact.model import CompactModel
from solver.compact.pchip_text import deltas, hermite, slopes
from solver.compact.verilog_a import (
    HEADER_DEFINES,
    LAW_LOCALS,
    MODULE_NAME,
    Parameter,
    current_at,
    declarations,
    field_at,
    law_parameters,
    macros,
    origin,
    select_branch,
    steady_temperature,
)
from solver.errors import InputError
from solver.io import write_text_atomic

PULL_BACK_RATE = 1e12  # 1/s: N beyond a bound returns to it within ~1 ps (same in the subcircuit)


def state_models(document: CompactModelDocument) -> list[StateModel]:
    """The document's per-state models, by increasing state."""
    if not document.states or document.state is None:
        raise InputError("compact model: no per-state models (version 2 with a device state needed)")
    return sorted(document.states, key=lambda entry: entry.state)


def state_range(document: CompactModelDocument) -> tuple[float, float]:
    """The state's physical range, as solver.compact.dynamic.DynamicModel.state_range."""
    states = state_models(document)
    info = document.state
    low = info.minimum if info.minimum is not None else states[0].state
    high = info.maximum if info.maximum is not None else states[-1].state
    return float(low), float(high)


def thermal_node(document: CompactModelDocument) -> tuple[float, float]:
    """(Cth [J/K], Rth_node [K/W]) of the node: tau = Rth_node Cth from the step response, or
    Cth = 0 (quasi-static) without one (Rth_node then only scales the node's equation)."""
    thermal = document.thermal
    if thermal is not None and thermal.time_constant and thermal.time_constant > 0 and thermal.capacitance:
        return thermal.capacitance, thermal.time_constant / thermal.capacitance
    reference = min(state_models(document), key=lambda entry: abs(entry.state - document.state.reference))
    return 0.0, reference.fit.branches.positive.R_th.value


def state_module_parameters(document: CompactModelDocument) -> list[Parameter]:
    """Every parameter of the module (name, value, "description [unit]")."""
    states = state_models(document)
    unit = document.state.unit
    low, high = state_range(document)
    capacitance, resistance = thermal_node(document)
    parameters: list[Parameter] = [
        ("Tref", states[0].fit.T0.value, "reference temperature of the laws, the lowest state's (do not change) [K]"),
        ("N_init", document.state.reference, f"initial state ({document.state.name}) [{unit}]"),
        ("N_min", low, f"smallest physical state: dN/dt < 0 is cut there [{unit}]"),
        ("N_max", high, f"largest physical state: dN/dt > 0 is cut there [{unit}]"),
        ("N_scale", document.state.reference, f"scale of the state node, V(xs) = (N - N_init) / N_scale [{unit}]"),
        ("Cth", capacitance, "thermal capacitance of the node, 0: quasi-static [J/K]"),
        ("Rth_node", resistance, "thermal resistance of the node to the steady temperature, tau = Rth_node Cth [K/W]"),
    ]
    for index, entry in enumerate(states):
        tag = f"_s{index}"
        parameters += [(f"N{tag}", entry.state, f"solved state {index} [{unit}]"),
                       (f"Tref{tag}", entry.fit.T0.value, f"reference temperature of the laws of state {index} [K]")]
        parameters += [(name, value, _of_state(comment, index)) for name, value, comment in law_parameters(entry.fit.branches, entry.fit.current, entry.fit.field, tag)]
    return parameters + document.kinetics.state_parameters(unit)


def _of_state(comment: str, index: int) -> str:
    """"description [unit]" -> "description, state i [unit]"."""
    text, bracket, unit = comment.rpartition(" [")
    return f"{text}, state {index} [{unit}" if bracket else f"{comment}, state {index}"


QUANTITIES = (("T_ss", "tss"), ("I_dev", "i"), ("E_probe", "e"))  # interpolated result, per-state local


def _interpolation(count: int) -> str:
    """Statements that set T_ss, I_dev and E_probe from the per-state values (locals tss_s<i>,
    i_s<i>, e_s<i>) by the monotone cubic in ln N of DynamicModel."""
    indent = "    "
    if count == 1:
        return "\n".join(f"{indent}{result} = {local}_s0;" for result, local in QUANTITIES)
    lines = [f"lnN = ln(min(max(N_state, N_s0), N_s{count - 1}));"]
    lines += [f"pc_x{k} = ln(N_s{k});" for k in range(count)]
    lines += [f"pc_h{k} = pc_x{k + 1} - pc_x{k};" for k in range(count - 1)]
    lines += [f"pc_t{k} = (lnN - pc_x{k}) / pc_h{k};" for k in range(count - 1)]
    widths = [f"pc_h{k}" for k in range(count - 1)]
    nodes = [f"pc_x{k}" for k in range(count)]
    for result, local in QUANTITIES:
        values = [f"{local}_s{k}" for k in range(count)]
        lines += [f"// {result}: monotone cubic in ln N"]
        lines += [f"pc_d{k} = {text};" for k, text in enumerate(deltas(values, widths))]
        lines += [f"pc_m{k} = {text};" for k, text in enumerate(slopes([f"pc_d{k}" for k in range(count - 1)], widths))]
        lines += [f"{result} = {hermite(values, [f'pc_m{k}' for k in range(count)], nodes, widths, 'lnN', lambda k: f'pc_t{k}')};"]
    return "\n".join(indent + line for line in lines)


def verilog_a_state_source(model: CompactModel) -> str:
    """Verilog-A text of a device with a state (the document's per-state models)."""
    document = model.document
    if not document.kinetics.moves_state:
        raise InputError(f"kinetics law {document.kinetics.law}: does not move the device state")
    states = state_models(document)
    count = len(states)
    parameters = state_module_parameters(document)
    blocks = []
    for index, entry in enumerate(states):
        tag = f"_s{index}"
        blocks += [f"    // state {index}: N = {entry.state!r} {document.state.unit}",
                   f"    tref = Tref{tag};",
                   "    tamb = tref + dtamb;",
                   select_branch(entry.fit.current, tag),
                   steady_temperature(entry.fit.current, f"tss{tag}"),
                   f"    i{tag} = {current_at(entry.fit.current, 'T_probe')};",
                   f"    e{tag} = {field_at('T_probe')};"]
    per_state = ", ".join(f"{local}_s{k}" for _, local in QUANTITIES for k in range(count))
    interpolation_locals = ""
    if count > 1:
        interpolation_locals = "  real lnN, " + ", ".join(
            [f"pc_x{k}" for k in range(count)] + [f"pc_{name}{k}" for name in "htd" for k in range(count - 1)]
            + [f"pc_m{k}" for k in range(count)]) + ";\n"
    kinetics = document.kinetics
    return f"""// compact_model.va: filatherm compact model with a device state ({origin(model)}),
// generated by `filatherm fit`: solver.compact.dynamic.DynamicModel as a Verilog-A module.
// Two-terminal device, p = top electrode, n = bottom electrode; V = V(p, n) is the device voltage.
// State {document.state.name} N [{document.state.unit}]: V(xs) = (N - N_init) / N_scale,
//   dN/dt = {kinetics.law} state equation at T, E_probe and N (0 where it would leave [N_min, N_max]).
// Thermal node th: Cth d(T - Tamb)/dt = (T_ss(V, N) - T) / Rth_node, Tamb = $temperature.
// {count} solved states; each has the fitted laws of the static module (per polarity branch):
//   I(V, T), E_probe(V, T) at the node temperature T; T_ss(V) = lowest root of
//   T = Tamb + Rth(P) P + beta I(V, T); all three interpolated by the monotone cubic
//   (Fritsch-Carlson) in ln N between the states, constant beyond them.
`include "disciplines.vams"

{HEADER_DEFINES}
{macros([entry.fit.current for entry in states])}

module {MODULE_NAME}(p, n);
  inout p, n;
  electrical p, n;
  electrical xs;
  thermal th;
{declarations(parameters)}

  (*retrieve*) real I_dev;
  (*retrieve*) real T_probe;
  (*retrieve*) real T_ss;
  (*retrieve*) real E_probe;
  (*retrieve*) real rate;
  (*retrieve*) real dNdt;
  (*retrieve*) real dNdt_held;
  (*retrieve*) real N_state;
  real kT, N_kin, dtamb, ea_state;
  real {per_state};
{interpolation_locals}  {LAW_LOCALS}

  analog begin
    v = V(p, n);
    T_probe = $temperature + Temp(th);
    N_state = N_init + N_scale * V(xs);
    N_kin = max(N_state, 0.0);
    dtamb = $temperature - Tref;
{chr(10).join(blocks)}

{_interpolation(count)}

    kT = `FT_BOLTZMANN * T_probe / `FT_CHARGE;
    {kinetics.state_equation_verilog_a()}
    if ((N_state >= N_max && dNdt > 0) || (N_state <= N_min && dNdt < 0))
      dNdt_held = 0.0;
    else
      dNdt_held = dNdt;
    // the cut acts from the step after the one that crossed a bound: pulled back within ~1 ps
    if (N_state > N_max)
      dNdt_held = dNdt_held + (N_max - N_state) * {PULL_BACK_RATE!r};
    else if (N_state < N_min)
      dNdt_held = dNdt_held + (N_min - N_state) * {PULL_BACK_RATE!r};

    V(xs) <+ idt(dNdt_held / N_scale, 0.0);
    Pwr(th) <+ ddt(Cth * Temp(th)) + (Temp(th) - (T_ss - $temperature)) / Rth_node;
    I(p, n) <+ I_dev;
  end
endmodule
"""


def write_verilog_a_state(path: str | Path, model: CompactModel) -> Path:
    """Write compact_model.va of a device with a state atomically."""
    return write_text_atomic(path, verilog_a_state_source(model))
