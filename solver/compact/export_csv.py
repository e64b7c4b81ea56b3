"""compact_model.csv: the rate tables of every parameter set, with the fitted law beside them.

One row per FEM point: the swept parameters (`parameters/<key path>` columns, if any),
point_id, voltage (device), voltage_applied [V], current [A], power [W], T_probe [K],
E_probe [V/m], rate [Hz], delta_per_pulse, then the compact law at the same voltage:
T_law [K], current_law [A], rate_law [Hz]. Every header cell is `name [unit]`.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from solver.compact.model import CompactModel
from solver.io import write_text_atomic

TABLE_COLUMNS = ("voltage", "voltage_applied", "current", "power", "T_probe", "E_probe", "rate",
                 "delta_per_pulse")
UNITS = {"point_id": "-", "voltage": "V", "voltage_applied": "V", "current": "A", "power": "W", "T_probe": "K",
         "E_probe": "V/m", "rate": "Hz", "delta_per_pulse": "1", "T_law": "K", "current_law": "A", "rate_law": "Hz"}


def write_csv(path: str | Path, models: list[CompactModel]) -> Path:
    """Write the tables of `models` (each with its document) into one CSV, atomically."""
    parameter_names: list[str] = []
    for model in models:
        parameter_names += [k for k in model.document.source.parameters if k not in parameter_names]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    from solver.quantities import config_units, parameter_unit

    units = config_units(models[0].document.source.config) if models else {}
    writer.writerow([f"parameters/{k} [{parameter_unit(k, **units)}]" for k in parameter_names]
                    + [f"{name} [{UNITS[name]}]" for name in ("point_id", *TABLE_COLUMNS, "T_law", "current_law",
                                                              "rate_law")])
    for model in models:
        parameters = model.document.source.parameters
        table = model.table
        voltage = np.array(table.voltage)
        law = (model.temperature(voltage), model.current(voltage), model.rate(voltage))
        for i, point in enumerate(table.point_id):
            row = [parameters.get(k, "") for k in parameter_names] + [point]
            row += [repr(float(getattr(table, c)[i])) for c in TABLE_COLUMNS]
            row += [repr(float(values[i])) for values in law]
            writer.writerow(row)
    return write_text_atomic(path, buffer.getvalue())
