"""Quantities of interest of a solved state: the QoI record of DESIGN.md §4.

Totals carry the 2 pi of the revolution. The current is the reaction of the charge equation at
the top electrode (more accurate than a boundary flux); the heat out is the reaction of the
energy equation where T is fixed plus the convective flux, so `energy_balance` measures how
well the discrete system is solved, not quadrature luck.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import ufl
from mpi4py import MPI

import dolfinx.fem
from solver.fem import compat
from solver.fem.forms import field_magnitude
from solver.fem.problem import ElectroThermalProblem


class ProbeQuantities:
    """Volume means (weighted by r) and maxima of T and |E| over each probe's cells."""

    def __init__(self, problem: ElectroThermalProblem):
        self.problem = problem
        cell_mesh = problem.cell_mesh
        mesh = cell_mesh.mesh
        r = problem.r
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
                "volume": compat.create_form(r * dx(1)),
                "T": compat.create_form(problem.T * r * dx(1)),
                "E": compat.create_form(E * r * dx(1)),
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


def hottest_point(problem: ElectroThermalProblem) -> tuple[float, float, float]:
    """(T_max, r, z) over the T dofs of all ranks."""
    owned = problem.T_map < problem.W.dofmap.index_map.size_local
    T = problem.u.x.array[problem.T_map]
    local = (-np.inf, 0.0, 0.0)
    if np.any(owned):
        i = int(np.argmax(np.where(owned, T, -np.inf)))
        x = problem.V_T.tabulate_dof_coordinates()[i]
        local = (float(T[i]), float(x[0]), float(x[1]))
    return max(problem.comm.allgather(local))


def qoi_record(problem: ElectroThermalProblem, probes: ProbeQuantities, drive: float,
               status: str, newton_iterations: int, wall_time: float, reason: str = "",
               last_converged: Optional[float] = None) -> dict:
    """The QoI record of a solve at `drive`; physical values are NaN unless it converged."""
    converged = status == "ok"
    record = {
        "voltage_applied": drive if not problem.current_mode else math.nan,
        "voltage_device": math.nan, "current": math.nan, "resistance": math.nan,
        "power": math.nan, "T_max": math.nan, "T_max_r": math.nan, "T_max_z": math.nan,
        "heat_out": math.nan, "energy_balance": math.nan,
        "probes": {name: {k: math.nan for k in ("T_mean", "T_max", "E_mean", "E_max")}
                   for name in problem.cell_mesh.probe_cells},
    }
    if converged:
        U = float(problem.U.value)
        current = problem.current()
        power = U * current
        heat = problem.heat_out()
        T_max, r, z = hottest_point(problem)
        record.update({
            "voltage_applied": U if problem.current_mode else drive,
            "voltage_device": U,
            "current": current,
            "resistance": U / current if current != 0 else math.nan,
            "power": power,
            "T_max": T_max, "T_max_r": r, "T_max_z": z,
            "heat_out": heat,
            "energy_balance": abs(power - heat) / abs(power) if power != 0 else 0.0,
            "probes": probes.evaluate(),
        })
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
