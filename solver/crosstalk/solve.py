"""Solving the biasing cases of `filatherm crosstalk` on a tile (solver.crosstalk.study runs
them, keeps them in cases.json and derives everything else from them).

Each case (solver.crosstalk.cases) is solved from rest to its amplitude on the pitch's mesh,
the lines held at their fractions of the driven row. Per cell: the probe's temperature and
field (the compact model's kinetics probe and statistic) and the power in its pillar
(solver.crosstalk.cells); per line end its current. This module, with the FEM, geometry,
materials and config code, is what a cases.json fingerprint covers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from solver.compact.model import CompactModel
from solver.config import Config, with_overrides
from solver.crossbar.array import SCHEMES
from solver.crosstalk.cases import Case, make_case

Say = Callable[[str], None]


@dataclass
class CaseResult:
    case: Case
    status: str
    reason: str
    newton_iterations: int
    wall_time: float
    dofs: int
    T_max: float = float("nan")
    T_probe: Optional[np.ndarray] = None  # (rows, cols) [K], the kinetics statistic
    E_probe: Optional[np.ndarray] = None  # [V/m]
    T_probe_max: Optional[np.ndarray] = None  # [K], the hottest node of each probe
    power: Optional[np.ndarray] = None  # [W]
    line_currents: dict = field(default_factory=dict)  # [A], into each line end

    @property
    def converged(self) -> bool:
        return self.status == "ok"


def solve_pitches(config: Config, model: CompactModel, comm, voltage: float,
                  say: Say) -> list[tuple[float, int, list[CaseResult]]]:
    """(pitch, mesh cells, solved cases) for every pitch of crosstalk.pitches."""
    from solver.fem.mesh import build_mesh

    settings = config.crosstalk
    tile = config.geometry.tile
    half = SCHEMES[config.crossbar.scheme]
    out = []
    for pitch in settings.pitches:
        pitched = with_overrides(config, {"geometry.tile.pitch": pitch})
        started = time.perf_counter()
        cell_mesh = build_mesh(pitched, comm)
        say(f"crosstalk: pitch {pitch:g} {config.units}: {cell_mesh.num_cells_global()} cells "
            f"(meshed in {time.perf_counter() - started:.1f} s)")
        cases = []
        for name in settings.cases:
            case = make_case(name, tile.rows, tile.cols, voltage, half)
            cases.append(solve_case(pitched, cell_mesh, case, model, comm, say))
        out.append((pitch, cell_mesh.num_cells_global(), cases))
    return out


def solve_case(config: Config, cell_mesh, case: Case, model: CompactModel, comm, say: Say) -> CaseResult:
    """One case on a meshed tile, from rest to its amplitude: the per-cell probe maps of the
    compact model's kinetics probe and statistic, the pillar powers and the line currents."""
    from solver.crosstalk.cells import CellPower
    from solver.fem.study import SteadyStudy
    from solver.geometry.tile import cell_name

    case_config = with_overrides(config, {"electrical": case.electrical()})
    probe = model.kinetics.probe
    stat = model.kinetics.statistic
    tile = config.geometry.tile
    with SteadyStudy(case_config, comm, cell_mesh) as study:
        record = study.solve(case.amplitude)
        result = CaseResult(case, record["status"], record["reason"], record["total_newton_iterations"],
                            record["wall_time_s"], study.dofs)
        if result.converged:
            probes = record["probes"]

            def grid(key: str) -> np.ndarray:
                return np.array([[probes[cell_name(probe, i, j)][key] for j in range(tile.cols)]
                                 for i in range(tile.rows)])

            result.T_max = record["T_max"]
            result.T_probe, result.E_probe = grid(f"T_{stat}"), grid(f"E_{stat}")
            result.T_probe_max = grid("T_max")
            powers = CellPower(study.problem).evaluate()
            result.power = np.array([[powers[(i, j)] for j in range(tile.cols)] for i in range(tile.rows)])
            result.line_currents = study.problem.terminal_currents()
    say(f"  {case.name}: {result.status}, {result.newton_iterations} Newton iterations, "
        f"{result.wall_time:.1f} s" + (f", T_max {result.T_max:.0f} K" if result.converged else f" ({result.reason})"))
    return result
