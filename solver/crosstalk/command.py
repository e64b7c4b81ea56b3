"""`filatherm crosstalk CONFIG [--model RESULTS_DIR]` -> RESULTS_DIR/crosstalk/: crosstalk.json, .png.

CONFIG is a tile (geometry.kind: tile) with a `crosstalk:` section; RESULTS_DIR (default
results/<crosstalk.device>/) holds model/compact_model.json of the matching axisymmetric cell,
and the outputs go beside it (so that `filatherm report RESULTS_DIR` shows them) unless
--output is given. Run it under mpirun to solve each case on several ranks. The solved cases
(crosstalk/cases.json) are reused while their fingerprint holds (solver.crosstalk.study).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="YAML config of a tile (geometry.kind: tile)")
    parser.add_argument("--model", metavar="RESULTS_DIR", help="results directory (or compact_model.json) of the "
                        "matching axisymmetric cell (default: results/<crosstalk.device>/)")


def run(args: argparse.Namespace) -> int:
    from mpi4py import MPI

    from solver.cli import load_config_from_args, refuse_overwrite, say
    from solver.compact.model import CompactModel
    from solver.crosstalk.study import cases_document, model_location, reusable_cases, run_crosstalk
    from solver.io import ensure_dir, write_json_atomic

    config = load_config_from_args(args)
    model_path, root = model_location(Path(args.model) if args.model else Path("results") / config.crosstalk.device)
    out = (Path(args.output) if args.output else root) / "crosstalk"
    refuse_overwrite(out / "crosstalk.json", args.force)
    model = CompactModel.load(model_path)
    comm = MPI.COMM_WORLD
    progress = lambda text: say(text, args.quiet)  # noqa: E731
    previous = reusable_cases(config, model, out / "cases.json") if comm.rank == 0 else None
    result = run_crosstalk(config, model, comm, progress, comm.bcast(previous, root=0))
    if comm.rank == 0:
        from solver.crosstalk.outputs import write_outputs

        if previous is None:  # kept before anything derived from them can fail
            write_json_atomic(ensure_dir(out) / "cases.json", cases_document(result))
        files = write_outputs(result, model_path, ensure_dir(out))
        say("wrote " + ", ".join(str(f) for f in files), args.quiet)
    comm.barrier()
    return 0 if all(c.converged for p in result.pitches for c in p.cases) else 1
