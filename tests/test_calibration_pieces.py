"""Calibration pieces without the FEM (issue 19): the measurement file, the fit parameters, the
least-squares statistics against closed forms, and the prediction pieces against closed forms."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import yaml

from conftest import ROOT, STATIC_CONFIG
from solver.calibration.fit import FiniteDifferences, analyse, weighted_fit
from solver.calibration.measurements import load_measurements
from solver.calibration.parameters import ParameterSpace
from solver.calibration.predict import interpolated_crossing, monotone_cubic, pulse_train_states
from solver.config.calibration import FitParameter
from solver.config import load_config
from solver.errors import ConfigError, InputError

YAML_FILE = {
    "format": "filatherm-measurements",
    "version": 1,
    "defaults": {"iv": {"relative_uncertainty": 0.02}},
    "conductance": [{"voltage": 0.2, "conductance": 2.5e-5, "uncertainty": 1e-6}],
    "iv": [{"voltage": 0.5, "current": 1e-5}, {"voltage": -0.5, "current": -1.1e-5, "uncertainty": 3e-7}],
    "switching": [{"amplitude": 1.2, "width": 6e-8}],
    "temperature": [{"voltage": 1.0, "temperature": 650.0, "where": "probe_max"}],
    "thermal_resistance": [{"voltage": 1.0, "thermal_resistance": 1.4e6}],
}
CSV_FILE = """# the same data as YAML_FILE, as a table
kind,voltage [V],amplitude [V],width [s],value,uncertainty,relative_uncertainty,where
conductance,0.2,,,2.5e-5,1e-6,,
iv,0.5,,,1e-5,,0.02,
iv,-0.5,,,-1.1e-5,3e-7,,
switching,,,6e-8,1.2,,,
temperature,1.0,,,650,,,probe_max
thermal_resistance,1.0,,,1.4e6,,,
"""


def write(tmp_path, name, data) -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return str(path)


def test_yaml_and_csv_measurement_files_mean_the_same(tmp_path):
    """Identity: the CSV form of a file validates to the same rows (the file default becomes a
    per-row relative uncertainty) and the uncertainties resolve the same."""
    from_yaml = load_measurements(write(tmp_path, "m.yaml", YAML_FILE)).data
    from_csv = load_measurements(write(tmp_path, "m.csv", CSV_FILE)).data
    for kind in ("conductance", "iv", "switching", "temperature", "thermal_resistance"):
        rows_yaml, rows_csv = getattr(from_yaml, kind), getattr(from_csv, kind)
        assert len(rows_yaml) == len(rows_csv)
        for a, b in zip(rows_yaml, rows_csv):
            field = {"conductance": "conductance", "iv": "current", "switching": "amplitude",
                     "temperature": "temperature", "thermal_resistance": "thermal_resistance"}[kind]
            value = getattr(a, field)
            assert getattr(b, field) == value
            assert from_yaml.uncertainty(kind, a, value) == pytest.approx(from_csv.uncertainty(kind, b, value))
    # the row's own > the file's default > the built-in default (5 % for iv, 0.02 V for switching)
    assert from_yaml.uncertainty("iv", from_yaml.iv[0], 1e-5) == pytest.approx(2e-7)
    assert from_yaml.uncertainty("iv", from_yaml.iv[1], -1.1e-5) == pytest.approx(3e-7)
    assert from_yaml.uncertainty("switching", from_yaml.switching[0], 1.2) == pytest.approx(0.02)
    assert from_yaml.uncertainty("thermal_resistance", from_yaml.thermal_resistance[0], 1.4e6) == pytest.approx(1.4e5)


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d["iv"][1].update(curent=1.0), "iv[1].curent: unknown key"),
    (lambda d: d["iv"][0].pop("voltage"), "iv[0].voltage: required key missing"),
    (lambda d: d["iv"][0].update(voltage=0.0), "iv[0].voltage: must not be 0"),
    (lambda d: d["conductance"][0].update(relative_uncertainty=0.1), "give uncertainty or relative_uncertainty"),
    (lambda d: d["conductance"][0].update(conductance=-1e-5), "conductance[0].conductance"),
    (lambda d: d["switching"][0].update(width="1us"), "switching[0].width"),
    (lambda d: d.update(version=2), "version"),
    (lambda d: [d.pop(k) for k in ("conductance", "iv", "switching", "temperature", "thermal_resistance")],
     "no measurements"),
])
def test_a_bad_measurement_file_is_one_line_naming_the_row(tmp_path, mutate, words):
    data = yaml.safe_load(yaml.safe_dump(YAML_FILE))
    mutate(data)
    with pytest.raises(InputError) as err:
        load_measurements(write(tmp_path, "m.yaml", data))
    assert words in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("text, words", [
    ("kind,voltage [mV],value\niv,500,1e-5\n", "column voltage is in V, not mV"),
    ("kind,voltage,value\niv,0.5,lots\n", "line 2: value: 'lots' is not a number"),
    ("kind,voltage,value\nohms,0.5,1\n", "line 2: kind 'ohms'"),
    ("kind,voltage,value,colour\n", "unknown column 'colour'"),
    ("kind,voltage,value\niv,0.5\n", "line 2: 2 cells, the header has 3"),
    ("kind,voltage,value\niv,0,1e-5\n", "line 2: iv[0].voltage: must not be 0"),
])
def test_a_bad_csv_names_the_line(tmp_path, text, words):
    with pytest.raises(InputError) as err:
        load_measurements(write(tmp_path, "m.csv", text))
    assert words in str(err.value)


def test_a_measurement_file_of_unknown_type_or_missing_is_bad_input(tmp_path):
    with pytest.raises(InputError, match="unknown measurement file type"):
        load_measurements(write(tmp_path, "m.txt", "iv: []"))
    with pytest.raises(InputError, match="no such measurement file"):
        load_measurements(tmp_path / "absent.yaml")
    with pytest.raises(InputError, match="a directory, not a measurement file"):
        load_measurements(tmp_path)


# ---------------------------------------------------------------- fit parameters


def test_fit_parameters_resolve_paths_units_and_variables():
    config = load_config(STATIC_CONFIG)
    space = ParameterSpace(config, [
        FitParameter(path="materials.TaOx.thermal_conductivity.value", bounds=(0.1, 10.0)),
        FitParameter(path="materials.TaOx.seebeck.value", bounds=(-1e-3, 1e-3)),
        FitParameter(path="geometry.layers[1].filament.radius", bounds=(3.5, 8.0)),
        FitParameter(path="kinetics.activation_energy", bounds=(1.0, 2.0), scale="linear", step=1e-2),
    ])
    kappa, seebeck, radius, energy = space.parameters
    assert (kappa.log, seebeck.log, radius.log, energy.log) == (True, False, False, False)
    assert (kappa.unit, seebeck.unit, radius.unit, energy.unit) == ("W/(m K)", "V/K", "nm", "eV")
    assert (kappa.fem, seebeck.fem, radius.fem, energy.fem) == (True, True, True, False)
    assert kappa.step == 1e-3 and radius.step == pytest.approx(1e-2 * 4.5) and energy.step == pytest.approx(1e-2)
    x = space.initial_variables()
    assert x[0] == pytest.approx(math.log(1.0)) and space.values(x)[2] == pytest.approx(5.0)
    assert space.fem_assignments(x) == (("materials.TaOx.thermal_conductivity.value", 1.0),
                                        ("materials.TaOx.seebeck.value", -3e-4),
                                        ("geometry.layers[1].filament.radius", 5.0))


@pytest.mark.parametrize("spec, words", [
    ({"path": "materials.TaOx.thermal_conductivity", "bounds": (0.1, 10)}, "is not a number (a law"),
    ({"path": "materials.TaOx.thermal_conductivity.valu", "bounds": (0.1, 10)}, "no key 'valu'"),
    ({"path": "crossbar.rows", "bounds": (8, 128)}, "no measurement depends on it"),
    ({"path": "materials.TaOx.thermal_conductivity.value", "bounds": (2, 10)}, "outside [2, 10]"),
    ({"path": "geometry.layers[1].filament.radius", "bounds": (1, 200), "initial": 150},
     "does not fit inside the cell radius"),
])
def test_a_bad_fit_parameter_is_a_one_line_config_error(spec, words):
    config = load_config(STATIC_CONFIG)
    with pytest.raises(ConfigError) as err:
        ParameterSpace(config, [FitParameter(**spec)])
    assert words in str(err.value) and "calibration.parameters[0]" in str(err.value)


@pytest.mark.parametrize("assignment, words", [
    ("calibration.parameters=[{path: a.b, bounds: [2, 1]}]", "lower must be below upper"),
    ("calibration.parameters=[{path: a.b, bounds: [0, 1], scale: log}]", "needs a positive lower bound"),
    ("calibration.parameters=[{path: a.b, bounds: [0, 1]}, {path: a.b, bounds: [0, 2]}]", "a path may appear once"),
    ("calibration.parameters=[{path: 'a..b', bounds: [0, 1]}]", "cannot parse"),
    ("calibration.identifiability=0", "calibration.identifiability"),
])
def test_the_calibration_section_is_validated_strictly(assignment, words):
    with pytest.raises(ConfigError) as err:
        load_config(STATIC_CONFIG, [assignment])
    assert words in str(err.value)


# ---------------------------------------------------------------- least squares


def straight_line(slope=2.0, offset=-1.0, n=9, sigma=0.05, seed=3):
    t = np.linspace(0.0, 1.0, n)
    noise = np.random.default_rng(seed).standard_normal(n) * sigma
    return t, offset + slope * t + noise, np.full(n, sigma)


def test_standard_errors_of_a_straight_line_match_the_closed_form():
    """Verification: weighted least squares of y = a + b t gives the closed-form estimates and
    covariance sigma^2 (A^T A)^-1; the finite-difference Jacobian of a linear model is exact."""
    t, y, sigma = straight_line()
    design = np.column_stack([np.ones_like(t), t]) / sigma[:, None]
    exact = np.linalg.solve(design.T @ design, design.T @ (y / sigma))
    exact_cov = np.linalg.inv(design.T @ design)
    problem = FiniteDifferences(lambda xs: [(x[0] + x[1] * t - y) / sigma for x in xs],
                                np.array([-10.0, -10.0]), np.array([10.0, 10.0]), np.array([1e-3, 1e-3]), ["a", "b"])
    fit = weighted_fit(problem, np.array([0.0, 0.0]), np.array([20.0, 20.0]), 1e-12, 50, threshold=0.25)
    assert fit.x == pytest.approx(exact, rel=1e-8)
    assert fit.analysis.covariance == pytest.approx(exact_cov, rel=1e-6)
    assert fit.analysis.std == pytest.approx(np.sqrt(np.diag(exact_cov)), rel=1e-6)
    r = (exact[0] + exact[1] * t - y) / sigma
    assert fit.analysis.chi2 == pytest.approx(float(r @ r), rel=1e-10) and fit.analysis.dof == len(t) - 2
    assert fit.analysis.identified.all() and not fit.analysis.unidentified


def test_a_product_pair_is_flagged_not_fitted():
    """Verification: y = a b t + c depends on a and b only through their product, so the
    Jacobian (in ln a, ln b, c) has the exact null direction (1, -1, 0)/sqrt(2) (bound-scaled,
    equal widths): a and b are reported as not identified, without errors; c keeps its
    closed-form error, and the identified product is not lost (the fit still matches)."""
    t, y, sigma = straight_line(slope=3.0, offset=0.5)
    lower, upper = np.array([math.log(0.1), math.log(0.1), -5.0]), np.array([math.log(10.0), math.log(10.0), 5.0])
    problem = FiniteDifferences(lambda xs: [(math.exp(x[0] + x[1]) * t + x[2] - y) / sigma for x in xs],
                                lower, upper, np.array([1e-4, 1e-4, 1e-4]), ["a", "b", "c"])
    fit = weighted_fit(problem, np.array([0.0, 0.5, 0.0]), upper - lower, 1e-12, 100, threshold=0.25)
    analysis = fit.analysis
    assert analysis.unidentified == [2]  # the smallest singular value is the last direction
    assert abs(analysis.directions[2] @ np.array([1, -1, 0]) / math.sqrt(2)) == pytest.approx(1.0, abs=1e-6)
    assert list(analysis.identified) == [False, False, True]
    assert np.isnan(analysis.std[:2]).all()
    design = np.column_stack([np.ones_like(t), t]) / sigma[:, None]
    exact_cov = np.linalg.inv(design.T @ design)
    assert analysis.std[2] == pytest.approx(math.sqrt(exact_cov[0, 0]), rel=1e-5)
    assert math.exp(fit.x[0] + fit.x[1]) == pytest.approx(np.linalg.solve(design.T @ design,
                                                                          design.T @ (y / sigma))[1], rel=1e-6)


def test_analysis_of_fewer_data_than_parameters_leaves_the_rest_unidentified():
    """Identity: two data cannot identify three parameters; the null direction is reported."""
    J = np.array([[10.0, 0.0, 0.0], [0.0, 20.0, 0.0]])
    analysis = analyse(J, np.zeros(2), np.ones(3), 0.25)
    assert analysis.unidentified == [2] and list(analysis.identified) == [True, True, False]
    assert analysis.std[:2] == pytest.approx([0.1, 0.05])


# ---------------------------------------------------------------- prediction pieces


def test_the_switching_crossing_of_a_quadratic_is_exact():
    """Verification: the polynomial through 5 samples of a quadratic is the quadratic, and its
    crossing is the closed-form root (inside the samples); beyond them, the extrapolation
    follows the end slope and is flagged."""
    u = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    f = lambda s: 0.3 * s**2 + 2.0 * s - 1.0  # noqa: E731
    root, extrapolated = interpolated_crossing(u, f(u), 0.7)
    assert root == pytest.approx((-2.0 + math.sqrt(4.0 + 4 * 0.3 * 1.7)) / 0.6, rel=1e-10) and not extrapolated
    linear = lambda s: 2.0 * s  # noqa: E731
    far, extrapolated = interpolated_crossing(u, linear(u), 10.0)
    assert far == pytest.approx(5.0, rel=1e-10) and extrapolated


def test_pulse_trains_follow_the_state_equation():
    """Verification: dN/dt = k N has N(t) = N0 exp(k t); k pulses of width w act as one of
    k w; the state stops at its bound."""
    k, width, start = 2e4, 1e-6, 1e24
    pulses = np.array([0, 1, 5, 20, 200])
    states = pulse_train_states(lambda N: k * N, 1e23, 1e25, start, width, pulses)
    expected = np.minimum(start * np.exp(k * width * pulses), 1e25)
    assert states == pytest.approx(expected, rel=1e-6)
    assert states[-1] == pytest.approx(1e25)  # exp(4) x 1e24 is beyond the bound
    down = pulse_train_states(lambda N: -k * N, 1e23, 1e25, start, width, np.array([200]))
    assert down[0] == pytest.approx(max(start * math.exp(-k * width * 200), 1e23), rel=1e-6)
    # LTP from the lower bound, LTD from the upper one: the start on a bound does not stop it
    up = pulse_train_states(lambda N: k * N, 1e24, 1e25, 1e24, width, np.array([10, 50]))
    assert up == pytest.approx(1e24 * np.exp(k * width * np.array([10, 50])), rel=1e-6)
    back = pulse_train_states(lambda N: -k * N, 1e24, 1e25, 1e25, width, np.array([10]))
    assert back[0] == pytest.approx(1e25 * math.exp(-k * width * 10), rel=1e-6)


def test_monotone_interpolation_reproduces_lines_and_holds_the_ends():
    """Verification: monotone cubic (Fritsch-Carlson) interpolation is exact for a straight
    line, at a scalar or an array of points, and constant beyond the ends."""
    x = np.log(np.geomspace(7e24, 3.77e25, 5))
    y = 2.0 * x - 3.0
    at = np.array([[x[0] + 0.1, x[2] + 0.37], [x[-1] - 0.05, x[1]]])
    assert monotone_cubic(x, y, at) == pytest.approx(2.0 * at - 3.0, rel=1e-12)
    assert float(monotone_cubic(x, y, x[1] + 0.2)) == pytest.approx(2.0 * (x[1] + 0.2) - 3.0, rel=1e-12)
    assert monotone_cubic(x, y, np.array([x[0] - 1.0, x[-1] + 1.0])) == pytest.approx([y[0], y[-1]])


def test_the_cmo_measurement_file_quotes_the_published_model():
    """Verification of the data behind configs/cmo_hfox.yaml: each switching row's delta is what
    the published lumped model (its equations written out independently in
    scripts/cmo_reference.py) gives at that amplitude, state and width, to 1e-4; its window is
    the published 25-90 uS, which the published model reproduces within 6 %."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import cmo_reference

    data = load_measurements(ROOT / "configs" / "cmo_hfox_measurements.yaml").data
    for row in data.switching:
        assert row.delta == pytest.approx(cmo_reference.delta_per_pulse(row.amplitude, row.state, row.width), rel=1e-4)
    for row in data.conductance:
        T, I = cmo_reference.steady_state(row.voltage, row.state)
        assert I / row.voltage == pytest.approx(row.conductance, rel=0.065)


def test_the_journal_has_one_writer_and_a_resume_only_appends(tmp_path):
    """Identity: a second writer on the same directory is refused with one line while the first
    holds it; a resume appends to the stored bytes (never rewrites them, so a kill during the
    resume cannot lose a stored point), drops a torn last line and keeps every whole one."""
    from solver.calibration.journal import Journal

    first = Journal(tmp_path)
    first.start(resume=False, force=False)
    first.append("a", 0.5, {"current": 1.0})
    first.append("a", 1.0, {"current": 2.0})
    with pytest.raises(InputError, match="another filatherm is writing this run"):
        Journal(tmp_path).start(resume=True, force=False)
    first.close()
    stored = first.path.read_bytes()
    first.path.write_bytes(stored + b'{"task": "a", "drive": 1.5, "rec')  # killed mid-line
    again = Journal(tmp_path)
    again.start(resume=True, force=False)
    assert again.torn_lines == 1 and again.record("a", 1.0) == {"current": 2.0} and again.record("a", 1.5) is None
    again.append("a", 1.5, {"current": 3.0})
    again.close()
    assert again.path.read_bytes().startswith(stored)
    last = Journal(tmp_path)
    last.start(resume=True, force=False)
    assert last.torn_lines == 1 and [last.record("a", v)["current"] for v in (0.5, 1.0, 1.5)] == [1.0, 2.0, 3.0]
    last.close()
