"""compact_model.sub / .lib of a device with a state: the dynamic compact model
(solver.compact.dynamic.DynamicModel) as an ngspice subcircuit, in the plain ngspice syntax of
solver.compact.subcircuit (B elements, `.func`, `.subckt ... params:`).

    .include compact_model.sub
    X1 top bottom filatherm_compact [N_init=1e25 Tamb=... state_on=0 ...]

Two terminals, p (top electrode) and n; V = V(p, n), I(p -> n). Inside (1 V = 1 K, 1 uA,
1 MV/m as in the static subcircuit):

- the state node `s` holds (N - N_init) / N_scale: a capacitor Cs integrates
  Cs ds/dt = state_on Cs dN/dt / N_scale, so the node starts at 0, holds the change in units
  of the reference state (of order one across the window) and resolves a half-select pulse's
  change (~1e-12 of N) in its own digits. dN/dt (node `dn`, in N_scale / s) is the kinetics
  law's state equation (e.g. vacancy_hopping) at the node temperature, the interpolated field
  and N, cut to 0 where it would carry N beyond [N_min, N_max] (DynamicModel holds the state
  within its physical range); the cut acts from the time step after the one that crossed the
  bound, so a second source pulls N back onto the bound within ~1 ps. A leak Rs (Cs Rs = 1e6 s) gives the node a DC path, towards
  N_init: 6e-14 of the change is lost over a 60 ns pulse. The integrator is off at time 0,
  so in an operating point or a DC sweep the state is N_init (the leak would otherwise hold
  1e6 s worth of dN/dt on the node); `state_on=0` freezes it in a transient too;
- per solved state i, node `ts<i>` holds the steady temperature T_ss,i(V) of that state's
  fitted laws, the root of T = Tamb_i + R_th,i(P) P + beta_i I_i(V, T) (no capacitor: the
  circuit solve tracks the root from 0 V, the lowest one the Python model takes); nodes
  `ci<i>`, `ei<i>` that state's current [uA] and probe field [MV/m] at the node temperature;
- nodes `tss`, `ic`, `ef`: those interpolated to N by the monotone cubic in ln N of
  DynamicModel (solver.compact.pchip_text; slopes on nodes `m*`, the position on `lx`, `pt*`);
- the thermal node `t` = T - Tamb: Cth dT/dt = (T_ss(V, N) - T) / Rth_node, Rth_node Cth =
  tau of the FEM step response (compact_model.json `thermal`), DynamicModel's thermal node;
  without a step response Cth = 0, the quasi-static node DynamicModel uses then.

Each state's laws keep their reference Tref_s<i> and see the ambient Tamb + Tref_s<i> - Tref.
"""

from __future__ import annotations

from pathlib import Path

from solver.compact.model import CompactModel
from solver.compact.pchip_text import deltas, hermite, slopes
from solver.compact.subcircuit import (
    KT_FUNCTION,
    STATE_CAPACITANCE,
    STATE_LEAK,
    TEMPERATURE_FLOOR,
    fit_functions,
    subcircuit_files,
)
from solver.compact.verilog_a_state import PULL_BACK_RATE, state_models, state_module_parameters
from solver.errors import InputError


def state_subcircuit_parameters(model: CompactModel) -> list[tuple[str, float, str]]:
    """The module's parameters (solver.compact.verilog_a_state) with the ambient and the
    state integrator's."""
    parameters = state_module_parameters(model.document)
    return ([parameters[0], ("Tamb", parameters[0][1], "ambient temperature [K]")] + parameters[1:]
            + [("state_on", 1.0, "1: the state moves; 0: frozen at N_init [1]"),
               ("Cs", STATE_CAPACITANCE, "capacitance of the state integrator (a scale, not physical) [F]"),
               ("Rs", STATE_LEAK, "leak of the state integrator, Cs Rs = 1e6 s [Ohm]")])


def _interpolated(node: str, per_state: str, count: int) -> list[str]:
    """Slope nodes m<node><k> and the node `node` = the monotone cubic in ln N through the
    per-state nodes <per_state><k>."""
    if count == 1:
        return [f"B{node} {node} 0 V = V({per_state}0)"]
    values = [f"V({per_state}{k})" for k in range(count)]
    widths = [f"(ln(N_s{k + 1}) - ln(N_s{k}))" for k in range(count - 1)]
    nodes = [f"ln(N_s{k})" for k in range(count)]
    lines = [f"Bm{node}{k} m{node}{k} 0 V = {text}" for k, text in enumerate(slopes(deltas(values, widths), widths))]
    curve = hermite(values, [f"V(m{node}{k})" for k in range(count)], nodes, widths, "V(lx)", lambda k: f"V(pt{k})")
    return lines + [f"B{node} {node} 0 V = {curve}"]


def state_elements(model: CompactModel) -> list[str]:
    """The `.func` lines and elements of the subcircuit (see the module docstring)."""
    document = model.document
    states = state_models(document)
    count = len(states)
    lines = [KT_FUNCTION]
    for index, entry in enumerate(states):
        lines += fit_functions(entry.fit.current, f"_s{index}", f"Tref_s{index}", f"(Tamb + Tref_s{index} - Tref)")
    lines += document.kinetics.state_equation_spice()
    lines += [
        "* the state N = N_init + N_scale V(s)",
        ".func ft_n(x) {N_init + N_scale*x}",
        "* per-state steady temperatures [1 V = 1 K], each its state's root of T = Tamb_i + R_th(P) P + beta I",
    ]
    for i in range(count):
        temperature = f"max(V(ts{i}), {TEMPERATURE_FLOOR}*Tamb)"
        current = f"ft_current_s{i}(V(p,n), {temperature})"
        lines.append(f"Bts{i} ts{i} 0 I = V(ts{i}) - (Tamb + Tref_s{i} - Tref) - ft_rth_s{i}(V(p,n), V(p,n)*{current})"
                     f"*V(p,n)*{current} - ft_beta_s{i}(V(p,n))*{current}")
    lines += ["* node tk: the node temperature [K]; per state: current [uA] and probe field [MV/m] at it",
              f"Btk tk 0 V = max(Tamb + V(t), {TEMPERATURE_FLOOR}*Tamb)"]
    for i in range(count):
        lines += [f"Bci{i} ci{i} 0 V = 1e6*ft_current_s{i}(V(p,n), V(tk))",
                  f"Bei{i} ei{i} 0 V = ft_field_s{i}(V(p,n), V(tk))"]
    if count > 1:
        lines += ["* the monotone cubic in ln N: lx = ln N within the solved states, pt<k> = position in interval k",
                  f"Blx lx 0 V = ln(min(max(ft_n(V(s)), N_s0), N_s{count - 1}))"]
        lines += [f"Bpt{k} pt{k} 0 V = (V(lx) - ln(N_s{k}))/(ln(N_s{k + 1}) - ln(N_s{k}))" for k in range(count - 1)]
    lines += _interpolated("tss", "ts", count) + _interpolated("ic", "ci", count) + _interpolated("ef", "ei", count)
    lines += [
        "* the device current p -> n",
        "Bi p n I = 1e-6*V(ic)",
        "* thermal node t = T - Tamb: Cth dT/dt = (T_ss(V, N) - T)/Rth_node",
        "Bt t 0 I = (V(t) - (V(tss) - Tamb))/Rth_node",
        "Ct t 0 {Cth}",
        "* node dn: dN/dt / N_scale [1/s]; state node s: (N - N_init)/N_scale, the rate cut at the bounds",
        "Bdn dn 0 V = ft_dndt(V(p,n), V(tk), V(ef), max(ft_n(V(s)), 0))/N_scale",
        "* off at time 0 (operating points and DC sweeps): there the leak would hold Rs Cs dN/dt = 1e6 s of change",
        "Bs 0 s I = state_on*Cs*(time <= 0 || (ft_n(V(s)) >= N_max && V(dn) > 0) || (ft_n(V(s)) <= N_min && V(dn) < 0)"
        " ? 0 : V(dn))",
        "* a step that carried N past a bound is pulled back to it within ~1 ps (the cut acts one step late)",
        "Bsb 0 s I = state_on*Cs*(ft_n(V(s)) > N_max ? (N_max - ft_n(V(s)))/N_scale : (ft_n(V(s)) < N_min ?"
        f" (N_min - ft_n(V(s)))/N_scale : 0))*{PULL_BACK_RATE!r}",
        "Cs s 0 {Cs}",
        "Rs s 0 {Rs}",
    ]
    return lines


def _header(model: CompactModel) -> list[str]:
    document = model.document
    source = document.source
    state = document.state
    return [
        f"* filatherm compact model with a device state (config {source.config_name!r}, sweep config hash "
        f"{source.config_hash}), written by `filatherm fit`; ngspice 39 syntax.",
        "* Two terminals: p = top electrode, n = bottom electrode; V = V(p,n), I(p -> n).",
        f"* State {state.name} N [{state.unit}] = N_init + N_scale V(s);  dN/dt = {document.kinetics.law} state "
        "equation at T, E and N, cut at N_min / N_max.",
        "*   Cth dT/dt = (T_ss(V, N) - T)/Rth_node,  T = Tamb + V(t)",
        f"*   I, E (at T) and T_ss of each of the {len(document.states)} solved states' fitted laws, interpolated "
        "by the monotone cubic in ln N.",
        "* Internal nodes: s (state), t = T - Tamb [K], tk = T [K], ic = current [uA], ef = field [MV/m],",
        "*   dn = dN/dt / N_scale [1/s], tss = T_ss [K]; per state i: ts<i> [K], ci<i> [uA], ei<i> [MV/m].",
    ]


def write_state_subcircuit(model_dir: str | Path, model: CompactModel) -> list[Path]:
    """Write compact_model.sub and compact_model.lib of a device with a state atomically."""
    if not model.kinetics.moves_state:
        raise InputError(f"kinetics law {model.kinetics.law}: does not move the device state")
    return subcircuit_files(model_dir, _header(model), state_subcircuit_parameters(model), state_elements(model),
                            "[N_init=... Tamb=... state_on=0]")

