"""Kinetics, rate tables and the compact-model fit (`filatherm fit`) on synthetic sweeps."""

from __future__ import annotations

import json

import math

import h5py
import numpy as np
import pytest
import yaml
from conftest import STATIC_CONFIG, run_cli

from solver.compact.model import CompactModel
from solver.compact.synthetic import LumpedDevice, write_synthetic_sweep
from solver.compact.workflow import fit_results
from solver.config import load_config
from solver.config.schema import FixedTemperature
from solver.constants import BOLTZMANN, ELEMENTARY_CHARGE
from solver.materials.kinetics import Arrhenius, IonHopping, Jart
from solver.errors import InputError

VOLTAGES = np.linspace(-1.5, 1.5, 61)
# Known lumped numbers, deliberately different per polarity.
DEVICE = LumpedDevice(R_th_positive=1.25e7, R_th_negative=1.1e7, beta_positive=5.0e5,
                      beta_negative=2.0e5, G0=6.0e-6)


@pytest.fixture(scope="module")
def config():
    return load_config(STATIC_CONFIG)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, config):
    """A synthetic sweep with two failed points, fitted once for the module."""
    root = tmp_path_factory.mktemp("fit")
    write_synthetic_sweep(root, config, VOLTAGES, DEVICE, failures={3: "no_convergence", 60: "runaway"})
    outcome = fit_results(root, say=lambda text: None)
    return root, outcome.models[0]


# ---------------------------------------------------------------- kinetics


def test_ion_hopping_rate_matches_the_mott_gurney_formula_by_hand():
    kinetics = IonHopping()
    T, E = 1000.0, 5.0e7
    kT = 1.380649e-23 * T / 1.602176634e-19  # eV
    expected = 2.0e13 * math.exp(-1.35 / kT) * 2 * math.sinh(2 * 0.25e-9 * E / (2 * kT))
    assert kinetics.rate(T, E) == pytest.approx(expected, rel=1e-12)
    assert kinetics.rate(T, -E) == pytest.approx(expected, rel=1e-12)  # |E|


def test_arrhenius_rate_ignores_the_field():
    kinetics = Arrhenius(law="arrhenius")
    rates = kinetics.rate(np.array([800.0, 800.0]), np.array([0.0, 1e9]))
    assert rates[0] == rates[1] == pytest.approx(2e13 * math.exp(-1.35 * ELEMENTARY_CHARGE / (BOLTZMANN * 800)))


def test_jart_law_tends_to_ion_hopping_at_weak_field_and_loses_its_barrier_at_gamma_one():
    jart, hopping = Jart(law="jart"), IonHopping()
    T, weak = 900.0, 1.0e6  # gamma = z a E / (pi Ea) ~ 1e-4
    ratio = jart.rate(T, weak) / hopping.rate(T, weak)
    assert ratio == pytest.approx(1.0, abs=1e-6)
    gamma_one = math.pi * 1.35 / (2 * 0.25e-9)
    kT = BOLTZMANN * T / ELEMENTARY_CHARGE
    expected = 2e13 * (1.0 - math.exp(-1.35 * math.pi / kT))
    assert jart.rate(T, gamma_one) == pytest.approx(expected, rel=1e-12)
    assert jart.rate(T, 10 * gamma_one) == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------- the fit


def test_fit_recovers_known_thermal_resistance_and_peltier_term_within_0p1_percent(fitted):
    _, model = fitted
    fit = model.document.fit
    # T0 is the config's boundary temperature (both electrodes at 300 K), pinned.
    assert (fit.T0.value, fit.T0.error, fit.T0_source) == (300.0, 0.0, "ambient")
    for branch, R_th, beta in ((fit.branches.positive, DEVICE.R_th_positive, DEVICE.beta_positive),
                               (fit.branches.negative, DEVICE.R_th_negative, DEVICE.beta_negative)):
        assert branch.R_th.value == pytest.approx(R_th, rel=1e-3)
        assert branch.beta.value == pytest.approx(beta, rel=1e-3)
        assert branch.R_th.error < 1e-3 * R_th
        # A constant R_th comes back as one: no rise over the swept power.
        rise = branch.delta_R_th.value * (1 - math.exp(-max(model.table.power) / branch.power_scale.value))
        assert abs(rise) < 1e-3 * R_th


# Exactly the compact law (conduction at the probe temperature, field proportional to |V|),
# with a thermal resistance that rises with power and a thermoelectric EMF, as the FEM cell has.
EXACT = LumpedDevice(R_th_positive=2.3e6, R_th_negative=1.8e6, beta_positive=-2.2e5, beta_negative=-4.7e5,
                     delta_R_th_positive=3.0e6, delta_R_th_negative=2.5e6, power_scale_positive=9.0e-5,
                     power_scale_negative=4.5e-5, G0=7.5e-5, activation_sigma=0.016, seebeck=1.5e-4,
                     field_per_volt=1.6e8, conduction_heating=1.0, field_heating=0.0)


def test_fit_recovers_every_parameter_of_a_device_that_is_exactly_the_law(tmp_path, config):
    write_synthetic_sweep(tmp_path, config, VOLTAGES, EXACT)
    model = fit_results(tmp_path, say=lambda text: None).models[0]
    fit = model.document.fit
    for branch, known in ((fit.branches.positive, ("positive",)), (fit.branches.negative, ("negative",))):
        polarity = known[0]
        for name, attribute in (("R_th", "R_th"), ("delta_R_th", "delta_R_th"), ("power_scale", "power_scale"),
                                ("beta", "beta")):
            assert getattr(branch, name).value == pytest.approx(getattr(EXACT, f"{attribute}_{polarity}"),
                                                               rel=1e-3), (polarity, name)
    current = fit.current
    assert current.scale.value == pytest.approx(EXACT.G0, rel=1e-3)
    assert current.activation_energy.value == pytest.approx(EXACT.activation_sigma, rel=1e-3)
    assert current.conduction_exponent.value == pytest.approx(1.0, rel=1e-3)
    assert current.seebeck.value == pytest.approx(EXACT.seebeck, rel=1e-3)
    assert fit.field.scale.value == pytest.approx(EXACT.field_per_volt, rel=1e-3)
    residuals = fit.residuals
    assert residuals.max_abs_dT < 1e-3 and residuals.max_abs_dT_thermal_law < 1e-3
    assert residuals.max_relative_current < 1e-6 and residuals.max_abs_dlog10_rate < 1e-5


def test_fitted_current_rises_monotonically_and_smoothly_through_zero(fitted):
    _, model = fitted
    v = np.linspace(-3.0, 3.0, 6001)  # twice the swept range
    current = model.current(v)
    assert np.all(np.diff(current) > 0)
    assert model.current(0.0) == 0.0
    # No kink at 0 V: the current law is one law for both polarities.
    h = 1e-4
    slope_left = (model.current(0.0) - model.current(-h)) / h
    slope_right = (model.current(h) - model.current(0.0)) / h
    assert slope_right == pytest.approx(slope_left, rel=1e-3)


def test_boundaries_at_different_temperatures_make_the_fit_find_t0(tmp_path, config):
    """The zero-bias probe temperature is then not one ambient: T0 is fitted (the device's is 300 K)."""
    thermal = config.thermal.model_copy(update={"bottom": FixedTemperature(temperature=320.0)})
    write_synthetic_sweep(tmp_path, config.model_copy(update={"thermal": thermal}), VOLTAGES, DEVICE)
    fit = fit_results(tmp_path, say=lambda text: None).models[0].document.fit
    assert fit.T0_source == "fitted"
    assert fit.T0.value == pytest.approx(DEVICE.T0, abs=0.05)
    assert fit.branches.positive.R_th.value == pytest.approx(DEVICE.R_th_positive, rel=1e-3)


def test_noisy_table_gives_fit_errors_that_cover_the_truth(tmp_path, config):
    """1 K of measurement noise on T: the estimate lands within 4 sigma of the truth."""
    write_synthetic_sweep(tmp_path, config, VOLTAGES, DEVICE)
    with h5py.File(tmp_path / "sweep.h5", "r+") as h5:
        T = h5["probes/active/T_mean"][...]
        h5["probes/active/T_mean"][...] = T + np.random.default_rng(1).normal(0, 1.0, T.shape)
        del h5.attrs["checksum"]  # a deliberate edit (the checksum catches accidental damage)
    fit = fit_results(tmp_path, say=lambda text: None).models[0].document.fit
    for branch, R_th in ((fit.branches.positive, DEVICE.R_th_positive),
                         (fit.branches.negative, DEVICE.R_th_negative)):
        assert branch.R_th.error > 0
        assert abs(branch.R_th.value - R_th) < 4 * branch.R_th.error


def test_compact_model_reproduces_the_fem_points_within_the_reported_residuals(fitted):
    root, _ = fitted
    model = CompactModel.load(root / "model" / "compact_model.json")
    table, residuals = model.table, model.document.fit.residuals
    voltage = np.array(table.voltage)
    dT = np.abs(model.temperature(voltage) - np.array(table.T_probe))
    assert dT.max() <= residuals.max_abs_dT * (1 + 1e-9)
    # The synthetic device's conduction path heats 1.1 x the probe: not the activated law (which
    # misses it by kelvins) but inside the field-activated one, which is kept and recovers it.
    assert model.current_law.law == "field_activated"
    assert model.current_law.positive.path_heating.value == pytest.approx(DEVICE.conduction_heating, rel=1e-3)
    assert residuals.max_abs_dT < 1e-2
    rate = np.array(table.rate)
    shown = rate > 0
    dlog = np.abs(np.log10(model.rate(voltage[shown])) - np.log10(rate[shown]))
    assert dlog.max() <= residuals.max_abs_dlog10_rate * (1 + 1e-9)
    assert residuals.max_abs_dT_thermal_law < 1e-6  # the thermal law itself is exact here


def test_interpolated_view_passes_through_the_fem_table(fitted):
    _, model = fitted
    table = model.table
    voltage = np.array(table.voltage)
    assert np.allclose(model.interpolated_temperature(voltage), table.T_probe, rtol=1e-12)
    positive = np.array(table.delta_per_pulse) > 0
    assert np.allclose(model.interpolated_delta_per_pulse(voltage[positive]),
                       np.array(table.delta_per_pulse)[positive], rtol=1e-9)
    assert model.interpolated_delta_per_pulse(0.0) == 0.0


def test_figures_of_merit_follow_their_definitions(fitted):
    _, model = fitted
    merit = model.document.figures_of_merit
    for polarity, sign in (("positive", 1), ("negative", -1)):
        v_write = getattr(merit.V_write, polarity)
        assert np.sign(v_write) == sign
        assert model.interpolated_delta_per_pulse(v_write) == pytest.approx(1.0, rel=1e-9)
        assert model.interpolated_delta_per_pulse(0.99 * v_write) < 1.0
        half = model.interpolated_rate(v_write) / model.interpolated_rate(v_write / 2)
        assert getattr(merit.nonlinearity_half_select, polarity) == pytest.approx(half, rel=1e-12)
        assert getattr(merit.nonlinearity_third_select, polarity) > half > 1e6
    asym = merit.T_asymmetry
    assert asym.delta_T == pytest.approx(asym.T_positive - asym.T_negative)
    assert asym.T_negative == pytest.approx(model.interpolated_temperature(-asym.voltage))


def test_failed_points_are_left_out_and_listed(fitted):
    _, model = fitted
    excluded = model.document.source.excluded_points
    assert [(p.point_id, p.status) for p in excluded] == [("p0003", "no_convergence"),
                                                          ("p0060", "runaway")]
    assert len(model.table.voltage) == 59
    assert "p0003" not in model.table.point_id


def test_fit_writes_every_export_and_refuses_to_overwrite_without_force(fitted):
    root, _ = fitted
    names = {p.name for p in (root / "model").iterdir()}
    assert {"compact_model.json", "compact_model.csv", "compact_model.va", "aihwkit_device.py",
            "compact_model.png"} <= names
    with pytest.raises(InputError, match="use --force"):
        fit_results(root, say=lambda text: None)


def test_output_option_redirects_and_set_changes_the_kinetics(fitted, tmp_path):
    root, model = fitted
    result = run_cli("fit", str(root), "--output", str(tmp_path / "out"), "--quiet",
                     "--set", "kinetics.activation_energy=1.2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    other = CompactModel.load(tmp_path / "out" / "model" / "compact_model.json")
    assert other.kinetics.activation_energy == 1.2
    assert other.document.source.overrides == ["kinetics.activation_energy=1.2"]
    # A lower barrier switches at a lower voltage.
    assert other.document.figures_of_merit.V_write.positive < model.document.figures_of_merit.V_write.positive


# ---------------------------------------------------------------- bad input


def _one_line_exit_2(result) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    return lines[0]


def test_a_branch_with_fewer_than_four_converged_points_is_left_out_and_named(tmp_path, config):
    """Fit what the data has (issue 16 item 7): the positive branch is fitted, the 3 negative
    points are listed as left out and the missing branch is named."""
    failures = {i: "no_convergence" for i in range(27)}  # leaves 3 negative points
    write_synthetic_sweep(tmp_path, config, VOLTAGES, DEVICE, failures=failures)
    result = run_cli("fit", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "no negative branch" in result.stdout
    model = CompactModel.load(tmp_path / "model" / "compact_model.json")
    assert model.branches.negative is None and model.branches.positive is not None
    too_few = [p for p in model.document.source.excluded_points if "too few" in p.reason]
    assert len(too_few) == 3


def test_missing_kinetics_block_is_bad_input(tmp_path, config):
    write_synthetic_sweep(tmp_path, config, VOLTAGES, DEVICE)
    with h5py.File(tmp_path / "sweep.h5", "r+") as h5:
        data = yaml.safe_load(h5.attrs["config"])
        del data["kinetics"]
        h5.attrs["config"] = yaml.safe_dump(data)
    assert "no kinetics block" in _one_line_exit_2(run_cli("fit", str(tmp_path)))


def test_sweep_store_of_another_version_is_bad_input(tmp_path, config):
    write_synthetic_sweep(tmp_path, config, VOLTAGES, DEVICE)
    with h5py.File(tmp_path / "sweep.h5", "r+") as h5:
        h5.attrs["version"] = 2
    assert "version 2" in _one_line_exit_2(run_cli("fit", str(tmp_path)))


def test_missing_results_directory_and_setting_fem_keys_are_bad_input(tmp_path, fitted):
    root, _ = fitted
    assert "no such results directory" in _one_line_exit_2(run_cli("fit", str(tmp_path / "nope")))
    line = _one_line_exit_2(run_cli("fit", str(root), "--force", "--output", str(tmp_path),
                                    "--set", "geometry.radius=50"))
    assert "re-run the sweep" in line


def test_each_set_of_swept_parameters_gets_its_own_model(tmp_path, config):
    key = "geometry.layers[1].filament.radius"
    swept = config.model_copy(update={"sweep": config.sweep.model_copy(update={"parameters": {key: (3.0, 5.0)}})})
    narrow = LumpedDevice(R_th_positive=2.0e7, R_th_negative=1.9e7, G0=3.0e-6)
    write_synthetic_sweep(tmp_path, swept, VOLTAGES,
                          parameter_sets=[({key: 3.0}, narrow), ({key: 5.0}, DEVICE)])
    outcome = fit_results(tmp_path, say=lambda text: None)
    primary, variant = outcome.models
    assert primary.document.source.parameters == {key: 5.0}  # the config's own radius
    assert primary.branches.positive.R_th.value == pytest.approx(DEVICE.R_th_positive, rel=1e-3)
    variant_dir = tmp_path / "variants" / "radius=3"  # named by its parameter (issue 16 item 2)
    stored = CompactModel.load(variant_dir / "model" / "compact_model.json")
    assert stored.document.source.parameters == {key: 3.0}
    assert stored.document.source.config["geometry"]["layers"][1]["filament"]["radius"] == 3.0  # its own config
    assert primary.document.source.config["geometry"]["layers"][1]["filament"]["radius"] == 5.0
    for name in ("compact_model.va", "aihwkit_device.py", "compact_model.png"):
        assert (variant_dir / "model" / name).stat().st_size > 0, name
    family = json.loads((tmp_path / "model" / "family.json").read_text())
    assert [v["name"] for v in family["variants"]] == ["radius=5", "radius=3"] and family["primary"] == "radius=5"
    assert stored.branches.negative.R_th.value == pytest.approx(narrow.R_th_negative, rel=1e-3)
    assert variant.document.to_data() == stored.document.to_data()
    csv_text = (tmp_path / "model" / "compact_model.csv").read_text()
    assert csv_text.startswith(f"parameters/{key} [nm],point_id [-],voltage [V]")
    assert len(csv_text.strip().splitlines()) == 1 + 2 * len(VOLTAGES)


def test_a_pipeline_config_supplies_the_post_fem_sections_but_not_the_fem_problem(fitted, tmp_path, config):
    root, _ = fitted
    current = config.model_copy(update={
        "kinetics": config.kinetics.model_copy(update={"activation_energy": 1.3}),
        "training": config.training.model_copy(update={"epochs": 2})})
    model = fit_results(root, tmp_path, say=lambda text: None, config=current).models[0]
    assert model.kinetics.activation_energy == 1.3
    assert model.document.source.config["training"]["epochs"] == 2
    other = config.model_copy(update={"geometry": config.geometry.model_copy(update={"radius": 80.0})})
    with pytest.raises(InputError, match="different 'geometry'"):
        fit_results(root, tmp_path / "other", say=lambda text: None, config=other)
