"""The one place that knows DOLFINx versions (0.5.2 on Debian 12 up to 0.11).

Everything else in filatherm calls these functions and reads the same on every version.
Each function says which versions differ and how; branches test features, not version
strings, where a feature test is possible.
"""

from __future__ import annotations

import logging

import dolfinx
import dolfinx.fem
import dolfinx.fem.petsc
import dolfinx.io
import dolfinx.mesh
import numpy as np
import ufl

VERSION = tuple(int(p) for p in dolfinx.__version__.split(".")[:2])
HAS_BASIX_UFL = VERSION >= (0, 7)


def _snes_diverged_nonfinite():
    """SNES's reason for a NaN/Inf residual norm: DIVERGED_FNORM_NAN through PETSc 3.22
    (DOLFINx 0.5 and 0.9 here), DIVERGED_FUNCTION_NANORINF in PETSc 3.25 (DOLFINx 0.11)."""
    from petsc4py import PETSc

    reasons = PETSc.SNES.ConvergedReason
    return getattr(reasons, "DIVERGED_FNORM_NAN", None) or reasons.DIVERGED_FUNCTION_NANORINF


SNES_DIVERGED_NONFINITE = _snes_diverged_nonfinite()


def configure() -> None:
    """Process-wide settings for running filatherm's FEM: called by the CLI before a verb that
    solves and by the test suite, never on import (a library must not change its host's
    logging or error printing behind its back)."""
    _silence_hdf5_error_stacks()
    # FFCx installs a root log handler (logging.basicConfig) and its JIT compiles through
    # distutils with verbose=True, which lowers the root level to INFO: every first solve of a
    # new form would print compiler command lines. Keep that handler to warnings and above.
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)


def _silence_hdf5_error_stacks() -> None:
    """HDF5 prints its whole error stack to stderr before DOLFINx raises RuntimeError (a full
    disk gives ~40 lines); the exception is what we report, so turn the printing off in every
    HDF5 library loaded in this process (DOLFINx's MPI build and h5py's may differ)."""
    import ctypes

    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "libhdf5" in line and ".so" in line}
    except OSError:
        return
    for path in paths:
        try:
            library = ctypes.CDLL(path)
            library.H5Eset_auto2(ctypes.c_int64(0), None, None)  # H5E_DEFAULT, no printing
        except (OSError, AttributeError):
            continue


# ---------------------------------------------------------------- meshes


def model_to_mesh(gmsh_model, comm, rank: int, gdim: int):
    """(mesh, cell_tags, facet_tags) from an in-memory gmsh model (built on `rank`).

    0.5-0.9: dolfinx.io.gmshio.model_to_mesh returns a tuple; 0.10+: it returns MeshData
    (0.11 moved the module to dolfinx.io.gmsh).
    """
    try:
        from dolfinx.io import gmsh as gmshio  # 0.11+
    except ImportError:
        from dolfinx.io import gmshio
    result = gmshio.model_to_mesh(gmsh_model, comm, rank, gdim=gdim)
    if hasattr(result, "mesh"):
        return result.mesh, result.cell_tags, result.facet_tags
    return result[0], result[1], result[2]


def cell_vertex_coordinates(mesh) -> np.ndarray:
    """(local cells, vertices per cell, 3) coordinates of each local cell's corners."""
    tdim = mesh.topology.dim
    num_cells = mesh.topology.index_map(tdim).size_local
    geometry = mesh.geometry
    dofmap = geometry.dofmaps[0] if hasattr(geometry, "dofmaps") else geometry.dofmap  # 0.11: per cell type
    if hasattr(dofmap, "array") and hasattr(dofmap, "offsets"):  # 0.5-0.6: AdjacencyList
        nodes = dofmap.array.reshape(-1, dofmap.offsets[1] - dofmap.offsets[0])
    else:  # 0.7+: a 2D numpy array
        nodes = np.asarray(dofmap)
    corners = tdim + 1  # simplices: the first tdim + 1 nodes are the vertices
    return mesh.geometry.x[nodes[:num_cells, :corners]]


def meshtags(mesh, dim: int, entities: np.ndarray, values: np.ndarray):
    """MeshTags from sorted local entity indices and values (0.5: meshtags; all the same name)."""
    order = np.argsort(entities)
    return dolfinx.mesh.meshtags(mesh, dim, entities[order].astype(np.int32),
                                 values[order].astype(np.int32))


def write_mesh_with_tags(xdmf, mesh, tags) -> None:
    """Mesh plus meshtags into an open XDMFFile (0.9+ wants the geometry for meshtags)."""
    xdmf.write_mesh(mesh)
    for tag in tags:
        try:
            xdmf.write_meshtags(tag, mesh.geometry)
        except TypeError:
            xdmf.write_meshtags(tag)


# ---------------------------------------------------------------- spaces and functions


def lagrange_space(mesh, degree: int, components: int = 1):
    """P`degree` scalar space, or the mixed space of `components` such scalars."""
    if HAS_BASIX_UFL:
        import basix.ufl

        scalar = basix.ufl.element("Lagrange", mesh.topology.cell_name(), degree)
        element = scalar if components == 1 else basix.ufl.mixed_element([scalar] * components)
        return dolfinx.fem.functionspace(mesh, element)
    scalar = ufl.FiniteElement("Lagrange", mesh.ufl_cell(), degree)
    element = scalar if components == 1 else ufl.MixedElement([scalar] * components)
    return dolfinx.fem.FunctionSpace(mesh, element)


def collapse(subspace):
    """(collapsed space, its dofs in the parent) with the dofs as a flat int32 array
    (0.5: list of int; 0.9: list of np.int64; 0.11: a list holding one array)."""
    space, dofs = subspace.collapse()
    return space, np.asarray(dofs, dtype=np.int32).reshape(-1)


def cell_dofs(space) -> np.ndarray:
    """(local cells, dofs per cell) array of a space's dofmap (0.5: AdjacencyList)."""
    dofmap = space.dofmap.list
    if hasattr(dofmap, "array") and hasattr(dofmap, "offsets"):
        return dofmap.array.reshape(-1, dofmap.offsets[1] - dofmap.offsets[0])
    return np.asarray(dofmap)


def dg0_space(mesh):
    """Piecewise constants (one value per cell)."""
    if HAS_BASIX_UFL:
        return dolfinx.fem.functionspace(mesh, ("DG", 0))
    return dolfinx.fem.FunctionSpace(mesh, ("DG", 0))


def petsc_vector(function):
    """The PETSc Vec that shares memory with a Function (0.5-0.8: .vector; 0.9+: .x.petsc_vec)."""
    x = function.x
    if hasattr(x, "petsc_vec"):
        return x.petsc_vec
    return function.vector


def scatter_forward(function) -> None:
    """Update ghost values from their owners."""
    function.x.scatter_forward()


def interpolation_points(space):
    """Reference points of a space's element (a property before 0.7, a method after)."""
    points = space.element.interpolation_points
    return points() if callable(points) else points


# ---------------------------------------------------------------- assembly

from petsc4py import PETSc  # noqa: E402 (grouped with the assembly helpers that need it)


def create_form(expression):
    return dolfinx.fem.form(expression)


def create_vector(form):
    """A ghosted PETSc vector for a linear form (0.11 takes the form's function space)."""
    try:
        return dolfinx.fem.petsc.create_vector(form)
    except TypeError:
        return dolfinx.fem.petsc.create_vector(form.function_spaces[0])


def create_matrix(form):
    return dolfinx.fem.petsc.create_matrix(form)


def set_bc(vector, bcs, x0=None, scale: float = 1.0) -> None:
    """b[bc rows] = scale * (g - x0); positional, since the keyword was renamed (scale -> alpha)."""
    dolfinx.fem.petsc.set_bc(vector, bcs, x0, scale)


def assemble_vector_into(vector, form) -> None:
    """Zero, assemble and sum ghost contributions into their owners."""
    with vector.localForm() as local:
        local.set(0.0)
    dolfinx.fem.petsc.assemble_vector(vector, form)
    vector.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)


def assemble_residual(vector, form, bcs, u) -> None:
    """Nonlinear residual with Dirichlet rows x - g (the iterate always satisfies the bcs,
    so no lifting is needed)."""
    assemble_vector_into(vector, form)
    set_bc(vector, bcs, petsc_vector(u), -1.0)


def assemble_matrix_into(matrix, form, bcs) -> None:
    """Add a bilinear form into a matrix that has DOLFINx's local-to-global map (rows and
    columns of bc dofs zeroed, 1 on their diagonal); the caller finalises the matrix."""
    dolfinx.fem.petsc.assemble_matrix(matrix, form, bcs, 1.0)  # positional: diagonal= became diag=


def assemble_scalar(form, comm) -> float:
    from mpi4py import MPI

    return comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)


def dirichletbc(value_function, dofs, space):
    """A Dirichlet condition on (a sub-space of) a mixed space from a Function's values."""
    return dolfinx.fem.dirichletbc(value_function, dofs, space)


def interpolate_expression(function, expression, cells=None) -> None:
    """function <- interpolation of a UFL expression at its element's points (on `cells`)."""
    compiled = dolfinx.fem.Expression(expression, interpolation_points(function.function_space))
    if cells is None:
        function.interpolate(compiled)
    else:
        function.interpolate(compiled, cells)


def geometry_degree(mesh) -> int:
    """Polynomial degree of the mesh's coordinate element (1 or 2)."""
    cmap = mesh.geometry.cmaps[0] if hasattr(mesh.geometry, "cmaps") else mesh.geometry.cmap
    return int(cmap.degree)


def locate_dofs_topological(spaces, dim: int, entities):
    return dolfinx.fem.locate_dofs_topological(spaces, dim, entities)


# ---------------------------------------------------------------- DOLFINx's own Newton solver


def stock_newton_solver(residual_form, u, bcs, comm):
    """DOLFINx's own Newton solver for F(u) = 0 under Dirichlet `bcs` (the benchmark's peer):
    (problem, solver); `solver.solve(u)` returns (iterations, converged) and raises RuntimeError
    when it does not converge.

    0.5-0.9: dolfinx.fem.petsc.NonlinearProblem + dolfinx.nls.petsc.NewtonSolver. 0.10+: the same
    two classes, the problem renamed NewtonSolverNonlinearProblem (the name NonlinearProblem now
    wraps PETSc SNES) and both deprecated; their warnings are silenced, since the peer is exactly
    this solver on every version.
    """
    import warnings

    import dolfinx.nls.petsc

    problem_class = getattr(dolfinx.fem.petsc, "NewtonSolverNonlinearProblem", None)
    if problem_class is None:  # before 0.10
        problem_class = dolfinx.fem.petsc.NonlinearProblem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        problem = problem_class(residual_form, u, bcs=list(bcs))
        solver = dolfinx.nls.petsc.NewtonSolver(comm, problem)
    return problem, solver
