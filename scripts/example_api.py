"""The Python API in one script (docs/api.md): solve, sweep, fit, pulses, crossbar, train,
calibrate, sensitivity.

    .venv/bin/python scripts/example_api.py [OUTPUT_DIR]

Uses the default device on a coarse mesh (seconds per solve), three of its states and small
crossbar/training settings, so that it runs in about two minutes; drop the overrides for the
real thing.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import filatherm  # noqa: E402
import yaml  # noqa: E402

COARSE = {"mesh.size": 5.0, "mesh.filament_size": 0.5, "mesh.refine_distance": 20.0,
          "sweep.voltage": {"start": -1.5, "stop": 1.5, "num": 13},
          "sweep.parameters": {"state.value": [7.0e24, 1.64e25, 3.77e25]},
          "crossbar.rows": 16, "crossbar.cols": 16, "crossbar.disturb_pulses": 1000,
          "pulses.max_pulses": 100, "training.epochs": 1, "training.seeds": 1}


def main(output: Path) -> int:
    filatherm.configure()
    config = filatherm.load_config(ROOT / "configs" / "default.yaml", COARSE)

    # Three operating points: quantities carry their units.
    for voltage in (0.5, 1.0, -1.0):
        result = filatherm.solve(config, voltage=voltage)
        print(f"{voltage:+.1f} V: I = {result['current']}, T_max = {result['T_max']}, "
              f"probe T_mean = {result.probes['active']['T_mean']}")
    print(f"fields: {len(result.fields.T)} nodes along {result.fields.axes}, "
          f"T from {result.fields.T.min():.1f} to {result.fields.T.max():.1f} K")

    # A (voltage x state) sweep (resumable store), the compact model with its state, its pulse
    # response, and what a crossbar does with the device derived from it.
    table = filatherm.sweep(config, output / "coarse")
    print(f"sweep: {len(table)} points, {int((table['status'] == 'ok').sum())} converged; "
          f"current in {table.units['current']}")
    fitted = filatherm.fit(output / "coarse")
    merit = fitted.model.document.figures_of_merit
    print(f"V_write = {merit.V_write.positive:+.3f} / {merit.V_write.negative:+.3f} V, "
          f"rate(V)/rate(V/2) = {merit.nonlinearity_half_select.positive:.3g}")
    response = filatherm.pulses(output / "coarse")
    print(f"pulses: {response.states_up} / {response.states_down} distinguishable states up / down, "
          f"window {response.window['G_min'] * 1e6:.3g} to {response.window['G_max'] * 1e6:.3g} uS")
    arrays = filatherm.crossbar(output / "coarse")
    print(f"disturbance after 1000 half-selects (fitted, +V): {arrays.disturbance_max['fitted']['positive']:.3g} "
          "of the weight range")
    nets = filatherm.train(output / "coarse")
    for device, (mean, std) in nets.final_accuracy.items():
        print(f"training, {device}: {100 * mean:.1f} % test accuracy")

    # Calibration: the probe layer's thermal conductivity, started 30 % low, fitted to the probe
    # temperatures the sweep found at +-1 V in each state (so it must come back to the config's).
    probe = config.kinetics.probe
    material = next(layer.material for layer in config.geometry.layers if layer.name == config.probes[probe].layer)
    kappa = f"materials.{material}.thermal_conductivity.value"
    truth = config.materials[material].thermal_conductivity.value
    rows = [{"state": float(N), "voltage": float(v), "temperature": float(T), "uncertainty": 5.0}
            for N, v, T in zip(table["parameters/state.value"], table["voltage_applied"],
                               table[f"probes/{probe}/T_mean"]) if abs(abs(v) - 1.0) < 1e-9]
    (output / "measured.yaml").write_text(yaml.safe_dump({"temperature": rows}))
    fit_kappa = filatherm.load_config(ROOT / "configs" / "default.yaml", {
        **COARSE, "calibration.parameters": [{"path": kappa, "bounds": [truth / 5, truth * 5], "initial": 0.7 * truth}]})
    calibrated = filatherm.calibrate(fit_kappa, output / "measured.yaml", output / "calibration")
    found = calibrated.parameters[kappa]
    print(f"calibration: {kappa} = {found.value} +- {found.std_error} (config: {truth:g}), "
          f"{calibrated.fem_points_solved} FEM points")

    # Which of two numbers moves the headline figures more (no data needed)?
    ranked = filatherm.sensitivity(config, output / "sensitivity", parameters=[kappa, "geometry.radius"], points=5)
    print("sensitivity: " + ", ".join(f"{p}: d ln V_write+ / d ln p = {ranked.sensitivities[p]['V_write_positive']:+.3g}"
                                      for p in ranked.ranking))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(Path(sys.argv[1])))
    with tempfile.TemporaryDirectory(prefix="filatherm-example-") as tmp:
        sys.exit(main(Path(tmp)))
