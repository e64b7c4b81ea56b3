"""The 3D cell against the axisymmetric solve of the same cell, on meshes of increasing accuracy.

    .venv/bin/python scripts/verify_3d.py [--config configs/static_cell.yaml] [--voltage 1.0] [--quick]

For each mesh level (filament_size, size, refine_distance in the config's units) the config's
cell is solved as geometry.kind: cell3d (3D, iterative solver) and, on the same sizes, as the
axisymmetric cell (which also runs the finer AXISYMMETRIC_ONLY levels: it is cheap); the
reference is the axisymmetric solve on the config's own mesh (the static cell: 0.1 nm at the
filament). Per solve: dofs, current, T_max and the probe's T_mean, their relative
differences to the reference and, per level, 3D over axisymmetric on the same sizes. Each
sequence is extrapolated to h -> 0 (q(h) = q0 + k h^p fitted over its three finest levels),
and the two limits are compared. Printed and written to results/verify_3d/verify_3d.json; the
README's "3D and arrays" section quotes a run of it. --quick: the two coarsest levels.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# (filament_size, size, refine_distance): only the filament size is refined; the far field
# keeps a grading slope of ~0.25 (coarser far fields alone move the 2D T_max by ~1%)
LEVELS = ((1.0, 10.0, 40.0), (0.5, 10.0, 40.0), (0.35, 10.0, 40.0), (0.25, 10.0, 40.0))
AXISYMMETRIC_ONLY = ((0.18, 10.0, 40.0), (0.12, 10.0, 40.0), (0.08, 10.0, 40.0))
KEYS = ("current", "T_max", "T_probe_mean")


def extrapolate(h: list[float], values: list[float]) -> dict:
    """q0, k, p of q(h) = q0 + k h^p through the three finest levels (exact fit)."""
    from scipy.optimize import brentq

    (h1, q1), (h2, q2), (h3, q3) = sorted(zip(h, values))[:3]  # h1 < h2 < h3

    def mismatch(p: float) -> float:
        return (q3 - q2) * (h2**p - h1**p) - (q2 - q1) * (h3**p - h2**p)

    try:
        p = brentq(mismatch, 0.2, 4.0)
    except ValueError:  # not monotone: no extrapolation
        return {"limit": None, "order": None}
    k = (q2 - q1) / (h2**p - h1**p)
    return {"limit": q1 - k * h1**p, "order": p}


def solve(config, voltage: float) -> dict:
    from solver.fem.study import SteadyStudy

    started = time.perf_counter()
    with SteadyStudy(config) as study:
        record = study.solve(voltage)
    probe = next(iter(record["probes"].values()), {})
    return {"dofs": record["dofs"], "status": record["status"], "current": record["current"],
            "T_max": record["T_max"], "T_probe_mean": probe.get("T_mean"),
            "newton_iterations": record["total_newton_iterations"], "wall_s": time.perf_counter() - started}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "static_cell.yaml")
    parser.add_argument("--voltage", type=float, default=1.0, help="drive [V]")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", type=Path, default=ROOT / "results" / "verify_3d" / "verify_3d.json")
    args = parser.parse_args(argv)
    from solver.config import load_config
    from solver.fem.compat import configure
    from solver.io import write_json_atomic

    configure()
    base = load_config(args.config)
    reference = solve(base, args.voltage)
    print(f"reference (axisymmetric, the config's mesh): {reference}", flush=True)
    rows = []
    levels = [(level, ("axisymmetric", "cell3d")) for level in (LEVELS[:2] if args.quick else LEVELS)]
    levels += [] if args.quick else [(level, ("axisymmetric",)) for level in AXISYMMETRIC_ONLY]
    for (fs, size, distance), kinds in levels:
        sizes = [f"mesh.filament_size={fs}", f"mesh.size={size}", f"mesh.refine_distance={distance}"]
        row = {"filament_size": fs, "size": size, "refine_distance": distance}
        for kind in kinds:
            row[kind] = solve(load_config(args.config, sizes + [f"geometry.kind={kind}"]), args.voltage)
            for key in KEYS:
                row[kind][f"{key}_vs_reference"] = row[kind][key] / reference[key] - 1.0
            print(f"{fs:>5} {size:>5} {distance:>5} {kind:<13} " + "  ".join(
                f"{k} {row[kind][k]:.6g}" for k in ("dofs", "current", "T_max", "T_probe_mean",
                                                    "current_vs_reference", "T_max_vs_reference",
                                                    "T_probe_mean_vs_reference", "wall_s")), flush=True)
        if "cell3d" in row:
            row["cell3d_vs_axisymmetric"] = {key: row["cell3d"][key] / row["axisymmetric"][key] - 1.0 for key in KEYS}
            print(f"{'':>17} 3D / axisymmetric - 1: " + "  ".join(
                f"{k} {v:+.4f}" for k, v in row["cell3d_vs_axisymmetric"].items()), flush=True)
        rows.append(row)
        write_json_atomic(args.output, {"config": str(args.config), "voltage": args.voltage, "units": base.units,
                                        "reference": reference, "levels": rows})  # so far
    limits = {}
    if not args.quick:
        for kind in ("axisymmetric", "cell3d"):
            solved = [r for r in rows if kind in r]
            limits[kind] = {key: extrapolate([r["filament_size"] for r in solved], [r[kind][key] for r in solved])
                            for key in KEYS}
        limits["cell3d_vs_axisymmetric"] = {
            key: (limits["cell3d"][key]["limit"] / limits["axisymmetric"][key]["limit"] - 1.0
                  if limits["cell3d"][key]["limit"] and limits["axisymmetric"][key]["limit"] else None)
            for key in KEYS}
        print(f"h -> 0: {limits}", flush=True)
    write_json_atomic(args.output, {"config": str(args.config), "voltage": args.voltage, "units": base.units,
                                    "reference": reference, "levels": rows, "extrapolated": limits})
    print(f"-> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
