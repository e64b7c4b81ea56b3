"""crosstalk.json and crosstalk.png of `filatherm crosstalk` (docs/outputs.md).

crosstalk.json ("format": "filatherm-crosstalk", "version": 1): the tile, the scheme and pulse,
then per pitch: every case's per-cell maps ((rows, cols) lists, row 0 first), the coupling fit,
the headline half-selected cell and the disturbance with and without neighbour heating.
`units` gives the unit of every key. (cases.json, the solved cases alone, is written by the
command before these: solver.crosstalk.study.)
"""

from __future__ import annotations

from pathlib import Path

from solver.compact.family import file_digest
from solver.config import config_data
from solver.crossbar.array import SCHEMES
from solver.crosstalk.disturbance import disturbance_with_heating
from solver.crosstalk.study import CrosstalkResult, case_summary, half_selected_cell, neighbour_heating
from solver.io import write_json_atomic

FORMAT = "filatherm-crosstalk"
VERSION = 1
UNITS = {
    "pitch": "config length unit (units)", "voltage": "V", "amplitude": "V", "T_max": "K", "T_probe": "K",
    "T_probe_max": "K", "E_probe": "V/m", "power": "W", "rate": "Hz", "line_currents": "A",
    "neighbour_heating": "K", "neighbour_heating_model": "K", "rate_increase": "1", "rate_increase_tile": "1",
    "wall_time_s": "s",
    "newton_iterations": "1", "dofs": "1", "cells": "1",
    "coupling": {"a1": "K/W", "a2": "K/W^2", "K": "K/W", "T0": "K", "rms_residual": "K", "max_residual": "K",
                 "points": "1"},
    "disturbance": {"pulses": "1", "device_voltage": "V", "neighbour_heating_max": "K", "gain_max": "1",
                    "gain_mean": "1", "max_half_selected_without": "1 (of the weight range)",
                    "max_half_selected_with": "1 (of the weight range)",
                    "mean_half_selected_without": "1 (of the weight range)",
                    "mean_half_selected_with": "1 (of the weight range)"},
}


def headline(pitch_result, model) -> dict:
    """The half-selected cell next to the selected ones, per case: its voltage, neighbour
    heating and rate increase."""
    out = {}
    for case in pitch_result.cases:
        cell = half_selected_cell(case.case)
        if not case.converged or pitch_result.coupling is None or cell is None:
            continue
        summary = case_summary(case, pitch_result.coupling, model)
        i, j = cell
        out[case.case.name] = {"cell": [i, j], "voltage": summary["voltage"][i][j],
                               "T_probe": summary["T_probe"][i][j],
                               "neighbour_heating": float(neighbour_heating(case, pitch_result.coupling)[i, j]),
                               "rate_increase": summary["rate_increase"][i][j],
                               "rate_increase_tile": summary["rate_increase_tile"][i][j]}
    return out


def document(result: CrosstalkResult, model_path: Path) -> dict:
    config, model = result.config, result.model
    settings = config.crosstalk
    pitches = []
    for pitch_result in result.pitches:
        entry = {"pitch": pitch_result.pitch, "cells": pitch_result.cells,
                 "cases": {c.case.name: case_summary(c, pitch_result.coupling, model) for c in pitch_result.cases}}
        if pitch_result.coupling is not None:
            entry["coupling"] = pitch_result.coupling.as_dict()
            entry["half_selected"] = headline(pitch_result, model)
            entry["disturbance"] = disturbance_with_heating(model, config.crossbar, pitch_result.coupling,
                                                            settings.polarity)
        pitches.append(entry)
    tile = config.geometry.tile
    return {
        "format": FORMAT, "version": VERSION,
        "source": {"compact_model": str(model_path), "model_digest": file_digest(model_path), "config_name": config.name},
        "scheme": config.crossbar.scheme, "half_select_fraction": SCHEMES[config.crossbar.scheme],
        "polarity": settings.polarity, "voltage": result.voltage,
        "probe": model.kinetics.probe, "statistic": model.kinetics.statistic,
        "tile": {"rows": tile.rows, "cols": tile.cols, "line_width": tile.line_width,
                 "substrate": tile.substrate, "cap": tile.cap, "fill": tile.fill, "units": config.units},
        "config": config_data(config),
        "pitches": pitches,
        "units": UNITS,
    }


def write_outputs(result: CrosstalkResult, model_path: Path, out: Path) -> list[Path]:
    """crosstalk.json and crosstalk.png under `out` (call on one rank)."""
    from solver.crosstalk.plots import plot_crosstalk

    data = document(result, model_path)
    files = [write_json_atomic(out / "crosstalk.json", data)]
    files.append(plot_crosstalk(out / "crosstalk.png", data))
    return files
