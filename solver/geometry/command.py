"""`filatherm mesh CONFIG`: meshes/<name>.msh and .xdmf (+ .json names and summary, --plot PNG)."""

from __future__ import annotations

import argparse
from pathlib import Path

OUTPUT_HELP = "write DIR/<name>.msh, .xdmf, .json instead of meshes/<name>.*"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="YAML config file")
    parser.add_argument("--plot", action="store_true", help="also write <name>.png (regions, filament zoom)")


def run(args: argparse.Namespace) -> int:
    from mpi4py import MPI

    from solver.cli import load_config_from_args, refuse_overwrite, say
    from solver.fem.mesh import build_mesh, mesh_summary, write_mesh_files
    from solver.io import ensure_dir

    config = load_config_from_args(args)
    if args.plot and config.geometry.is_3d:
        from solver.errors import InputError

        raise InputError(f"--plot: draws the section of an axisymmetric cell; open the .xdmf of this "
                         f"{config.geometry.kind} mesh in ParaView")
    out_dir = ensure_dir(Path(args.output) if args.output else Path("meshes"))
    stem = out_dir / config.name
    refuse_overwrite(stem.with_suffix(".msh"), args.force)
    comm = MPI.COMM_WORLD
    cell_mesh = build_mesh(config, comm, msh_path=stem.with_suffix(".msh"), keep_plot_data=args.plot)
    summary = mesh_summary(cell_mesh, config)
    write_mesh_files(cell_mesh, stem.with_suffix(".xdmf"), summary)
    if args.plot and comm.rank == 0:
        from solver.geometry.plot import plot_mesh

        plot_mesh(stem.with_suffix(".png"), config, *cell_mesh.plot_data,
                  [region.name for region in cell_mesh.regions])
    say(format_summary(summary, stem), args.quiet)
    return 0


def format_summary(summary: dict, stem: Path) -> str:
    unit = summary["units"]
    with_area = all("area" in region for region in summary["regions"].values())  # 2D sections only
    area_header = f"{'area [' + unit + '^2]':>16}" if with_area else ""
    lines = [
        f"mesh {stem}.msh / .xdmf: {summary['cells']} cells, {summary['vertices']} vertices, "
        f"element size {summary['h_min']:.3g} to {summary['h_max']:.3g} {unit}",
        f"  {'region':<24}{'material':<12}{area_header}{'volume [' + unit + '^3]':>18}",
    ]
    for name, region in summary["regions"].items():
        area = f"{region['area']:>16.6g}" if with_area else ""
        lines.append(f"  {name:<24}{region['material']:<12}{area}{region['volume']:>18.6g}")
    lines.append("  facet groups: " + ", ".join(summary["facet_groups"]))
    return "\n".join(lines)
