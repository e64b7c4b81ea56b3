"""The sweep store: `sweep.h5` (+ `sweep.csv`), one row per solved point.

Durability comes from an append-only journal (`.sweep.jsonl` beside the store, format and
checks in solver.sweep.journal): each row is one checked JSON line, flushed and fsynced as soon
as its point completes, so a crash loses only the points in flight and a line torn by a kill,
damaged or repeated is detected and dropped. A resume appends; it never rewrites what is stored.
One process writes a store at a time (solver.sweep.lock). `sweep.h5` and `sweep.csv` are views of
the journal, rewritten atomically (temporary name, then rename), so a reader never sees a
half-written file; HDF5 builds the file in memory, so a full disk is a clean error.

Layout of sweep.h5 (format "filatherm-sweep", version 1): one 1-D dataset per column, all of
the same length. Flat column names are HDF5 paths: QoIs at the root (`current`, `T_max`, ...),
probe QoIs under `probes/<probe>/<stat>`, swept parameters under `parameters/<key path>`.
Every dataset carries `units` and `description` attributes, and every sweep.csv header cell is
`name [unit]`, both from the QoI table (solver.quantities; docs/outputs.md). Root attributes:
`format`, `version`, `config` (resolved YAML), `config_hash`, `versions` (JSON), `rows`,
`study` (steady | transient), `checksum`. Reading never trusts the file (`read_sweep`).
"""
from __future__ import annotations

import csv
import hashlib
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
from solver.errors import ConfigError, FilathermError, InputError
from solver.io import atomic_path, ensure_dir, write_text_atomic
from solver.sweep.journal import (
    FORMAT,
    JournalContents,
    JournalFile,
    StoreFull,
    VERSION,
    read_journal,
    refuse_symlink,
    row_line,
    write_journal,
)
from solver.sweep.lock import StoreLock

STORE_VERSION = 1  # of sweep.h5 (the journal's format has its own version)

STRING_COLUMNS = quantities.TEXT_COLUMNS
ORDER_COLUMN = "point_index"  # position in the sweep plan: the table's row order
# what every solved row must carry, finite, for the stages downstream to trust it
REQUIRED_NUMBERS = quantities.REQUIRED
# ... by the study the sweep ran: steady points, or pulse trains (analysis.kind: transient)
REQUIRED_BY_STUDY = {"steady": quantities.REQUIRED, "transient": quantities.REQUIRED_PULSE}
# columns in this order first, the rest (probes, parameters, extras) sorted after them
LEADING_COLUMNS = STRING_COLUMNS + (ORDER_COLUMN, "drive") + quantities.COLUMN_ORDER
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
    study: str = "steady"  # what each row is: a steady point, or a pulse train ("transient")

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
             versions: dict, study: str, units: dict) -> None:
    """Write a complete sweep.h5 atomically. HDF5 builds the file in memory and Python writes
    its bytes: HDF5 crashes (SIGSEGV) when a write fails under it on a full disk, while a
    failed Python write is a clean one-line error that leaves the previous store. `units`:
    table_units(config_yaml), for the swept columns."""
    import h5py

    image = io.BytesIO()
    with h5py.File(image, "w") as h5:
        h5.attrs["format"] = FORMAT
        h5.attrs["version"] = STORE_VERSION
        h5.attrs["config"] = config_yaml
        h5.attrs["config_hash"] = config_hash
        h5.attrs["versions"] = json.dumps(versions)
        h5.attrs["rows"] = len(next(iter(columns.values()), ()))
        h5.attrs["checksum"] = store_checksum(columns)
        h5.attrs["study"] = study
        for name, values in columns.items():
            if values.dtype == object:
                dataset = h5.create_dataset(name, data=values.astype(str).tolist(),
                                            dtype=h5py.string_dtype("utf-8"))
            else:
                dataset = h5.create_dataset(name, data=values)
            quantity = quantities.describe(name, **units)
            dataset.attrs["units"] = quantity.unit
            dataset.attrs["description"] = quantity.description
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(image.getbuffer())
            handle.flush()
            os.fsync(handle.fileno())


def write_csv(path: Path, columns: dict[str, np.ndarray], units: dict) -> None:
    """sweep.csv; `units` (table_units of the store's config) name the swept columns' units."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    names = list(columns)
    writer.writerow([f"{name} [{quantities.describe(name, **units).unit}]" for name in names])
    n = len(columns[names[0]]) if names else 0
    for i in range(n):
        writer.writerow([_csv_value(columns[name][i]) for name in names])
    write_text_atomic(path, buffer.getvalue())


def table_units(config_yaml: str) -> dict:
    """The config's length and state units, so that swept geometry and state columns name
    them (nm, 1/m^3) rather than where they are defined (keyword arguments of
    quantities.describe)."""
    from solver.config.yamlio import parse_yaml

    try:
        return quantities.config_units(parse_yaml(config_yaml))
    except ConfigError:
        return quantities.config_units(None)


def _csv_value(value: Any) -> str:
    if isinstance(value, float):  # float(): numpy 2's repr of np.float64(1.5) is "np.float64(1.5)"
        return "" if math.isnan(value) else repr(float(value))
    return str(value)


MAX_ROWS = 50_000_000          # no plan is allowed more points (solver.sweep.estimate)
MAX_STORE_BYTES = 8 * 2**30    # decoded size of all columns together


def store_checksum(columns: dict[str, np.ndarray]) -> str:
    """SHA-256 (16 hex digits) of every column's name and values: the root attribute
    `checksum`, so a flipped byte in sweep.h5 is found, not read as a wrong number."""
    digest = hashlib.sha256()
    for name in sorted(columns):
        values = columns[name]
        digest.update(name.encode() + b"\0")
        if values.dtype == object or values.dtype.kind in ("S", "U"):
            digest.update("\0".join(str(v) for v in values).encode() + b"\1")
        else:
            digest.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
    return digest.hexdigest()[:16]


def read_sweep(path: str | Path, checked: bool = False) -> SweepTable:
    """Read a sweep.h5; anything that is not a complete, intact store of this format is bad
    input (one line). Unless `checked` (the child process of solver.sweep.h5guard), the file
    is read by a child process first: a damaged file can hang or crash the HDF5 library."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such sweep store")
    if not checked:
        from solver.sweep.h5guard import check_readable

        check_readable(path)
    try:
        with h5py.File(path, "r") as h5:
            fmt, version = h5.attrs.get("format"), h5.attrs.get("version")
            if fmt != FORMAT:
                raise InputError(f"{path}: not a filatherm sweep store (format {fmt!r})")
            if version != STORE_VERSION:
                raise InputError(f"{path}: sweep store version {version}, this filatherm reads {STORE_VERSION}")
            rows = int(h5.attrs["rows"])
            if not 0 <= rows <= MAX_ROWS:
                raise InputError(f"{path}: claims {rows} rows (at most {MAX_ROWS})")
            datasets = _datasets(h5, path, rows)
            columns: dict[str, np.ndarray] = {}
            for name, dataset in datasets.items():
                data = dataset[...]
                if data.dtype.kind in ("S", "O"):
                    data = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in data], dtype=object)
                columns[name] = data
            meta = (str(h5.attrs["config"]), str(h5.attrs["config_hash"]), json.loads(h5.attrs["versions"]),
                    str(h5.attrs.get("study", "steady")))
            stored_checksum = h5.attrs.get("checksum")
            if meta[3] not in REQUIRED_BY_STUDY:
                raise InputError(f"{path}: unknown study {meta[3]!r}")
    except InputError:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError, MemoryError) as err:
        raise InputError(f"{path}: unreadable sweep store ({type(err).__name__}: {str(err)[:200]})") from None
    required = REQUIRED_BY_STUDY[meta[3]]
    if rows:
        for name in STRING_COLUMNS + required:
            if name not in columns:
                raise InputError(f"{path}: missing column {name}")
        ok = columns["status"] == "ok"
        for name in required:
            if columns[name].dtype == object or not np.all(np.isfinite(columns[name][ok])):
                raise InputError(f"{path}: column {name} has non-numeric or non-finite values in solved rows")
    if stored_checksum is not None and str(stored_checksum) != store_checksum(columns):
        raise InputError(f"{path}: the stored values do not match their checksum (a damaged or edited store)")
    ordered = {n: columns[n] for n in LEADING_COLUMNS if n in columns}
    ordered.update({n: v for n, v in sorted(columns.items()) if n not in ordered})
    return SweepTable(ordered, *meta)


def _datasets(h5, path: Path, rows: int) -> dict:
    """The store's datasets, their shapes, types and total size checked from the metadata
    before anything is read (a small file can declare billions of elements)."""
    import h5py

    found: dict = {}

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            found[name] = obj

    h5.visititems(visit)
    total = 0
    for name, dataset in found.items():
        if dataset.shape != (rows,):
            raise InputError(f"{path}: column {name} has shape {dataset.shape}, expected {rows} rows")
        kind = dataset.dtype.kind
        if kind not in ("f", "i", "u", "b", "S", "O"):
            raise InputError(f"{path}: column {name} has an unexpected type ({dataset.dtype})")
        total += rows * (64 if kind in ("S", "O") else 8)  # decoded: float64, or a short string
    if total > MAX_STORE_BYTES:
        raise InputError(f"{path}: the columns would take {total / 2**30:.1f} GiB to read "
                         f"(at most {MAX_STORE_BYTES / 2**30:.0f} GiB)")
    return found


class SweepWriter:
    """Appends rows durably and keeps sweep.h5/sweep.csv up to date (one writer rank only).

    `start` takes the store's lock (solver.sweep.lock), refuses a store it would mix with
    another config's, and on `resume` keeps every stored row: it appends to the journal
    (solver.sweep.journal) and never rewrites it in place."""

    JOURNAL = ".sweep.jsonl"

    def __init__(self, directory: str | Path, config_yaml: str, config_hash: str, versions: dict,
                 min_rewrite_interval: float = 0.5, study: str = "steady"):
        self.directory = ensure_dir(directory)
        self.h5_path = self.directory / "sweep.h5"
        self.csv_path = self.directory / "sweep.csv"
        self.journal_path = self.directory / self.JOURNAL
        self.config_yaml, self.config_hash, self.versions = config_yaml, config_hash, versions
        self.study = study
        self.units = table_units(config_yaml)  # parsed once, not at every rewrite of the views
        self.rows: list[dict] = []
        self.dropped = {"torn": 0, "corrupt": 0, "duplicates": 0}
        self._interval = min_rewrite_interval
        self._last_rewrite = 0.0
        self._dirty = False
        self._journal: Optional[JournalFile] = None
        self._lock = StoreLock(self.directory)

    @property
    def torn_lines(self) -> int:
        return self.dropped["torn"]

    # -- opening -------------------------------------------------------------------------

    def start(self, resume: bool, force: bool) -> None:
        """Begin a new store or continue the stored one (`resume`)."""
        for path in (self.journal_path, self.h5_path, self.csv_path):
            refuse_symlink(path)
        self._lock.acquire()
        try:
            self._open(resume, force)
        except BaseException:
            self._lock.release()
            raise

    def _open(self, resume: bool, force: bool) -> None:
        existing = self.journal_path.exists() or self.h5_path.exists()
        if existing and not resume and not force:
            raise InputError(
                f"{self.directory}: holds a sweep already; use --resume to continue it or --force to start over"
            )
        journal = read_journal(self.journal_path) if self.journal_path.exists() else JournalContents()
        self.dropped = {"torn": journal.torn, "corrupt": journal.corrupt, "duplicates": journal.duplicates}
        appendable = False
        if not (resume and existing):
            self.rows = []
        else:
            stored_hash, rows, appendable = self._stored(journal)
            if stored_hash is not None and stored_hash != self.config_hash:
                if not force:
                    raise InputError(
                        f"{self.directory}: stored sweep has config hash {stored_hash}, this config is "
                        f"{self.config_hash}; refusing to mix them (use --force to start over)"
                    )
                rows, appendable = [], False
            self.rows = rows
        if not appendable:
            write_journal(self.journal_path, self.config_hash, self.rows)
        self._journal = JournalFile(self.journal_path)
        if appendable and not journal.ends_with_newline:
            self._journal.write("\n")  # end a line torn by a kill: the next row starts afresh
        self._rewrite(force=True)

    def _stored(self, journal: JournalContents) -> tuple[Optional[str], list[dict], bool]:
        """(config hash, rows, whether the journal can be appended to) of the stored sweep:
        the journal's rows, plus any that only sweep.h5 holds (a store written by merge)."""
        rows = list(journal.rows)
        stored_hash = journal.config_hash
        appendable = journal.version == VERSION and stored_hash is not None
        if self.h5_path.exists():
            table = read_sweep(self.h5_path)
            if stored_hash is None:
                stored_hash = table.config_hash
            if table.config_hash == stored_hash:
                known = {row["point_id"] for row in rows}
                extra = [row for row in table_rows(table) if row["point_id"] not in known]
                if extra:
                    rows += extra
                    appendable = False
        return stored_hash, rows, appendable

    # -- writing -------------------------------------------------------------------------

    @property
    def stored_ids(self) -> set[str]:
        return {row["point_id"] for row in self.rows}

    def append(self, row: dict) -> None:
        """Make a row durable (journal, fsynced), then refresh the views. A full disk is a
        StoreFull error (exit 2); the rows before it are kept."""
        assert self._journal is not None
        try:
            self._journal.write(row_line(row))
        except FilathermError as err:  # the row is not stored: a torn line is ended on resume
            raise StoreFull(f"{err}; the {len(self.rows)} rows stored are kept in {self.journal_path}") from None
        self.rows.append(row)
        try:
            self._rewrite()
        except FilathermError as err:
            raise StoreFull(f"{err}; the {len(self.rows)} rows stored are kept in {self.journal_path}") from None

    def _rewrite(self, force: bool = False) -> None:
        self._dirty = True
        now = time.monotonic()
        if not force and now - self._last_rewrite < self._interval:
            return
        columns = rows_to_columns(self.rows)
        if not columns:
            columns = {"point_id": np.array([], dtype=object)}
        write_h5(self.h5_path, columns, self.config_yaml, self.config_hash, self.versions, self.study, self.units)
        write_csv(self.csv_path, columns, self.units)
        self._last_rewrite = time.monotonic()
        self._dirty = False

    def close(self) -> None:
        """Write the final views and release the lock; the journal stays so that --resume
        works after a crash."""
        try:
            if self._journal is not None and self._dirty:
                self._rewrite(force=True)
        finally:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            self._lock.release()


def table_rows(table: SweepTable) -> list[dict]:
    """The rows of a table read back, as journal rows: plain Python values of their
    quantities' types (HDF5 holds integers as floats, and NaN where a row had no value)."""
    kinds = {name: (None if name.startswith("parameters/") else quantities.describe(name).kind)
             for name in table.columns}
    rows = []
    for i in range(len(table)):
        row = {}
        for name, values in table.columns.items():
            value = _py(values[i])
            kind = kinds[name]
            if kind in ("integer", "flag"):
                if isinstance(value, float) and not math.isfinite(value):
                    continue
                value = int(value)
            elif kind == "text":
                value = str(value)
            row[name] = value
        rows.append(row)
    return rows


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
        for row in table_rows(table):
            rows.setdefault(row["point_id"], row)
    return list(rows.values()), tables[0]
