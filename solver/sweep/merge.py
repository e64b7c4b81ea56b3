"""Merging the stores of a sharded sweep into one sweep.h5 (+ sweep.csv)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from solver.errors import InputError


def merge_stores(stores: list[str | Path], output: Optional[str | Path] = None, force: bool = False) -> dict:
    """Merge shard directories (or their sweep.h5 files) into OUTPUT/sweep.h5 (default
    results/<name>/); an existing store is replaced only with `force`. Returns the output
    directory and the counts."""
    from solver.config import validate_config
    from solver.config.yamlio import parse_yaml
    from solver.sweep.store import merge_tables, read_sweep, rows_to_columns, write_csv, write_h5

    paths = [Path(p) / "sweep.h5" if Path(p).is_dir() else Path(p) for p in stores]
    rows, first = merge_tables(read_sweep(p) for p in paths)
    config = validate_config(parse_yaml(first.config_yaml, str(paths[0])), str(paths[0]))
    out = Path(output) if output else Path("results") / config.name
    if (out / "sweep.h5").exists() and not force:
        raise InputError(f"{out / 'sweep.h5'}: exists; use --force to overwrite it")
    columns = rows_to_columns(rows)
    write_h5(out / "sweep.h5", columns, first.config_yaml, first.config_hash, first.versions)
    write_csv(out / "sweep.csv", columns)
    failed = sum(1 for row in rows if row.get("status") != "ok")
    return {"output": out, "stores": len(paths), "points": len(rows), "failed": failed}
