"""compact_model.sub in ngspice against the Python compact model, and the ngspice runner.

ngspice runs in these tests (`make setup` installs the Debian package); they are skipped,
with that reason, only where ngspice is not installed.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import STATIC_CONFIG
from scipy.integrate import solve_ivp

from solver.materials.kinetics import KINETICS
from solver.compact.laws import activated
from solver.compact.model import CompactModel
from solver.compact.synthetic import LumpedDevice, write_synthetic_sweep
from solver.compact.workflow import fit_results
from solver.config import load_config
from solver.errors import FilathermError
from solver.spice.ngspice import read_ascii_raw, run_ngspice
from solver.compact.subcircuit import DEFAULT_THERMAL_CAPACITANCE, SUBCKT_NAME

needs_ngspice = pytest.mark.skipif(shutil.which("ngspice") is None,
                                   reason="ngspice is not installed (Debian package ngspice; make setup installs it)")

# Every term of the law at work: R_th rising with power, a thermoelectric EMF, conduction
# hotter than the probe.
DEVICE = LumpedDevice(delta_R_th_positive=4.0e6, delta_R_th_negative=3.0e6, power_scale_positive=5.0e-5,
                      power_scale_negative=4.0e-5, seebeck=1.5e-4)
# Tolerances of the transient checks need ngspice's tolerances tightened (its default
# reltol 1e-3 gives errors up to ~1 % on the steep pulse edges).
TIGHT = ".options reltol=1e-7 abstol=1e-15 vntol=1e-12 chgtol=1e-20"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("spice-device")
    write_synthetic_sweep(root, load_config(STATIC_CONFIG), np.linspace(-1.5, 1.5, 31), DEVICE)
    fit_results(root, say=lambda text: None)
    return root / "model"


@pytest.fixture(scope="module")
def model(model_dir):
    return CompactModel.load(model_dir / "compact_model.json")


def _circuit(model_dir, source: str, instance: str = "", options: str = "") -> str:
    return (f"* device test\n.include {model_dir / 'compact_model.sub'}\n{options}\n"
            f"V1 a 0 {source}\nX1 a 0 {SUBCKT_NAME} {instance}\n")


def test_fit_writes_the_subcircuit_and_library(model_dir):
    """Identity: `filatherm fit` writes both files with the fitted numbers and their units."""
    sub = (model_dir / "compact_model.sub").read_text()
    lib = (model_dir / "compact_model.lib").read_text()
    assert f".subckt {SUBCKT_NAME} p n" in sub and ".lib" not in sub.split(".subckt")[1]
    assert [line for line in lib.splitlines() if line.startswith(".lib")] == [".lib filatherm"]
    assert lib.rstrip().endswith(".endl filatherm")
    assert "Cth=2e-17" in sub and "[J/K]" in sub and "[K/W]" in sub


@needs_ngspice
@pytest.mark.parametrize("stop", [1.5, -1.5])
def test_dc_sweep_from_zero_lands_on_the_lowest_root(model_dir, model, stop):
    """Consistency of two independent solvers of the same equations: ngspice's Newton
    continuation of a DC sweep from 0 V (default tolerances) and the Python model's scan for
    the lowest root of the thermal balance agree in current and temperature within 0.5 %
    (measured: 3e-7 with default options, 1e-10 with tight ones)."""
    out = run_ngspice(_circuit(model_dir, "0"), f"dc V1 0 {stop} {stop / 60}",
                      ["v(a)", "i(V1)", "v(x1.t)"], timeout=60)
    v = out["v(a)"][1:]
    current = -out["i(v1)"][1:]
    temperature = model.T0 + out["v(x1.t)"][1:]
    assert np.max(np.abs(current / model.current(v) - 1.0)) < 5e-3
    assert np.max(np.abs(temperature / model.temperature(v) - 1.0)) < 5e-3


@needs_ngspice
def test_library_section_is_the_same_device(model_dir, model):
    """Identity: `.lib compact_model.lib filatherm` gives the device of `.include`."""
    netlist = (f"* lib test\n.lib {model_dir / 'compact_model.lib'} filatherm\n"
               f"V1 a 0 0.9\nX1 a 0 {SUBCKT_NAME}\n")
    out = run_ngspice(netlist, "op", ["i(V1)"], timeout=60)
    assert -out["i(v1)"][0] == pytest.approx(float(model.current(0.9)), rel=5e-3)


def _lumped_pulse(model, voltage_of_time, capacitance, t_end):
    """The lumped ODE of the subcircuit, integrated by scipy (stiff, tight tolerances):
    C dT/dt = P - (T - T0 - beta I)/R_th(P), ds/dt = sign(V) rate(T, E)."""
    field = model.field_law

    def rhs(t, y):
        T, _ = y
        v = voltage_of_time(t)
        law = model.electro_thermal(v)
        current = law.current(v, T)
        power = v * current
        dT = (power - (T - law.T0 - law.beta * current) / law.thermal_resistance(power)) / capacitance
        E = activated(field.scale.value, field.activation_energy.value, model.T0, v, T)
        return [dT, np.sign(v) * model.kinetics.rate(T, E)]

    return solve_ivp(rhs, (0.0, t_end), [model.T0, 0.0], method="Radau", rtol=1e-10,
                     atol=[1e-8, 1e-14], dense_output=True, max_step=2e-11)


@needs_ngspice
@pytest.mark.parametrize("polarity", ["positive", "negative"])
def test_60ns_pulse_matches_the_lumped_ode(model_dir, model, polarity):
    """Verification against an ODE solved separately (scipy Radau on the same lumped
    equations): over a 60 ns pulse at V_write with 1 ns edges, ngspice's current and
    temperature agree within 0.5 % at every time point and the state change per pulse within
    1 % (measured: 1e-4 and 2e-6). The pulse is long against R_th C_th (0.2 ns), so the state
    change is close to, but not exactly, the static delta_per_pulse."""
    v_write = getattr(model.document.figures_of_merit.V_write, polarity)
    edge, width = 1e-9, 60e-9
    times = [0.0, 1e-9, 1e-9 + edge, 1e-9 + edge + width, 1e-9 + 2 * edge + width, 70e-9]
    volts = [0.0, 0.0, v_write, v_write, 0.0, 0.0]
    pwl = " ".join(f"{t!r} {v!r}" for t, v in zip(times, volts))
    out = run_ngspice(_circuit(model_dir, f"PWL({pwl})", options=TIGHT), "tran 0.1n 70n",
                      ["time", "v(a)", "i(V1)", "v(x1.t)", "v(x1.s)"], timeout=120)
    reference = _lumped_pulse(model, lambda t: np.interp(t, times, volts), DEFAULT_THERMAL_CAPACITANCE, 70e-9)
    T_ref, s_ref = reference.sol(out["time"])
    v = out["v(a)"]
    current_ref = model.electro_thermal(v).current(v, T_ref)
    flowing = np.abs(current_ref) > 0.01 * np.abs(current_ref).max()
    current = -out["i(v1)"]
    assert np.max(np.abs(current[flowing] / current_ref[flowing] - 1.0)) < 5e-3
    assert np.max(np.abs((model.T0 + out["v(x1.t)"]) / T_ref - 1.0)) < 5e-3
    assert out["v(x1.s)"][-1] == pytest.approx(s_ref[-1], rel=1e-2)
    assert abs(s_ref[-1]) == pytest.approx(float(model.delta_per_pulse(v_write)), rel=0.05)


@needs_ngspice
@pytest.mark.parametrize("law", [tag for tag, law in KINETICS.items() if not law.moves_state])
def test_rate_node_follows_each_kinetic_law(tmp_path, model, law):
    """Consistency: the node k = rate x t_pulse of the subcircuit, at DC operating points of
    both polarities, equals the Python model's delta_per_pulse (kinetics law by law) within
    0.5 %."""
    from solver.compact.subcircuit import write_subcircuit

    shared = {key: getattr(model.kinetics, key) for key in ("probe", "statistic", "pulse_width", "target_delta")}
    kinetics = KINETICS[law](law=law, **shared)
    variant = CompactModel(kinetics, model.table, model.document.fit.T0, model.branches,
                           model.current_law, model.field_law, model.document)
    write_subcircuit(tmp_path, variant)
    voltages = np.array([-1.4, -0.9, 0.7, 1.2, 1.45])
    netlist = (f"* law test\n.include {tmp_path / 'compact_model.sub'}\n{TIGHT}\n"
               f"V1 a 0 0\nX1 a 0 {SUBCKT_NAME}\n")
    for v in voltages:
        out = run_ngspice(netlist.replace("V1 a 0 0", f"V1 a 0 {v!r}"), "op", ["v(x1.k)"], timeout=60)
        assert out["v(x1.k)"][0] == pytest.approx(float(variant.delta_per_pulse(v)), rel=5e-3)


# ---------------------------------------------------------------- the runner


def test_missing_ngspice_is_one_line(monkeypatch):
    """Identity: without ngspice on PATH the runner says so in one line, with the remedy."""
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(FilathermError) as error:
        run_ngspice("* x\nR1 a 0 1\n", "op", ["v(a)"], timeout=10)
    assert "ngspice not found" in str(error.value) and "\n" not in str(error.value)


@needs_ngspice
def test_bad_netlist_and_bad_analysis_are_one_line_errors():
    """Identity: what ngspice rejects comes back as one line naming ngspice's complaint."""
    with pytest.raises(FilathermError) as error:
        run_ngspice("* x\nV1 a 0 1\nR1 a 0 1\n", "dc Vnone 0 1 0.1", ["v(a)"], timeout=30)
    assert "vnone" in str(error.value).lower() and "\n" not in str(error.value)
    with pytest.raises(FilathermError, match="ngspice failed"):
        run_ngspice("* x\nV1 a 0 1\nR1 a b 1\n", "op", ["v(nosuchnode)"], timeout=30)


@needs_ngspice
def test_final_values_of_a_transient():
    """Verification against a closed form: an RC charged by a step, read back as the last
    point only (`final=True`): 1 - exp(-t/RC) within 1e-4."""
    netlist = "* rc\nV1 a 0 PWL(0 0 1p 1)\nR1 a b 1k\nC1 b 0 1n\n.options reltol=1e-7\n"
    out = run_ngspice(netlist, "tran 10n 2u 0 10n", ["v(b)", "v(a)"], timeout=30, final=True)
    assert out["v(b)"][0] == pytest.approx(1.0 - np.exp(-2.0), abs=1e-4)
    assert out["v(a)"].shape == (1,)


def test_truncated_raw_file_is_an_error(tmp_path):
    """Identity: a raw file with fewer points than its header names is refused."""
    path = tmp_path / "out.raw"
    path.write_text("Title: x\nPlotname: Op\nFlags: real\nNo. Variables: 2\nNo. Points: 2\n"
                    "Variables:\n\t0\tv(a)\tvoltage\n\t1\tv(b)\tvoltage\nValues:\n 0\t1.0\n\t2.0\n")
    with pytest.raises(FilathermError, match="truncated"):
        read_ascii_raw(path)
