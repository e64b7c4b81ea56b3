"""The coupled electro-thermal problem on a cell mesh: spaces, conditions, forms, Newton.

Recipe (read top to bottom in `ElectroThermalProblem.__init__`):
  1. mixed space W = P_k x P_k for (phi0, T); the driven terminal's potential U is one extra
     scalar unknown and phi = phi0 + U w (w = 1 on the driven terminal's dofs, f on those of a
     terminal held at a fraction f of U, 0 elsewhere);
  2. Dirichlet conditions: phi0 = 0 on every electrical boundary (the driven terminal and the
     grounds, named facet groups of the config's `electrical`), T on every facet group where
     `thermal` fixes it;
  3. the residual of solver.fem.forms, region by region, and its Jacobian;
  4. the terminal equation and its border forms (dF/dU, dI/du, dI/dU);
  5. the bordered Newton solver (solver.fem.snes).

Forms are compiled once; the drive (voltage or current) and U are Constants, so a sweep only
changes numbers. All lengths are metres; integrals carry the coordinate system's weight and
totals its revolution factor (solver.fem.coordinates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import ufl

import dolfinx.fem
from solver.config.schema import (
    Config,
    Convective,
    CurrentTerminal,
    FixedTemperature,
)
from solver.fem import compat
from solver.fem.coordinates import coordinate_system
from solver.fem.forms import RegionLaws, TimeTerm, residual
from solver.fem.mesh import CellMesh
from solver.fem.snes import BorderedNewton, NewtonResult
from solver.materials.laws import MaterialLaws


@dataclass
class State:
    """A solution snapshot: the local (owned + ghost) dof values and the terminal potential."""

    values: np.ndarray
    U: float


def extrapolate(states: list[State], at: list[float], x: float) -> State:
    """The polynomial through the `states` solved at `at` (drives or times), evaluated at `x`:
    the Lagrange form sum_i w_i state_i, w_i = prod_{j != i} (x - at_j) / (at_i - at_j)."""
    weights = []
    for i, a in enumerate(at):
        weight = 1.0
        for j, b in enumerate(at):
            if j != i:
                weight *= (x - b) / (a - b)
        weights.append(weight)
    return State(sum(w * s.values for w, s in zip(weights, states)), sum(w * s.U for w, s in zip(weights, states)))


class TerminalEquation:
    """The scalar equation closing the system at the driven terminal.

    voltage terminal:  g = U + R_s I - V_applied        (R_s = 0: U = V_applied)
    current terminal:  g = (I - I_target) / I_scale      (dimensionless, I_scale = |I_target|)
    with I = revolution x F_phi(w_drive), the reaction current at the driven terminal.
    """

    def __init__(self, problem: "ElectroThermalProblem", current_mode: bool, series_resistance: float):
        self.p = problem
        self.current_mode = current_mode
        self.R_s = series_resistance
        self.drive = 0.0

    def set_scalar(self, value: float) -> None:
        self.p.U.value = value

    def coupled(self) -> bool:
        return self.current_mode or self.R_s > 0

    def _current_scale(self) -> float:
        return max(abs(self.drive), 1e-12)

    def equation(self) -> float:
        U = float(self.p.U.value)
        if self.current_mode:
            return (self.p.current() - self.drive) / self._current_scale()
        I = self.p.current() if self.R_s > 0 else 0.0
        return U + self.R_s * I - self.drive

    def assemble_border(self, b_vec, c_vec, with_b: bool) -> float:
        p = self.p
        if with_b:
            compat.assemble_vector_into(b_vec, p.forms["dF_dU"])
            compat.set_bc(b_vec, p.bcs, None, 0.0)
        if not self.coupled():
            with c_vec.localForm() as local:
                local.set(0.0)
            return 1.0
        compat.assemble_vector_into(c_vec, p.forms["dI_du"])
        compat.set_bc(c_vec, p.bcs, None, 0.0)
        dI_dU = compat.assemble_scalar(p.forms["dI_dU"], p.comm)
        if self.current_mode:
            c_vec.scale(1.0 / self._current_scale())
            return dI_dU / self._current_scale()
        c_vec.scale(self.R_s)
        return 1.0 + self.R_s * dI_dU

    def top_global_dofs(self) -> np.ndarray:
        """Global dofs where phi moves with U (the driven terminal and the fraction terminals)."""
        imap = self.p.W.dofmap.index_map
        return imap.local_to_global(self.p.lifted_dofs.astype(np.int32)).astype(np.int64)


class ElectroThermalProblem:
    """Steady (or, with `transient=True`, one implicit time step of) the coupled problem."""

    def __init__(self, config: Config, cell_mesh: CellMesh, transient: bool = False):
        self.config = config
        self.cell_mesh = cell_mesh
        mesh = cell_mesh.mesh
        self.comm = mesh.comm
        self.coordinates = coordinate_system(config)
        degree = config.solver.degree

        # 1. spaces and unknowns
        self.W = compat.lagrange_space(mesh, degree, components=2)
        self.V_phi, self.phi_map = compat.collapse(self.W.sub(0))
        self.V_T, self.T_map = compat.collapse(self.W.sub(1))
        self.u = dolfinx.fem.Function(self.W)
        phi0, T = ufl.split(self.u)
        w_test, v_test = ufl.TestFunctions(self.W)
        self.U = dolfinx.fem.Constant(mesh, 0.0)

        fdim = mesh.topology.dim - 1
        mesh.topology.create_connectivity(fdim, mesh.topology.dim)
        electrical = config.electrical
        drive_facets = cell_mesh.facets(electrical.drive)
        self.top_dofs = compat.locate_dofs_topological((self.W.sub(0), self.V_phi), fdim, drive_facets)[0]
        self.w_top, self.lifted_dofs = self._lifting(fdim)
        self.phi = phi0 + self.U * self.w_top
        self.T = T

        # 2. Dirichlet conditions
        self.bcs, dirichlet_T_dofs = self._dirichlet_conditions(fdim)

        # 3. residual and Jacobian
        q = 2 * degree + 1  # enough for the O(h^{k+1}) convergence; nonpolynomial laws otherwise ask for ~10
        weight = self.coordinates.weight(mesh)
        self.weight = weight
        revolution = self.coordinates.revolution
        self.dx = ufl.Measure("dx", domain=mesh, subdomain_data=cell_mesh.cell_tags,
                              metadata={"quadrature_degree": q})
        self.ds = ufl.Measure("ds", domain=mesh, subdomain_data=cell_mesh.facet_tags,
                              metadata={"quadrature_degree": q})
        self.region_laws = [
            RegionLaws(cell_mesh.cell_tag(region.name),
                       MaterialLaws(config.materials[region.material], mesh,
                                    config.state.value if config.state is not None else None))
            for region in cell_mesh.regions
        ]
        self.robin = [
            (cell_mesh.facet_tag(name), bc.h, bc.ambient)
            for name, bc in self._thermal_boundaries() if isinstance(bc, Convective)
        ]
        self.time: Optional[TimeTerm] = None
        if transient:
            zero = lambda: dolfinx.fem.Constant(mesh, 0.0)  # noqa: E731
            self.T_n = dolfinx.fem.Function(self.V_T)
            self.T_nm1 = dolfinx.fem.Function(self.V_T)
            self.time = TimeTerm(zero(), zero(), zero(), zero(), self.T_n, self.T_nm1)
        F = residual(self.region_laws, self.phi, T, w_test, v_test, weight, self.dx, self.robin, self.ds,
                     self.time)
        J = ufl.derivative(F, self.u, ufl.TrialFunction(self.W))
        self.residual_ufl = F

        # 4. terminal and energy functionals: actions of F on indicator functions
        self.e_top = self._indicator(self.top_dofs)
        # the direction of U in W: w on the phi dofs (e_top itself when only the drive is lifted;
        # decided from the config, the same on every rank)
        only_drive = all(f == 0.0 for name, f in electrical.potential_fractions().items() if name != electrical.drive)
        self.e_lift = self.e_top if only_drive else self._lifting_direction()
        ground_dofs = [compat.locate_dofs_topological((self.W.sub(0), self.V_phi), fdim, cell_mesh.facets(name))[0]
                       for name in electrical.grounds]
        self.e_bottom = self._indicator(np.unique(np.concatenate(ground_dofs)) if ground_dofs
                                        else np.array([], dtype=np.int32))
        self.e_dirichlet_T = self._indicator(dirichlet_T_dofs)
        I_top = revolution * ufl.action(F, self.e_top)
        robin_heat = sum((h * (T - amb) * weight * self.ds(tag) for tag, h, amb in self.robin),
                         dolfinx.fem.Constant(mesh, 0.0) * weight * self.ds)
        self.forms = {
            "F": F, "J": J,
            "dF_dU": ufl.derivative(F, self.u, self.e_lift),
            "I_top": I_top,
            "dI_du": ufl.derivative(I_top, self.u, ufl.TestFunction(self.W)),
            "dI_dU": ufl.derivative(I_top, self.u, self.e_lift),
            "I_bottom": -revolution * ufl.action(F, self.e_bottom),
            # sum over terminals of (potential / U) x current: U times it is the power in
            "I_lifted": revolution * ufl.action(F, self.e_lift),
            "heat_out": revolution * (robin_heat - ufl.action(F, self.e_dirichlet_T)),
        }
        self.forms = {name: compat.create_form(form) for name, form in self.forms.items()}

        # 5. terminal equation and Newton
        terminal = electrical.terminal
        self.current_mode = isinstance(terminal, CurrentTerminal)
        series = 0.0 if self.current_mode else terminal.series_resistance
        self.terminal = TerminalEquation(self, self.current_mode, series)
        field_dofs = {"phi": self.phi_map, "T": self.T_map}
        newton = config.solver.newton
        self.newton = BorderedNewton(
            self.u, self.forms["F"], self.forms["J"], (self.forms["dF_dU"], self.forms["dI_du"]),
            self.bcs, self.terminal, field_dofs, newton.rtol, newton.atol, newton.max_it,
            dict(config.solver.petsc), self.is_physical,
        )
        self.newton.reuse_jacobian = newton.reuses_jacobian(config.solver.petsc)
        self.reset()

    # -- set-up helpers ------------------------------------------------------------------

    def _thermal_boundaries(self):
        return list(self.config.thermal.boundaries.items())

    def _dirichlet_conditions(self, fdim: int):
        zero_phi = dolfinx.fem.Function(self.V_phi)
        bcs = []
        for name in self.config.electrical.boundaries:
            dofs = compat.locate_dofs_topological((self.W.sub(0), self.V_phi), fdim,
                                                  self.cell_mesh.facets(name))
            bcs.append(compat.dirichletbc(zero_phi, dofs, self.W.sub(0)))
        self.T_boundary = dolfinx.fem.Function(self.V_T)
        T_dofs_all = []
        for name, bc in self._thermal_boundaries():
            if not isinstance(bc, FixedTemperature):
                continue
            dofs = compat.locate_dofs_topological((self.W.sub(1), self.V_T), fdim,
                                                  self.cell_mesh.facets(name))
            self.T_boundary.x.array[dofs[1]] = bc.temperature
            bcs.append(compat.dirichletbc(self.T_boundary, dofs, self.W.sub(1)))
            T_dofs_all.append(dofs[0])
        dirichlet_T = np.unique(np.concatenate(T_dofs_all)) if T_dofs_all else np.array([], np.int32)
        return bcs, dirichlet_T

    def _lifting(self, fdim: int):
        """w on V_phi: each terminal's potential over U (1 on the driven terminal, its fraction
        on a fraction terminal); and the dofs of W where w is not zero."""
        w = dolfinx.fem.Function(self.V_phi)
        lifted = []
        for name, fraction in self.config.electrical.potential_fractions().items():
            if fraction == 0.0:
                continue
            facets = self.cell_mesh.facets(name)
            w.x.array[compat.locate_dofs_topological(self.V_phi, fdim, facets)] = fraction
            lifted.append(compat.locate_dofs_topological((self.W.sub(0), self.V_phi), fdim, facets)[0])
        return w, np.unique(np.concatenate(lifted))

    def _lifting_direction(self):
        """The Function of W equal to w on the phi dofs (the derivative of phi in U)."""
        e = dolfinx.fem.Function(self.W)
        e.x.array[self.phi_map] = self.w_top.x.array
        return e

    def _indicator(self, dofs: np.ndarray):
        """A Function of W equal to 1 at the given dofs (of W), 0 elsewhere."""
        e = dolfinx.fem.Function(self.W)
        e.x.array[dofs] = 1.0
        return e

    # -- state ---------------------------------------------------------------------------

    def reset(self) -> None:
        """phi0 = 0, U = 0, T = initial temperature with the boundary temperatures applied."""
        self.u.x.array[:] = 0.0
        self.u.x.array[self.T_map] = self.config.thermal.initial_temperature
        compat.set_bc(compat.petsc_vector(self.u), self.bcs)
        compat.scatter_forward(self.u)
        self.set_U(0.0)
        self.terminal.drive = 0.0

    def set_U(self, value: float) -> None:
        self.U.value = value
        self.newton.scalar = value

    def state(self) -> State:
        return State(self.u.x.array.copy(), float(self.U.value))

    def restore(self, state: State) -> None:
        self.u.x.array[:] = state.values
        self.set_U(state.U)

    # -- solving -------------------------------------------------------------------------

    def solve(self, drive: float) -> NewtonResult:
        """Newton at a drive (V at a voltage terminal, A at a current terminal) from the
        current state; on a voltage terminal without series resistance U starts at the drive."""
        self.terminal.drive = drive
        if not self.terminal.coupled():
            self.set_U(drive)
        return self.newton.solve()

    def T_max(self) -> float:
        return self._reduce(self.u.x.array, np.max, "max")

    def T_min_of(self, state: State) -> float:
        return self._reduce(state.values, np.min, "min")

    def _reduce(self, values: np.ndarray, local_op, op: str) -> float:
        from mpi4py import MPI

        owned = self.T_map[self.T_map < self.W.dofmap.index_map.size_local]
        local = local_op(values[owned]) if len(owned) else (-np.inf if op == "max" else np.inf)
        return float(self.comm.allreduce(local, op=MPI.MAX if op == "max" else MPI.MIN))

    def clamp_temperature(self, floor: float) -> None:
        values = self.u.x.array
        values[self.T_map] = np.maximum(values[self.T_map], floor)
        compat.scatter_forward(self.u)

    def is_physical(self) -> bool:
        """Temperatures stay positive (the material laws divide by T)."""
        return self.T_min_of(State(self.u.x.array, 0.0)) > 0.0

    # -- derived quantities --------------------------------------------------------------

    def current(self) -> float:
        """Current into the driven terminal, from the reaction of the charge equation [A]."""
        return compat.assemble_scalar(self.forms["I_top"], self.comm)

    def current_bottom(self) -> float:
        """Current out through the grounds, from the reaction of the charge equation [A]."""
        return compat.assemble_scalar(self.forms["I_bottom"], self.comm)

    def terminal_currents(self) -> dict[str, float]:
        """Current into each electrical terminal [A] (reactions of the charge equation); the
        forms are compiled on first use."""
        if not hasattr(self, "_terminal_forms"):
            fdim = self.cell_mesh.mesh.topology.dim - 1
            self._terminal_forms = {}
            for name in self.config.electrical.boundaries:
                dofs = compat.locate_dofs_topological((self.W.sub(0), self.V_phi), fdim,
                                                      self.cell_mesh.facets(name))[0]
                indicator = self._indicator(dofs)
                self._terminal_forms[name] = compat.create_form(
                    self.coordinates.revolution * ufl.action(self.residual_ufl, indicator))
        return {name: compat.assemble_scalar(form, self.comm) for name, form in self._terminal_forms.items()}

    def electrical_power(self, current: float) -> float:
        """Power into the cell [W]: U x `current` (the driven terminal's) when the other
        terminals are grounds, else U x sum_k f_k I_k over the terminals."""
        U = float(self.U.value)
        if self.e_lift is self.e_top:
            return U * current
        return U * compat.assemble_scalar(self.forms["I_lifted"], self.comm)

    def heat_out(self) -> float:
        """Heat leaving through all boundaries (reactions at fixed T plus convection) [W]."""
        return compat.assemble_scalar(self.forms["heat_out"], self.comm)

    @property
    def dofs(self) -> int:
        return self.W.dofmap.index_map.size_global * self.W.dofmap.index_map_bs
