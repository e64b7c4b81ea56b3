"""The sweep store: `sweep.h5` (+ `sweep.csv`), one row per solved point.

Durability comes from an append-only journal (`.sweep.jsonl` beside the store): each row is
one JSON line, flushed and fsynced as soon as its point completes, so a crash loses only the
points in flight and a line torn by a kill is detected and dropped. `sweep.h5` and
`sweep.csv` are views of the journal, rewritten atomically (temporary name, then rename), so a
reader never sees a half-written file. HDF5 itself is not crash-safe; renaming a complete file
is.

Layout of sweep.h5 (format "filatherm-sweep", version 1): one 1-D dataset per column, all of
the same length. Flat column names are HDF5 paths: QoIs at the root (`current`, `T_max`, ...),
probe QoIs under `probes/<probe>/<stat>`, swept parameters under `parameters/<key path>`.
Every dataset carries `units` and `description` attributes, and every sweep.csv header cell is
`name [unit]`, both from the QoI table (solver.quantities; docs/outputs.md). Root attributes:
`format`, `version`, `config` (resolved YAML), `config_hash`, `versions` (JSON), `rows`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from solver import quantities
from solver.errors import InputError
from solver.io import atomic_path, ensure_dir, write_text_atomic

FORMAT = "filatherm-sweep"
VERSION = 1

STRING_COLUMNS = quantities.TEXT_COLUMNS
ORDER_COLUMN = "point_index"  # position in the sweep plan: the table's row order
# what every solved row must carry, finite, for the stages downstream to trust it
REQUIRED_NUMBERS = quantities.REQUIRED
# columns in this order first, the rest (probes, parameters, extras) sorted after them
LEADING_COLUMNS = STRING_COLUMNS + (ORDER_COLUMN,) + quantities.COLUMN_ORDER
NESTED = ("probes",)  # record keys whose values are per-probe mappings


def flatten_record(record: dict, parameters: Optional[dict] = None) -> dict:
    """A QoI record (qoi.json layout) plus swept parameters -> flat column -> value. Every key
    must be a registered quantity (solver.quantities): nothing is dropped silently."""
    row = {}
    for key, value in record.items():
        if key in NESTED:
            continue
        quantities.describe(key)  # KeyError names an unregistered quantity
        row[key] = value
    for probe, stats in (record.get("probes") or {}).items():
        for stat, value in stats.items():
            row[f"probes/{probe}/{stat}"] = value
    for path, value in (parameters or {}).items():
        row[f"parameters/{path}"] = value
    return row


@dataclass
class SweepTable:
    """A sweep read back: column name -> numpy array, and the store's metadata."""

    columns: dict[str, np.ndarray]
    config_yaml: str
    config_hash: str
    versions: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.columns.get("point_id", ()))

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    @property
    def parameter_names(self) -> list[str]:
        return [c[len("parameters/"):] for c in self.columns if c.startswith("parameters/")]


def _column_array(values: list) -> np.ndarray:
    if all(isinstance(v, (bool, int, float, np.number)) or v is None for v in values):
        return np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    return np.array(["" if v is None else str(v) for v in values], dtype=object)


def rows_to_columns(rows: list[dict]) -> dict[str, np.ndarray]:
    """Columns of rows in plan order (completion order differs with the number of workers)."""
    rows = sorted(rows, key=lambda row: row.get(ORDER_COLUMN, 0))
    names: list[str] = []
    for row in rows:
        names.extend(k for k in row if k not in names)
    ordered = [n for n in LEADING_COLUMNS if n in names]
    ordered += sorted(n for n in names if n not in ordered)
    return {name: _column_array([row.get(name) for row in rows]) for name in ordered}


def write_h5(path: Path, columns: dict[str, np.ndarray], config_yaml: str, config_hash: str,
             versions: dict) -> None:
    """Write a complete sweep.h5 atomically."""
    import h5py

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            h5.attrs["format"] = FORMAT
            h5.attrs["version"] = VERSION
            h5.attrs["config"] = config_yaml
            h5.attrs["config_hash"] = config_hash
            h5.attrs["versions"] = json.dumps(versions)
            h5.attrs["rows"] = len(next(iter(columns.values()), ()))
            for name, values in columns.items():
                if values.dtype == object:
                    dataset = h5.create_dataset(name, data=values.astype(str).tolist(),
                                                dtype=h5py.string_dtype("utf-8"))
                else:
                    dataset = h5.create_dataset(name, data=values)
                quantity = quantities.describe(name)
                dataset.attrs["units"] = quantity.unit
                dataset.attrs["description"] = quantity.description


def write_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    names = list(columns)
    writer.writerow([f"{name} [{quantities.describe(name).unit}]" for name in names])
    n = len(columns[names[0]]) if names else 0
    for i in range(n):
        writer.writerow([_csv_value(columns[name][i]) for name in names])
    write_text_atomic(path, buffer.getvalue())


def _csv_value(value: Any) -> str:
    if isinstance(value, float):  # float(): numpy 2's repr of np.float64(1.5) is "np.float64(1.5)"
        return "" if math.isnan(value) else repr(float(value))
    return str(value)


def read_sweep(path: str | Path) -> SweepTable:
    """Read a sweep.h5; anything that is not a complete store of this format is bad input."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such sweep store")
    try:
        with h5py.File(path, "r") as h5:
            fmt, version = h5.attrs.get("format"), h5.attrs.get("version")
            if fmt != FORMAT:
                raise InputError(f"{path}: not a filatherm sweep store (format {fmt!r})")
            if version != VERSION:
                raise InputError(f"{path}: sweep store version {version}, this filatherm reads {VERSION}")
            rows = int(h5.attrs["rows"])
            columns: dict[str, np.ndarray] = {}

            def visit(name: str, obj: Any) -> None:
                if isinstance(obj, h5py.Dataset):
                    data = obj[...]
                    if data.dtype.kind in ("S", "O"):
                        data = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in data],
                                        dtype=object)
                    columns[name] = data

            h5.visititems(visit)
            meta = (str(h5.attrs["config"]), str(h5.attrs["config_hash"]),
                    json.loads(h5.attrs["versions"]))
    except InputError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as err:
        raise InputError(f"{path}: unreadable sweep store ({err})") from None
    for name, values in columns.items():
        if len(values) != rows:
            raise InputError(f"{path}: column {name} has {len(values)} rows, expected {rows}")
    if rows:
        for name in STRING_COLUMNS + REQUIRED_NUMBERS:
            if name not in columns:
                raise InputError(f"{path}: missing column {name}")
        ok = columns["status"] == "ok"
        for name in REQUIRED_NUMBERS:
            if columns[name].dtype == object or not np.all(np.isfinite(columns[name][ok])):
                raise InputError(f"{path}: column {name} has non-numeric or non-finite values in solved rows")
    ordered = {n: columns[n] for n in LEADING_COLUMNS if n in columns}
    ordered.update({n: v for n, v in sorted(columns.items()) if n not in ordered})
    return SweepTable(ordered, *meta)


class SweepWriter:
    """Appends rows durably and keeps sweep.h5/sweep.csv up to date (one writer rank only)."""

    JOURNAL = ".sweep.jsonl"

    def __init__(self, directory: str | Path, config_yaml: str, config_hash: str, versions: dict,
                 min_rewrite_interval: float = 0.5):
        self.directory = ensure_dir(directory)
        self.h5_path = self.directory / "sweep.h5"
        self.csv_path = self.directory / "sweep.csv"
        self.journal_path = self.directory / self.JOURNAL
        self.config_yaml, self.config_hash, self.versions = config_yaml, config_hash, versions
        self.rows: list[dict] = []
        self.torn_lines = 0
        self._interval = min_rewrite_interval
        self._last_rewrite = 0.0
        self._dirty = False
        self._journal = None

    # -- opening -------------------------------------------------------------------------

    def start(self, resume: bool, force: bool) -> None:
        """Begin a new store or continue the stored one (`resume`)."""
        existing = self.journal_path.exists() or self.h5_path.exists()
        if existing and not resume and not force:
            raise InputError(
                f"{self.directory}: holds a sweep already; use --resume to continue it or --force to start over"
            )
        if resume and existing:
            self.rows = self._load_existing(force)
        else:
            self.rows = []
        self._journal = open(self.journal_path, "w", encoding="utf-8")
        self._write_line({"header": {"format": FORMAT, "version": VERSION,
                                     "config_hash": self.config_hash}})
        for row in self.rows:
            self._write_line(row)
        self._rewrite(force=True)

    def _load_existing(self, force: bool) -> list[dict]:
        if self.journal_path.exists():
            header, rows, self.torn_lines = read_journal(self.journal_path)
            stored_hash = header.get("config_hash")
        else:
            table = read_sweep(self.h5_path)
            stored_hash = table.config_hash
            rows = [{k: _py(v[i]) for k, v in table.columns.items()} for i in range(len(table))]
        if stored_hash != self.config_hash and not force:
            raise InputError(
                f"{self.directory}: stored sweep has config hash {stored_hash}, this config is "
                f"{self.config_hash}; refusing to mix them (use --force to start over)"
            )
        if stored_hash != self.config_hash:
            return []
        return rows

    # -- writing -------------------------------------------------------------------------

    @property
    def stored_ids(self) -> set[str]:
        return {row["point_id"] for row in self.rows}

    def append(self, row: dict) -> None:
        self.rows.append(row)
        self._write_line(row)
        self._rewrite()

    def _write_line(self, data: dict) -> None:
        assert self._journal is not None
        self._journal.write(json.dumps(data, default=_py) + "\n")
        self._journal.flush()
        os.fsync(self._journal.fileno())

    def _rewrite(self, force: bool = False) -> None:
        self._dirty = True
        now = time.monotonic()
        if not force and now - self._last_rewrite < self._interval:
            return
        columns = rows_to_columns(self.rows)
        if not columns:
            columns = {"point_id": np.array([], dtype=object)}
        write_h5(self.h5_path, columns, self.config_yaml, self.config_hash, self.versions)
        write_csv(self.csv_path, columns)
        self._last_rewrite = time.monotonic()
        self._dirty = False

    def close(self) -> None:
        """Write the final views; the journal stays so that --resume works after a crash."""
        if self._journal is not None:
            if self._dirty:
                self._rewrite(force=True)
            self._journal.close()
            self._journal = None


def read_journal(path: Path) -> tuple[dict, list[dict], int]:
    """(header, rows, torn line count) of a journal; a torn last line is dropped."""
    header: dict = {}
    rows: list[dict] = []
    torn = 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.endswith("\n"):
                torn += 1
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                torn += 1
                continue
            if "header" in data:
                header = data["header"]
            elif isinstance(data, dict) and "point_id" in data:
                rows.append(data)
    return header, rows, torn


def _py(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def merge_tables(tables: Iterable[SweepTable]) -> tuple[list[dict], SweepTable]:
    """Rows of several stores of the same config, each point once (shards -> one store)."""
    tables = list(tables)
    if not tables:
        raise InputError("merge: no stores given")
    hashes = {t.config_hash for t in tables}
    if len(hashes) > 1:
        raise InputError(f"merge: stores come from different configs (hashes {sorted(hashes)})")
    rows: dict[str, dict] = {}
    for table in tables:
        for i in range(len(table)):
            row = {k: _py(v[i]) for k, v in table.columns.items()}
            rows.setdefault(row["point_id"], row)
    return list(rows.values()), tables[0]
