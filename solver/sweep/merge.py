"""Merging the stores of a sharded sweep into one sweep.h5 (+ sweep.csv and its journal)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from solver.errors import InputError


def merge_stores(stores: list[str | Path], output: Optional[str | Path] = None, force: bool = False) -> dict:
    """Merge shard directories (or their sweep.h5 files) into OUTPUT/sweep.h5 (default
    results/<name>/); an existing store is replaced only with `force`. The merged store gets
    a journal of all its rows (so that `sweep --resume` there continues it, solving only what
    is missing) and is written under the store lock. Returns the output directory, the
    counts, and `missing`: the points of the config's plan that no store holds (a shard that
    was left out or has not finished)."""
    from solver.config import validate_config
    from solver.config.yamlio import parse_yaml
    from solver.io import ensure_dir
    from solver.sweep.journal import write_journal
    from solver.sweep.lock import StoreLock
    from solver.sweep.plan import expand
    from solver.sweep.store import (SweepWriter, merge_tables, read_sweep, rows_to_columns, table_units, write_csv,
                                    write_h5)

    paths = [Path(p) / "sweep.h5" if Path(p).is_dir() else Path(p) for p in stores]
    rows, first = merge_tables(read_sweep(p) for p in paths)
    config = validate_config(parse_yaml(first.config_yaml, str(paths[0])), str(paths[0]))
    out = Path(output) if output else Path("results") / config.name
    if ((out / "sweep.h5").exists() or (out / SweepWriter.JOURNAL).exists()) and not force:
        raise InputError(f"{out}: holds a sweep store already; use --force to replace it")
    planned = {p.point_id for p in expand(config)}
    held = {row["point_id"] for row in rows}
    ensure_dir(out)
    with StoreLock(out):
        columns = rows_to_columns(rows)
        write_journal(out / SweepWriter.JOURNAL, first.config_hash, sorted(rows, key=lambda r: r.get("point_index", 0)))
        units = table_units(first.config_yaml)
        write_h5(out / "sweep.h5", columns, first.config_yaml, first.config_hash, first.versions, first.study, units)
        write_csv(out / "sweep.csv", columns, units)
    failed = sum(1 for row in rows if row.get("status") != "ok")
    return {"output": out, "stores": len(paths), "points": len(rows), "failed": failed,
            "missing": len(planned - held), "planned": len(planned), "shards": _shard_note(paths)}


def _shard_note(paths: list[Path]) -> str:
    """Which of N shards were given, from the shard-<i>-of-<N> directory names ("" if none)."""
    found: dict[int, set[int]] = {}
    for path in paths:
        match = re.search(r"shard-(\d+)-of-(\d+)", str(path))
        if match:
            found.setdefault(int(match.group(2)), set()).add(int(match.group(1)))
    notes = []
    for total, present in found.items():
        absent = sorted(set(range(total)) - present)
        if absent:
            notes.append(f"shard(s) {', '.join(map(str, absent))} of {total} not given")
    return "; ".join(notes)
