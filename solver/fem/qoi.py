"""Quantities of interest of a solved state: the QoI record (qoi.json; docs/outputs.md).

Which quantities a record holds, with their units and meaning, is the table in
solver.quantities; this module evaluates them on a solved problem. Totals carry the
coordinate system's revolution factor. The current is the reaction of the charge equation at
the driven terminal (more accurate than a boundary flux); the heat out and the current through
the grounds are boundary fluxes of the discrete fields (solver.fem.balances), so
`energy_balance` and `current_balance` measure conservation, converging with the mesh.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Optional

import numpy as np
import ufl
from mpi4py import MPI

import dolfinx.fem
from solver import quantities
from solver.fem import balances, compat
from solver.fem.forms import field_magnitude
from solver.fem.problem import ElectroThermalProblem


class ProbeQuantities:
    """Volume means and maxima of T and |E| over each probe's cells."""

    def __init__(self, problem: ElectroThermalProblem):
        self.problem = problem
        cell_mesh = problem.cell_mesh
        mesh = cell_mesh.mesh
        weight = problem.weight
        E = field_magnitude(problem.phi)
        self.E_cells = dolfinx.fem.Function(compat.dg0_space(mesh))
        self.E_expression = E
        self.cell_T_dofs = compat.cell_dofs(problem.V_T)
        self.forms = {}
        self.cells = {}
        num_owned = mesh.topology.index_map(mesh.topology.dim).size_local
        for name, cells in cell_mesh.probe_cells.items():
            tags = compat.meshtags(mesh, mesh.topology.dim, cells, np.ones(len(cells), dtype=np.int32))
            dx = ufl.Measure("dx", domain=mesh, subdomain_data=tags,
                             metadata={"quadrature_degree": 2 * problem.config.solver.degree + 1})
            self.forms[name] = {
                "volume": compat.create_form(weight * dx(1)),
                "T": compat.create_form(problem.T * weight * dx(1)),
                "E": compat.create_form(E * weight * dx(1)),
            }
            self.cells[name] = cells[cells < num_owned]

    def evaluate(self) -> dict:
        problem = self.problem
        comm = problem.comm
        if self.forms:
            compat.interpolate_expression(self.E_cells, self.E_expression)
        out = {}
        values = problem.u.x.array
        for name, forms in self.forms.items():
            volume = compat.assemble_scalar(forms["volume"], comm)
            cells = self.cells[name]
            T_local = values[problem.T_map[self.cell_T_dofs[cells]]].max(initial=-np.inf)
            E_local = self.E_cells.x.array[cells].max(initial=-np.inf)
            out[name] = {
                "T_mean": compat.assemble_scalar(forms["T"], comm) / volume,
                "T_max": comm.allreduce(float(T_local), op=MPI.MAX),
                "E_mean": compat.assemble_scalar(forms["E"], comm) / volume,
                "E_max": comm.allreduce(float(E_local), op=MPI.MAX),
            }
        return out


def hottest_point(problem: ElectroThermalProblem) -> tuple[float, tuple[float, ...]]:
    """(T_max, its coordinates along the coordinate system's axes) over the T dofs of all ranks."""
    gdim = problem.coordinates.gdim
    owned = problem.T_map < problem.W.dofmap.index_map.size_local
    T = problem.u.x.array[problem.T_map]
    local = (-np.inf,) + (0.0,) * gdim
    if np.any(owned):
        i = int(np.argmax(np.where(owned, T, -np.inf)))
        x = problem.V_T.tabulate_dof_coordinates()[i]
        local = (float(T[i]),) + tuple(float(c) for c in x[:gdim])
    best = max(problem.comm.allgather(local))
    return best[0], best[1:]


class SolvedState:
    """What the quantities of solver.quantities are computed from: a problem after a solve at
    `drive`, with each derived number assembled once, on first use."""

    def __init__(self, problem: ElectroThermalProblem, drive: float, converged: bool):
        self.problem = problem
        self.drive = drive
        self.converged = converged
        self.current_mode = problem.current_mode

    @property
    def voltage_device(self) -> float:
        return float(self.problem.U.value)

    @property
    def voltage_applied(self) -> float:
        return self.voltage_device if self.current_mode else self.drive

    @cached_property
    def current(self) -> float:
        return self.problem.current()

    @cached_property
    def power(self) -> float:
        return self.problem.electrical_power(self.current)

    @cached_property
    def heat_out(self) -> float:
        return sum(balances.heat_out_by_boundary(self.problem).values())

    @cached_property
    def ground_current(self) -> float:
        return balances.bottom_current_flux(self.problem)

    @cached_property
    def matrix_share(self) -> float:
        shares = balances.matrix_current_share(self.problem)
        return max(shares.values()) if shares else math.nan

    @cached_property
    def hottest(self) -> tuple[float, tuple[float, ...]]:
        return hottest_point(self.problem)


def qoi_record(problem: ElectroThermalProblem, probes: ProbeQuantities, drive: float,
               status: str, newton_iterations: int, wall_time: float, reason: str = "",
               last_converged: Optional[float] = None) -> dict:
    """The QoI record of a solve at `drive` (qoi.json, one sweep row): every quantity of
    solver.quantities, NaN unless it converged."""
    converged = status == "ok"
    state = SolvedState(problem, drive, converged)
    record = {q.name: q.value(state) for q in quantities.steady_quantities(problem.coordinates.axes)}
    raw = probes.evaluate() if converged else {}
    record["probes"] = {name: {q.name: q.compute(raw[name]) if converged else math.nan for q in quantities.PROBE}
                        for name in problem.cell_mesh.probe_cells}
    record.update({
        "converged": converged,
        "status": status,
        "reason": reason,
        "newton_iterations": int(newton_iterations),
        "dofs": problem.dofs,
        "wall_time_s": wall_time,
    })
    if problem.current_mode:
        record["current_target"] = drive
    if last_converged is not None and not converged:
        record["last_converged_drive"] = last_converged
    return record
