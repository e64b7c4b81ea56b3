"""Balances of a solved state from flux integrals of the discrete fields: checks that can fail.

energy_balance   |U I - Q_out| / |U I|: the electrical power delivered at the terminal against
                 the heat leaving through every boundary, Q_out = 2 pi oint (-kappa grad T + S T J).n r ds
                 (axisymmetric; every integral here carries the coordinate system's weight and
                 revolution factor; the axis carries no flux: r = 0 there). In a steady state the total energy flux
                 q + phi J is divergence-free, so the two agree for the exact fields; for the
                 discrete fields the boundary flux is a gradient evaluated at the boundary, also
                 on insulated and convective boundaries (where it shows as a spurious O(h) flow),
                 and the mismatch falls with the mesh size: O(h) with P1 (default device at +1 V:
                 1.3e-2 to 2.0e-3 from mesh x8 to x1; tests/test_balances.py).
current_balance  |I_bottom - I_top| / |I_top|: the current leaving through the grounds (the
                 bottom electrode) as the flux 2 pi int J.n r ds of the discrete current density,
                 against the current entering at the driven terminal from the reaction of the
                 charge equation (the terminal current).

Neither uses the residual on both sides. The former `energy_balance` (power against the
reactions of the energy equation at fixed temperatures plus the Robin flux) was not a balance
but an identity of a converged Newton solve: testing the discrete equations with the sum of all
basis functions (= 1) and with phi_h itself gives heat_out = -2 pi int J.grad phi r dx = U I,
whatever the mesh. It checks the solve, not the physics; the QoI records now carry these.

matrix_current_share  the part of the current that bypasses a layer's filament: the current
                 through the matrix (the layer outside its filament), averaged over the layer's
                 height, over the total. For div J = 0 and an insulated outer wall, the current
                 through every horizontal cross-section of the layer is I, so this average is the
                 height-mean share of each cross-section's current carried by the matrix:
                 (1/L) int_matrix (-J_z) 2 pi r dx / I.

PulseEnergy      the balance of a transient over the whole pulse: the electrical energy in,
                 int U I dt, against the energy stored, int C dT dV, plus the energy out,
                 int Q_out dt (boundary fluxes as above); trapezoidal in time over the accepted
                 steps. The old transient `energy_balance` (|dE/dt| / P at the last step) was 0
                 whenever P was 0 and said nothing about the pulse.

The compiled forms are kept per problem (a weak cache), so a sweep pays for them once.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np
import ufl

import dolfinx.fem
from solver.fem import compat
from solver.fem.forms import current_density, heat_flux
from solver.fem.problem import ElectroThermalProblem

@dataclass
class _Forms:
    heat_out: dict          # boundary name -> compiled 2 pi int q.n r ds
    current_bottom: dict    # terminal name -> compiled 2 pi int J.n r ds (grounds, fraction terminals)
    matrix_current: dict    # layer name -> (compiled 2 pi int_matrix -J_z r dx, layer height [m])


_cache: "weakref.WeakKeyDictionary[ElectroThermalProblem, _Forms]" = weakref.WeakKeyDictionary()


def _forms(problem: ElectroThermalProblem) -> _Forms:
    forms = _cache.get(problem)
    if forms is None:
        forms = _cache[problem] = _compile(problem)
    return forms


def _boundary_facets_by_region(problem: ElectroThermalProblem, name: str):
    """facet meshtags of the named boundary, each facet tagged with its cell's region tag."""
    cell_mesh = problem.cell_mesh
    mesh = cell_mesh.mesh
    tdim = mesh.topology.dim
    mesh.topology.create_connectivity(tdim - 1, tdim)
    facet_to_cell = mesh.topology.connectivity(tdim - 1, tdim)
    region_of_cell = np.full(mesh.topology.index_map(tdim).size_local
                             + mesh.topology.index_map(tdim).num_ghosts, -1, dtype=np.int32)
    region_of_cell[cell_mesh.cell_tags.indices] = cell_mesh.cell_tags.values
    facets = np.sort(cell_mesh.facets(name)).astype(np.int32)
    values = np.array([region_of_cell[facet_to_cell.links(f)[0]] for f in facets], dtype=np.int32)
    return compat.meshtags(mesh, tdim - 1, facets, values)


def _compile(problem: ElectroThermalProblem) -> _Forms:
    cell_mesh = problem.cell_mesh
    mesh = cell_mesh.mesh
    r = problem.weight
    n = ufl.FacetNormal(mesh)
    q = 2 * problem.config.solver.degree + 1
    two_pi = problem.coordinates.revolution
    config = problem.config

    def region_fluxes(name):
        ds = ufl.Measure("ds", domain=mesh, subdomain_data=_boundary_facets_by_region(problem, name),
                         metadata={"quadrature_degree": q})
        heat = current = 0
        for region in problem.region_laws:
            J = current_density(region.laws, problem.phi, problem.T)
            heat += ufl.inner(heat_flux(region.laws, problem.T, J), n) * r * ds(region.tag)
            current += ufl.inner(J, n) * r * ds(region.tag)
        return two_pi * heat, two_pi * current

    heat_out, current_bottom = {}, {}
    leaving = [name for name in config.electrical.boundaries if name != config.electrical.drive]
    for name in config.geometry.boundary_groups:  # the axis carries no flux (r = 0)
        heat, current = region_fluxes(name)
        heat_out[name] = compat.create_form(heat)
        if name in leaving:  # the grounds and the terminals at a fraction of U; one form each:
            current_bottom[name] = compat.create_form(current)  # each has its own facet tags

    matrix_current = {}
    vertical = problem.coordinates.gdim - 1  # the layers stack along the last coordinate
    laws_by_tag = {region.tag: region.laws for region in problem.region_laws}
    for region in cell_mesh.regions:
        if region.is_filament or config.geometry.kind == "tile":  # a tile's cells share no single current
            continue
        layer = config.geometry.layers[region.layer_index]
        if layer.filament is None:
            continue
        tag = cell_mesh.cell_tag(region.name)
        J = current_density(laws_by_tag[tag], problem.phi, problem.T)
        height = layer.thickness * config.length_scale
        matrix_current[layer.name] = (compat.create_form(two_pi * -J[vertical] * r * problem.dx(tag)), height)
    return _Forms(heat_out, current_bottom, matrix_current)


def heat_out_by_boundary(problem: ElectroThermalProblem) -> dict[str, float]:
    """Heat leaving through each outer boundary, from the boundary flux of the fields [W]."""
    return {name: compat.assemble_scalar(form, problem.comm) for name, form in _forms(problem).heat_out.items()}


def electrical_power(problem: ElectroThermalProblem) -> float:
    """U I at the top terminal [W] (I from the reaction of the charge equation); with terminals
    at fractions of U, the sum of potential x current over the terminals."""
    return problem.electrical_power(problem.current())


def energy_balance(problem: ElectroThermalProblem) -> float:
    """|U I - Q_out| / |U I| with Q_out from boundary fluxes; 0 for a state with no power."""
    power = electrical_power(problem)
    if power == 0.0:
        return 0.0
    return abs(power - sum(heat_out_by_boundary(problem).values())) / abs(power)


def bottom_current_flux(problem: ElectroThermalProblem) -> float:
    """Current leaving through the grounds (the bottom electrode) and the terminals at a
    fraction of U, 2 pi int J.n r ds of the fields [A]."""
    return sum(compat.assemble_scalar(form, problem.comm) for form in _forms(problem).current_bottom.values())


def current_balance(problem: ElectroThermalProblem) -> float:
    """|I_bottom (flux) - I_top (reaction)| / |I_top|; 0 at zero current."""
    top = problem.current()
    if top == 0.0:
        return 0.0
    return abs(bottom_current_flux(problem) - top) / abs(top)


def matrix_current_share(problem: ElectroThermalProblem) -> dict[str, float]:
    """Per layer with a filament: the height-mean current through the matrix over the terminal
    current (dimensionless; 0.01 = 1% of the current bypasses the filament)."""
    top = problem.current()
    out = {}
    for layer, (form, height) in _forms(problem).matrix_current.items():
        matrix = compat.assemble_scalar(form, problem.comm) / height
        out[layer] = matrix / top if top != 0.0 else math.nan
    return out


class PulseEnergy:
    """Energy in, stored and out over a transient, accumulated step by step: call `observe`
    after every accepted step (and at t = 0). All energies in J."""

    def __init__(self, problem: ElectroThermalProblem):
        self.problem = problem
        self.T_previous = dolfinx.fem.Function(problem.V_T)
        T, T0 = problem.T, self.T_previous
        increment = 0
        for region in problem.region_laws:
            heat_capacity = 0.5 * (region.laws.heat_capacity(T) + region.laws.heat_capacity(T0))
            increment += heat_capacity * (T - T0) * problem.weight * problem.dx(region.tag)
        self.stored_increment = compat.create_form(problem.coordinates.revolution * increment)
        self.time = None
        self.power = self.heat_out = 0.0
        self.energy_in = self.energy_stored = self.energy_out = 0.0

    def observe(self, t: float) -> None:
        p = self.problem
        power = electrical_power(p)
        heat_out = sum(heat_out_by_boundary(p).values())
        if self.time is not None:
            dt = t - self.time
            self.energy_in += 0.5 * (power + self.power) * dt
            self.energy_out += 0.5 * (heat_out + self.heat_out) * dt
            self.energy_stored += compat.assemble_scalar(self.stored_increment, p.comm)
        self.time, self.power, self.heat_out = t, power, heat_out
        self.T_previous.x.array[:] = p.u.x.array[p.T_map]

    def imbalance(self) -> float:
        """|E_in - E_stored - E_out| / E_in (0 when no energy came in)."""
        if self.energy_in == 0.0:
            return 0.0
        return abs(self.energy_in - self.energy_stored - self.energy_out) / abs(self.energy_in)

    def record(self) -> dict:
        return {"energy_in": self.energy_in, "energy_stored": self.energy_stored,
                "energy_out": self.energy_out, "pulse_energy_balance": self.imbalance()}
