"""The cell mesh: exact region areas and volumes, named groups on their interfaces, MPI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import DEFAULT_CONFIG, run_cli, run_mpi, write_yaml
from solver.config import load_config, validate_config
from solver.errors import InputError

dolfinx = pytest.importorskip("dolfinx")
from solver.fem import compat  # noqa: E402
from solver.fem.mesh import build_mesh, mesh_summary  # noqa: E402


def cell(filament: dict | None, cmo_filament: dict | None = None, probes: dict | None = None) -> dict:
    """A small four-layer cell (nm) with a coarse mesh."""
    layers = [
        {"name": "bottom_electrode", "material": "TiN", "thickness": 20},
        {"name": "oxide", "material": "HfOx", "thickness": 5},
        {"name": "cmo", "material": "TaOx", "thickness": 10},
        {"name": "top_electrode", "material": "TiN", "thickness": 20},
    ]
    if filament:
        layers[1]["filament"] = {"material": "filament", **filament}
    if cmo_filament:
        layers[2]["filament"] = {"material": "filament", **cmo_filament}
    return {"name": "geom", "units": "nm", "geometry": {"radius": 40, "layers": layers},
            "mesh": {"size": 4, "filament_size": 0.5, "refine_distance": 8},
            "probes": probes or {}}


def frustum_volume(r0: float, r1: float, h: float) -> float:
    return math.pi * h * (r0 * r0 + r0 * r1 + r1 * r1) / 3


GEOMETRIES = {
    "cylinder": ({"radius": 4}, 4, 4, 5),
    "cone": ({"radius": 5, "top_radius": 3}, 5, 3, 5),
    "gap": ({"radius": 5, "top_radius": 3, "height": 3.5}, 5, 3, 3.5),
}


@pytest.mark.parametrize("kind", list(GEOMETRIES))
def test_region_areas_and_volumes_are_exact(kind):
    filament, r0, r1, h = GEOMETRIES[kind]
    config = validate_config(cell(filament, probes={"p": {"layer": "cmo", "r_max": 6, "z_min": 0, "z_max": 2}}))
    summary = mesh_summary(build_mesh(config), config)
    R = 40.0
    fil_area = h * (r0 + r1) / 2
    fil_volume = frustum_volume(r0, r1, h)
    expected = {
        "bottom_electrode": (R * 20, math.pi * R**2 * 20),
        "oxide": (R * 5 - fil_area, math.pi * R**2 * 5 - fil_volume),
        "oxide_filament": (fil_area, fil_volume),
        "cmo": (R * 10, math.pi * R**2 * 10),
        "top_electrode": (R * 20, math.pi * R**2 * 20),
    }
    assert set(summary["regions"]) == set(expected)
    for name, (area, volume) in expected.items():
        got = summary["regions"][name]
        assert got["area"] == pytest.approx(area, rel=1e-10), name
        assert got["volume"] == pytest.approx(volume, rel=1e-10), name


def _facet_midpoints(cell_mesh, name: str) -> np.ndarray:
    mesh = cell_mesh.mesh
    mesh.topology.create_connectivity(1, 0)
    facets = cell_mesh.facets(name)
    conn = mesh.topology.connectivity(1, 0)
    vertex_x = _vertex_coordinates(mesh)
    return np.array([vertex_x[conn.links(f)].mean(axis=0) for f in facets]) / cell_mesh.length_scale


def _vertex_coordinates(mesh) -> np.ndarray:
    """Coordinates indexed by topological vertex (geometry nodes may be numbered differently)."""
    mesh.topology.create_connectivity(2, 0)
    c2v = mesh.topology.connectivity(2, 0)
    corners = compat.cell_vertex_coordinates(mesh)
    num_vertices = mesh.topology.index_map(0).size_local + mesh.topology.index_map(0).num_ghosts
    out = np.zeros((num_vertices, 3))
    for c in range(len(corners)):
        out[c2v.links(c)] = corners[c]
    return out


def test_every_group_is_found_by_name_and_interfaces_lie_on_them():
    config = validate_config(cell({"radius": 5, "top_radius": 3, "height": 3.5},
                                  cmo_filament={"radius": 2, "height": 4}))
    cell_mesh = build_mesh(config)
    expected_cells = {"bottom_electrode", "oxide", "oxide_filament", "cmo", "cmo_filament", "top_electrode"}
    assert set(cell_mesh.cell_names) == expected_cells
    for name in expected_cells:
        assert np.count_nonzero(cell_mesh.cell_tags.values == cell_mesh.cell_tag(name)) > 0, name
    expected_facets = {
        "bottom": lambda r, z: np.allclose(z, 0),
        "top": lambda r, z: np.allclose(z, 55),
        "outer": lambda r, z: np.allclose(r, 40),
        "axis": lambda r, z: np.allclose(r, 0),
        "bottom_electrode__oxide": lambda r, z: np.allclose(z, 20) and np.all(r >= 5 - 1e-9),
        "bottom_electrode__oxide_filament": lambda r, z: np.allclose(z, 20) and np.all(r <= 5 + 1e-9),
        # cone side: r = 5 - 2 (z - 20) / 3.5
        "oxide_filament_wall": lambda r, z: np.allclose(r, 5 - 2 * (z - 20) / 3.5),
        "oxide_filament_top": lambda r, z: np.allclose(z, 23.5) and np.all(r <= 3 + 1e-9),
        "oxide__cmo": lambda r, z: np.allclose(z, 25) and np.all(r >= 2 - 1e-9),
        "oxide__cmo_filament": lambda r, z: np.allclose(z, 25) and np.all(r <= 2 + 1e-9),
        "cmo_filament_wall": lambda r, z: np.allclose(r, 2) and np.all((z >= 25) & (z <= 29)),
        "cmo_filament_top": lambda r, z: np.allclose(z, 29) and np.all(r <= 2 + 1e-9),
        "cmo__top_electrode": lambda r, z: np.allclose(z, 35),
    }
    assert set(cell_mesh.facet_names) == set(expected_facets)
    for name, on_interface in expected_facets.items():
        mid = _facet_midpoints(cell_mesh, name)
        assert len(mid) > 0, name
        assert on_interface(mid[:, 0], mid[:, 1]), name


def test_probe_cells_are_exactly_the_probe_box():
    probe = {"layer": "cmo", "r_min": 1, "r_max": 6, "z_min": 0.5, "z_max": 2}
    config = validate_config(cell({"radius": 4}, probes={"p": probe}))
    cell_mesh = build_mesh(config)
    import dolfinx.fem
    import ufl

    indicator = dolfinx.fem.Function(compat.dg0_space(cell_mesh.mesh))
    indicator.x.array[cell_mesh.probe_cells["p"]] = 1.0
    area = dolfinx.fem.assemble_scalar(dolfinx.fem.form(indicator * ufl.dx))
    assert area / cell_mesh.length_scale**2 == pytest.approx(5 * 1.5, rel=1e-10)


def test_default_mesh_has_at_least_20000_cells():
    config = load_config(DEFAULT_CONFIG)
    assert build_mesh(config).num_cells_global() >= 20_000


def test_gmsh_failure_names_the_region(monkeypatch):
    import gmsh

    def broken(*args, **kwargs):
        raise Exception("BRep_API: command not done")

    monkeypatch.setattr(gmsh.model.occ, "addPlaneSurface", broken)
    with pytest.raises(InputError, match="filament oxide_filament: BRep_API"):
        build_mesh(validate_config(cell({"radius": 4})))


@pytest.mark.mpi
def test_mesh_has_the_same_global_cell_count_on_two_ranks(tmp_path):
    cfg = write_yaml(tmp_path / "geom.yaml", cell({"radius": 5, "top_radius": 3}))
    counts = []
    for ranks in (1, 2):
        out = tmp_path / f"n{ranks}"
        result = run_mpi(ranks, "mesh", str(cfg), "--output", str(out))
        assert result.returncode == 0, result.stderr
        counts.append(json.loads((out / "geom.json").read_text())["cells"])
    assert counts[0] == counts[1] > 0


def test_mesh_command_writes_msh_xdmf_summary_and_plot(tmp_path):
    cfg = write_yaml(tmp_path / "geom.yaml", cell({"radius": 5, "top_radius": 3}))
    result = run_cli("mesh", str(cfg), "--output", str(tmp_path / "m"), "--plot")
    assert result.returncode == 0, result.stderr
    for suffix in (".msh", ".xdmf", ".h5", ".json", ".png"):
        assert (tmp_path / "m" / f"geom{suffix}").stat().st_size > 0
    assert "oxide_filament" in result.stdout and "cells" in result.stdout
    # the .msh is in metres: every node inside the 40 nm x 55 nm cell
    import meshio

    points = meshio.read(tmp_path / "m" / "geom.msh").points
    assert points[:, 0].max() == pytest.approx(40e-9) and points[:, 1].max() == pytest.approx(55e-9)


def test_mesh_command_rejects_degenerate_geometry(tmp_path):
    data = cell({"radius": 5, "top_radius": -1})
    result = run_cli("mesh", str(write_yaml(tmp_path / "bad.yaml", data)), "--output", str(tmp_path))
    assert result.returncode == 2
    assert "geometry.layers[1].filament.top_radius" in result.stderr
    assert result.stderr.count("\n") == 1
