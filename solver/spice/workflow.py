"""`spice-array` from a results directory: inputs, the runs, the files.

    run_spice_array("results/default")   # -> results/default/spice/
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Optional

from solver.crossbar.inputs import load_inputs
from solver.errors import InputError
from solver.io import write_json_atomic
from solver.spice.array import spice_array_update
from solver.spice.ir_drop import ir_drop_sweep
from solver.spice.plots import plot_ir_drop, plot_update


def run_spice_array(results: str | Path, output: Optional[str | Path] = None,
                    overrides: Iterable[str] = (), force: bool = False, sweep: bool = True,
                    say: Callable[[str], None] = print) -> list[Path]:
    """Write RESULTS_DIR/spice/: the ngspice update and (with `sweep`) the IR-drop sweep."""
    inputs = load_inputs(results, output, overrides)
    out = inputs.root / "spice"
    target = out / "spice_array.json"
    if target.exists() and not force:
        raise InputError(f"{target}: exists; use --force to overwrite it")
    crossbar = inputs.config.crossbar
    source = {"compact_model": str(inputs.model_path), "config_name": inputs.config.name}
    report = spice_array_update(inputs.model, crossbar, say, netlist_path=out / "array.cir")
    loss, deviation = report["ir_drop_loss"], report["numpy_vs_ngspice"]
    say(f"  IR-drop loss: mean {100 * loss['mean']:.2f} %, max {100 * loss['max']:.2f} % at cell "
        f"{loss['worst_cell']}; update error {100 * loss['update_error']:.2f} %")
    say(f"  half-select: {report['half_select']['cells']} cells, max |dw| = "
        f"{report['half_select']['max_abs_dw_per_dw_min']:.3g} dw_min")
    say(f"  numpy model vs ngspice: max deviation {100 * deviation['max_relative_deviation']:.2f} % "
        f"over {deviation['cells']} cells; wall time ngspice {report['wall_time_s']['ngspice']:.1f} s, "
        f"numpy {report['wall_time_s']['numpy']:.3f} s")
    files = [out / "array.cir", write_json_atomic(target, {**report, "source": source}),
             plot_update(out / "spice_array.png", report)]
    if sweep:
        data = ir_drop_sweep(inputs.model, crossbar, say)
        files += [write_json_atomic(out / "ir_drop.json", {"format": "filatherm-ir-drop", "version": 1,
                                                           "source": source, **data}),
                  plot_ir_drop(out / "ir_drop.png", data)]
    say(f"spice-array written to {out}")
    return files
