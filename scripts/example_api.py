"""The Python API in one script (docs/api.md): solve, sweep, fit, pulses, crossbar, train.

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
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(Path(sys.argv[1])))
    with tempfile.TemporaryDirectory(prefix="filatherm-example-") as tmp:
        sys.exit(main(Path(tmp)))
