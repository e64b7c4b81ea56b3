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

# FFCx installs a root log handler (logging.basicConfig) and its JIT compiles through
# distutils with verbose=True, which lowers the root level to INFO: every first solve of a new
# form would print compiler command lines. Keep that handler to warnings and above.
for _handler in logging.getLogger().handlers:
    _handler.setLevel(logging.WARNING)


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
    dofmap = mesh.geometry.dofmap
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

        cell = mesh.basix_cell() if hasattr(mesh, "basix_cell") else mesh.topology.cell_name()
        scalar = basix.ufl.element("Lagrange", cell, degree)
        element = scalar if components == 1 else basix.ufl.mixed_element([scalar] * components)
        return dolfinx.fem.functionspace(mesh, element)
    scalar = ufl.FiniteElement("Lagrange", mesh.ufl_cell(), degree)
    element = scalar if components == 1 else ufl.MixedElement([scalar] * components)
    return dolfinx.fem.FunctionSpace(mesh, element)


def dg0_space(mesh):
    """Piecewise constants (one value per cell)."""
    if HAS_BASIX_UFL:
        import basix.ufl

        cell = mesh.basix_cell() if hasattr(mesh, "basix_cell") else mesh.topology.cell_name()
        return dolfinx.fem.functionspace(mesh, basix.ufl.element("DG", cell, 0))
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


def create_form(expression):
    return dolfinx.fem.form(expression)


def apply_lifting(vector, forms, bcs, x0, scale: float) -> None:
    """b -= scale * A (g - x0) for the Dirichlet rows ('scale' became 'alpha' in 0.9)."""
    try:
        dolfinx.fem.petsc.apply_lifting(vector, forms, bcs=bcs, x0=x0, alpha=scale)
    except TypeError:
        dolfinx.fem.petsc.apply_lifting(vector, forms, bcs=bcs, x0=x0, scale=scale)


def set_bc(vector, bcs, x0=None, scale: float = 1.0) -> None:
    """b[bc rows] = scale * (g - x0) ('scale' became 'alpha' in 0.9; 0.10 wants bcs0)."""
    try:
        dolfinx.fem.petsc.set_bc(vector, bcs, x0, alpha=scale)
    except TypeError:
        dolfinx.fem.petsc.set_bc(vector, bcs, x0, scale)


def locate_dofs_topological(spaces, dim: int, entities):
    return dolfinx.fem.locate_dofs_topological(spaces, dim, entities)
