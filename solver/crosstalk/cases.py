"""Biasing cases of a tile: which line is at which fraction of the pulse amplitude.

A cell (i, j) sees V_row(i) - V_col(j). With V the full pulse and h the scheme's half-select
fraction (1/2 for v_half, 1/3 for v_third; solver.crossbar.array.SCHEMES), the selected row s
and column t being the middle ones:

    one_cell   row s at V, column t at 0; the other rows at h V, the other columns at (1 - h) V
               -> (s, t) at V, the rest of row s and column t at h V, every other cell at
                  (2h - 1) V (0 in v_half, -V/3 in v_third)
    row        row s at V, every column at 0, the other rows at h V
               -> row s at V (a fully parallel row update), every other cell at h V
    column     every row at V, column t at 0, the other columns at (1 - h) V
               -> column t at V, every other cell at h V
    all_half   every row at h V, every column at 0 -> every cell at h V

Each case is solved with one driven amplitude U (the driven line, a row at fraction 1) and the
other lines as fractions of it (solver.config.schema.FractionTerminal) or grounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Case:
    name: str
    amplitude: float  # V: the potential of the driven row [V]
    row_fractions: tuple[float, ...]  # potential of each row / amplitude
    col_fractions: tuple[float, ...]

    def cell_voltages(self) -> np.ndarray:
        """(rows, cols) nominal cell voltages V_row - V_col [V] (line drops not included)."""
        rows = np.array(self.row_fractions)[:, None]
        cols = np.array(self.col_fractions)[None, :]
        return self.amplitude * (rows - cols)

    @property
    def drive(self) -> str:
        """The driven line: the first row at the full amplitude."""
        return f"row{self.row_fractions.index(1.0)}"

    def electrical(self) -> dict:
        """The config's `electrical` section for this case (every line named)."""
        data: dict = {"drive": self.drive}
        lines = [(f"row{i}", f) for i, f in enumerate(self.row_fractions)]
        lines += [(f"col{j}", f) for j, f in enumerate(self.col_fractions)]
        for name, fraction in lines:
            if name == self.drive:
                data[name] = {"voltage": self.amplitude}
            elif fraction == 0.0:
                data[name] = {"voltage": 0.0}
            else:
                data[name] = {"fraction": fraction}
        return data


def make_case(name: str, rows: int, cols: int, voltage: float, half: float) -> Case:
    """The case `name` (see the module docstring) on a rows x cols tile at full pulse `voltage`
    with half-select fraction `half`."""
    s, t = rows // 2, cols // 2
    if name == "one_cell":
        row = tuple(1.0 if i == s else half for i in range(rows))
        col = tuple(0.0 if j == t else 1.0 - half for j in range(cols))
        return Case(name, voltage, row, col)
    if name == "row":
        return Case(name, voltage, tuple(1.0 if i == s else half for i in range(rows)), (0.0,) * cols)
    if name == "column":
        return Case(name, voltage, (1.0,) * rows, tuple(0.0 if j == t else 1.0 - half for j in range(cols)))
    if name == "all_half":
        return Case(name, half * voltage, (1.0,) * rows, (0.0,) * cols)
    raise ValueError(f"unknown crosstalk case {name!r}")
