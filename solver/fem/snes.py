"""Newton (PETSc SNES, newtonls + line search) on the field unknowns plus one scalar.

The scalar is the top terminal's potential U: the field solution is phi = phi0 + U w, with
w = 1 on the top electrode's dofs, and one extra equation g(u, U) = 0 closes the system
(U = V_applied, or U + R_s I = V_applied through a series resistor, or I = I_target at a
current terminal). The Jacobian is the bordered matrix

    [ dF/du   dF/dU ]   [ A   b ]
    [ dg/du   dg/dU ] = [ c^T d ]

assembled into one sparse AIJ matrix, so a direct solver factors it as a whole and the terminal
is solved together with the field (never lagged). DOLFINx assembles A straight into the
augmented matrix through its local-to-global map; b, c and d are few and sparse (they live on
the cells touching the top electrode).

Convergence is judged on the full Newton direction in physical units (see `direction_size`),
which keeps the meaning of rtol/atol independent of how large currents and heat flows are.

With `reuse_jacobian` (solver.newton.reuse_jacobian; on with LU) the factorised Jacobian is kept
across iterations, drive steps and time steps while the updates shrink at least CHORD_CONTRACTION
per iteration (chord iterations: a residual and two triangular solves instead of an assembly and
a factorisation, ~1/6 of the cost on the axisymmetric cell).

With `pc_type: fieldsplit` (the 3D default, solver.config.schema.ITERATIVE_PETSC) the splits
are the fields: `phi` (the phi0 dofs and U) and `T`, index sets in the augmented matrix's
numbering, so each block gets its own preconditioner (algebraic multigrid).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np
from petsc4py import PETSc

from solver.errors import InputError
from solver.fem import compat
from solver.fem.petsc_options import SPLITS, check_read, check_setup, petsc_strings, rejected

_instances = itertools.count()
CHORD_CONTRACTION = 0.3  # a reused Jacobian must shrink the update at least this fast
CHORD_MAX_ITERATIONS = 5  # and converge within this many iterations, else it is refreshed


class Border(Protocol):
    """The scalar equation and its coupling to the field (see solver.fem.problem)."""

    def set_scalar(self, value: float) -> None: ...
    def equation(self) -> float: ...
    def assemble_border(self, b_vec, c_vec, with_b: bool) -> float: ...
    def coupled(self) -> bool: ...
    def top_global_dofs(self) -> np.ndarray: ...


@dataclass
class NewtonResult:
    converged: bool
    iterations: int
    reason: str
    nonfinite: bool = False  # the residual became non-finite or an iterate unphysical (T <= 0)


class BorderedNewton:
    """SNES over [u; U] with the bordered Jacobian; `u` is the DOLFINx Function of (phi0, T)."""

    def __init__(self, u, residual_form, jacobian_form, border_forms, bcs, border: Border,
                 field_dofs: dict[str, np.ndarray], rtol: float, atol: float, max_it: int,
                 petsc_options: dict, is_physical: Callable[[], bool] = lambda: True):
        self.u = u
        self.comm = u.function_space.mesh.comm
        self.F_form, self.J_form = residual_form, jacobian_form
        self.bcs = bcs
        self.border = border
        self.is_physical = is_physical
        self.rtol, self.atol = rtol, atol
        space = u.function_space
        imap = space.dofmap.index_map
        if space.dofmap.index_map_bs != 1:
            raise NotImplementedError("bordered Newton expects an unblocked (mixed) dofmap")
        self.n_owned = imap.size_local
        self.n_global = imap.size_global
        self.last_rank = self.comm.size - 1
        self.owns_scalar = self.comm.rank == self.last_rank
        self.field_dofs = {name: dofs[dofs < self.n_owned] for name, dofs in field_dofs.items()}

        self.F_field = compat.create_vector(residual_form)
        self.b_vec = compat.create_vector(border_forms[0])
        self.c_vec = compat.create_vector(border_forms[1])
        self.A = self._create_augmented_matrix()
        self.x, self.F = self.A.createVecs()
        self.direction = self.x.duplicate()
        self.reuse_jacobian = False  # chord iterations (solver.newton.reuse_jacobian), see `solve`
        self._have_jacobian = False
        self._last_size = np.inf
        self.reused = False
        self.jacobians = 0  # assembled and factorised (for benchmarks)
        self.linear_iterations = 0  # Krylov iterations of every solve so far (for benchmarks)
        self.scalar = 0.0
        self._nonfinite = False

        self.snes = PETSc.SNES().create(self.comm)
        prefix = f"filatherm_{next(_instances)}_"
        self.snes.setOptionsPrefix(prefix)
        options = PETSc.Options()
        defaults = {"snes_type": "newtonls", "snes_linesearch_type": "bt",
                    "ksp_type": "preonly", "pc_type": "lu",
                    "pc_factor_mat_solver_type": "mumps", "snes_max_it": max_it}
        values = petsc_strings({**defaults, **petsc_options})
        for key, value in values.items():
            options[prefix + key] = value
        self._option_keys = [prefix + key for key in values]
        self._split_index_sets = []
        self.snes.setFunction(self._residual, self.F)
        self.snes.setJacobian(self._jacobian, self.A)
        self.snes.setConvergenceTest(self._converged)
        self.snes.setLineSearchPreCheck(self._record_direction)
        try:
            self.snes.setFromOptions()
            check_setup(prefix)  # before check_read: it reads a fieldsplit's block options
            check_read(petsc_options, prefix)
        except PETSc.Error as err:
            self.destroy()
            raise rejected(err, prefix) from None
        except InputError:
            self.destroy()
            raise
        self.snes.setTolerances(max_it=max_it)
        pc = self.snes.getKSP().getPC()
        if pc.getType() == PETSc.PC.Type.FIELDSPLIT:
            self._set_field_splits(pc)

    # -- structure -----------------------------------------------------------------------

    def _create_augmented_matrix(self):
        """AIJ of size N+1: DOLFINx's pattern plus the border on rows/columns near the top."""
        field = compat.create_matrix(self.J_form)
        compat.assemble_matrix_into(field, self.J_form, self.bcs)  # element entries give the pattern
        field.assemble()
        lgmap = field.getLGMap()
        indptr, indices, _ = field.getValuesCSR()
        field.destroy()
        N = self.n_global
        top = self.border.top_global_dofs()
        top_all = np.unique(np.concatenate(self.comm.allgather(top))) if self.comm.size > 1 else top
        row_of = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        touches_top = np.zeros(len(indptr) - 1, dtype=bool)
        if self.border.coupled():  # else U is fixed at the drive and the border stays zero:
            touches_top[row_of[np.isin(indices, top_all)]] = True  # keep it out of the LU
        start = self.u.function_space.dofmap.index_map.local_range[0]
        near_top_global = start + np.flatnonzero(touches_top)
        near_top_all = np.concatenate(self.comm.allgather(near_top_global))
        self.near_top_local = np.flatnonzero(touches_top).astype(PETSc.IntType)
        self.near_top_global = near_top_global.astype(PETSc.IntType)
        # column N at the end of every row near the top; on the last rank, row N itself
        new_indices = np.insert(indices, indptr[1:][touches_top], N)
        new_indptr = np.concatenate([[0], np.cumsum(np.diff(indptr) + touches_top)])
        if self.owns_scalar:
            row_n = np.concatenate([np.sort(near_top_all), [N]])
            new_indices = np.concatenate([new_indices, row_n])
            new_indptr = np.concatenate([new_indptr, [new_indptr[-1] + len(row_n)]])
        local = self.n_owned + (1 if self.owns_scalar else 0)
        A = PETSc.Mat().create(self.comm)
        A.setSizes(((local, N + 1), (local, N + 1)))
        A.setType("aij")
        A.setPreallocationCSR((new_indptr.astype(PETSc.IntType), new_indices.astype(PETSc.IntType)))
        A.setLGMap(*lgmap)
        A.setOption(PETSc.Mat.Option.NEW_NONZERO_ALLOCATION_ERR, True)
        return A

    def _set_field_splits(self, pc) -> None:
        """Splits `phi` (phi0 and the scalar U, row N on the last rank) and `T`, in global
        numbering: the augmented matrix's rows on a rank are its DOLFINx-owned dofs (plus N)."""
        start = self.u.function_space.dofmap.index_map.local_range[0]
        splits = []
        for name in SPLITS:
            rows = start + np.sort(self.field_dofs[name]).astype(np.int64)
            if name == "phi" and self.owns_scalar:
                rows = np.append(rows, self.n_global)
            index_set = PETSc.IS().createGeneral(rows.astype(PETSc.IntType), comm=self.comm)
            splits.append((name, index_set))
        pc.setFieldSplitIS(*splits)
        self._split_index_sets = [index_set for _, index_set in splits]

    # -- state ---------------------------------------------------------------------------

    def pull(self) -> None:
        """Copy the Function and scalar into the SNES vector."""
        array = self.x.getArray()
        array[: self.n_owned] = self.u.x.array[: self.n_owned]
        if self.owns_scalar:
            array[self.n_owned] = self.scalar

    def _push(self, x) -> None:
        """Copy the SNES vector into the Function (with ghosts) and the scalar (everywhere)."""
        array = x.getArray(readonly=True)
        self.u.x.array[: self.n_owned] = array[: self.n_owned]
        compat.scatter_forward(self.u)
        value = array[self.n_owned] if self.owns_scalar else None
        self.scalar = float(self.comm.bcast(value, root=self.last_rank))
        self.border.set_scalar(self.scalar)

    # -- callbacks -----------------------------------------------------------------------

    def _residual(self, snes, x, F) -> None:
        self._push(x)
        if not self.is_physical():
            self._nonfinite = True
            F.set(np.nan)  # the line search backs off, or the solve fails and the step is cut
            return
        compat.assemble_residual(self.F_field, self.F_form, self.bcs, self.u)
        out = F.getArray()
        out[: self.n_owned] = self.F_field.getArray(readonly=True)[: self.n_owned]
        g = self.border.equation()
        if self.owns_scalar:
            out[self.n_owned] = g

    def _jacobian(self, snes, x, J, P) -> None:
        if self.reuse_jacobian and self._have_jacobian:
            self.reused = True
            return  # an unchanged matrix: PETSc keeps its factorisation (a chord iteration)
        self._have_jacobian = True
        self.jacobians += 1
        self._push(x)
        A = self.A
        A.zeroEntries()
        compat.assemble_matrix_into(A, self.J_form, self.bcs)
        A.assemblyBegin(PETSc.Mat.AssemblyType.FLUSH)
        A.assemblyEnd(PETSc.Mat.AssemblyType.FLUSH)
        N = self.n_global
        # Uncoupled (a voltage terminal without series resistance), U already equals the drive
        # when Newton starts (see ElectroThermalProblem.solve), so dU = 0 and b is not needed.
        with_b = self.border.coupled()
        d = self.border.assemble_border(self.b_vec, self.c_vec, with_b)
        if with_b:
            b = self.b_vec.getArray(readonly=True)[self.near_top_local]
            A.setValues(self.near_top_global, [N], b.reshape(-1, 1), addv=PETSc.InsertMode.ADD)
        c = self.c_vec.getArray(readonly=True)[self.near_top_local]
        A.setValues([N], self.near_top_global, c.reshape(1, -1), addv=PETSc.InsertMode.ADD)
        if self.owns_scalar:
            A.setValues([N], [N], [[d]], addv=PETSc.InsertMode.ADD)
        A.assemble()

    def _converged(self, snes, it, norms):
        xnorm, ynorm, fnorm = norms
        if not np.isfinite(fnorm):
            return compat.SNES_DIVERGED_NONFINITE
        if it == 0:
            self._last_size = np.inf
            return 0
        size = self.direction_size(self.direction, snes.getSolution())
        if size <= 1.0:
            return PETSc.SNES.ConvergedReason.CONVERGED_SNORM_RELATIVE
        if size > CHORD_CONTRACTION * self._last_size:
            self._have_jacobian = False  # a reused Jacobian converges too slowly: refresh it
        self._last_size = size
        return 0

    def _record_direction(self, x, y):
        """Keep the full Newton direction: the line search may take only part of it, and a
        damped step being small says nothing about convergence."""
        y.copy(self.direction)

    def direction_size(self, step, x) -> float:
        """Largest Newton update of any field over its tolerance max(rtol * magnitude, atol)
        (V for phi and U, K for T): converged when <= 1."""
        dx = step.getArray(readonly=True)
        xx = x.getArray(readonly=True)
        local = []
        for dofs in self.field_dofs.values():
            local += [np.abs(dx[dofs]).max(initial=0.0), np.abs(xx[dofs]).max(initial=0.0)]
        if self.owns_scalar:
            local += [abs(dx[self.n_owned]), abs(xx[self.n_owned])]
        else:
            local += [0.0, 0.0]
        maxima = np.empty(len(local))
        self.comm.Allreduce(np.array(local, dtype=float), maxima, op=_max_op())
        updates, sizes = maxima[0::2], maxima[1::2]
        phi_scale = max(sizes[0], sizes[-1])  # phi0 spans up to |U|
        scales = [phi_scale] + list(sizes[1:-1]) + [phi_scale]
        return max(du / max(self.rtol * s, self.atol) for du, s in zip(updates, scales))

    # -- solve ---------------------------------------------------------------------------

    def solve(self) -> NewtonResult:
        """Newton from the Function's current values. With `reuse_jacobian`, the factorised
        Jacobian of an earlier iterate (of this solve or an earlier drive or time step) is kept
        while it converges fast; a solve that fails with it is retried once with a fresh one."""
        start = self.u.x.array.copy(), self.scalar
        self.reused = False
        result = self._solve_once()
        if not result.converged and self.reused:
            self.u.x.array[:] = start[0]
            self.scalar = start[1]
            self.border.set_scalar(start[1])
            self._have_jacobian = False
            retry = self._solve_once()
            result = NewtonResult(retry.converged, result.iterations + retry.iterations, retry.reason,
                                  result.nonfinite or retry.nonfinite)
        if not result.converged or result.iterations > CHORD_MAX_ITERATIONS:
            self._have_jacobian = False
        return result

    def invalidate_jacobian(self) -> None:
        """The next Newton iteration assembles and factorises a fresh Jacobian."""
        self._have_jacobian = False

    def _solve_once(self) -> NewtonResult:
        self.pull()
        self._nonfinite = False
        try:
            self.snes.solve(None, self.x)
        except PETSc.Error as err:
            self._push(self.x)
            return NewtonResult(False, self.snes.getIterationNumber(), f"PETSc error {err.ierr}", self._nonfinite)
        self._push(self.x)
        self.linear_iterations += self.snes.getLinearSolveIterations()
        reason = self.snes.getConvergedReason()
        if (reason == PETSc.SNES.ConvergedReason.CONVERGED_SNORM_RELATIVE
                and self.direction_size(self.direction, self.x) > 1.0):
            # Not our test (`_converged` returns this reason only for a full direction of size
            # <= 1, the same sizing as here) but PETSc's: the line search's step was shorter
            # than stol x |x|. That is convergence only when the full direction is small too (a
            # start that already solves the equations); else the line search stalled on a poor
            # (e.g. chord) direction.
            reason = PETSc.SNES.ConvergedReason.DIVERGED_LINE_SEARCH
        if reason == PETSc.SNES.ConvergedReason.DIVERGED_LINEAR_SOLVE:
            # A failed factorisation (a non-finite Jacobian) leaves the preconditioner in an
            # error state that every later solve would inherit: start it afresh.
            self.snes.getKSP().reset()
            self._have_jacobian = False
        nonfinite = self._nonfinite or reason == compat.SNES_DIVERGED_NONFINITE
        return NewtonResult(reason > 0, self.snes.getIterationNumber(), _reason_name(reason),
                            nonfinite and reason <= 0)

    def destroy(self) -> None:
        options = PETSc.Options()
        for key in self._option_keys:
            options.delValue(key)
        self.snes.destroy()
        self.A.destroy()
        for index_set in self._split_index_sets:
            index_set.destroy()


def _max_op():
    from mpi4py import MPI

    return MPI.MAX


def _reason_name(reason: int) -> str:
    for name in dir(PETSc.SNES.ConvergedReason):
        if not name.startswith("_") and getattr(PETSc.SNES.ConvergedReason, name) == reason:
            return name
    return str(reason)
