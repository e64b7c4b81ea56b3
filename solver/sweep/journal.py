"""The sweep journal `.sweep.jsonl`: the durable record of a sweep, one JSON line per point.

    {"header": {"format": "filatherm-sweep", "version": 2, "config_hash": ...}, "check": ...}
    {"row": {"point_id": ..., "status": ..., ...}, "check": ...}

Every line carries `check`, the first 16 hex digits of the SHA-256 of its canonical JSON (sorted
keys, no spaces), so a flipped byte is caught rather than read as a wrong number. A line is
appended, flushed and fsynced as soon as its point is solved; a resume appends to the same file
(it never rewrites what is stored), and a file that must be replaced (a store from a merge, a
journal of the older format) is written beside it and renamed over it.

Reading trusts nothing: a line torn by a kill, a line that is not JSON, a line whose check
fails, a row whose values do not have the types their quantities say (solver.quantities), a row
whose point id is not the id of its own drive and parameters (a row from somewhere else), and a
second row of the same point are each dropped and counted; those points are solved again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from solver import quantities
from solver.errors import FilathermError, InputError

FORMAT = "filatherm-sweep"
VERSION = 2  # version 1 journals (no checks) are read, type-checked, and rewritten as version 2
STATUSES = ("ok", "runaway", "unphysical", "diverged", "no_convergence", "failed")
POINT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_LINE = 1_000_000  # bytes: no row comes near it


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=_plain)


def checksum(data: Any) -> str:
    return hashlib.sha256(canonical(data).encode()).hexdigest()[:16]


def header_line(config_hash: str) -> str:
    header = {"format": FORMAT, "version": VERSION, "config_hash": config_hash}
    return json.dumps({"header": header, "check": checksum(header)}) + "\n"


def row_line(row: dict) -> str:
    return json.dumps({"row": row, "check": checksum(row)}, default=_plain) + "\n"


@dataclass
class JournalContents:
    """What a journal holds: its header (empty if it has none), the rows that passed every
    check (first occurrence of each point), and counts of what was dropped and why."""

    header: dict = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)
    version: int = 0
    torn: int = 0        # the last line, cut by a kill
    corrupt: int = 0     # not JSON, failed check, wrong types, foreign id
    duplicates: int = 0
    ends_with_newline: bool = True

    @property
    def config_hash(self) -> Optional[str]:
        return self.header.get("config_hash")


def read_journal(path: Path) -> JournalContents:
    """Every trustworthy row of a journal (see the module docstring)."""
    contents = JournalContents()
    seen: set[str] = set()
    with open(path, "rb") as handle:
        lines = handle.read().split(b"\n")
    contents.ends_with_newline = lines[-1] == b""
    if lines[-1] != b"":
        contents.torn += 1  # no newline: the kill came while it was written
    for number, raw in enumerate(lines[:-1]):
        parsed = _parse_line(raw, first=number == 0)
        if parsed is None:
            if raw.strip():
                contents.corrupt += 1
            continue
        kind, data, version = parsed
        if kind == "header":
            contents.header, contents.version = data, version
            continue
        if contents.version == 0:
            contents.corrupt += 1  # rows without a header come from nowhere
            continue
        problem = row_problem(data)
        if problem is not None:
            contents.corrupt += 1
            continue
        if data["point_id"] in seen:
            contents.duplicates += 1
            continue
        seen.add(data["point_id"])
        contents.rows.append(data)
    return contents


def _parse_line(raw: bytes, first: bool) -> Optional[tuple[str, dict, int]]:
    """("header" | "row", data, version) of one line, or None if it cannot be trusted."""
    if len(raw) > MAX_LINE:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    if "header" in data:
        header = data["header"]
        if not first or not isinstance(header, dict) or header.get("format") != FORMAT:
            return None
        version = header.get("version")
        if version == VERSION and data.get("check") != checksum(header):
            return None
        if version not in (1, VERSION) or not isinstance(header.get("config_hash"), str):
            return None
        return "header", header, version
    if "row" in data:  # version 2
        row = data["row"]
        if not isinstance(row, dict) or data.get("check") != checksum(row):
            return None
        return "row", row, VERSION
    if "point_id" in data:  # version 1: the row itself, unchecked
        return "row", data, 1
    return None


def row_problem(row: dict) -> Optional[str]:
    """Why a row cannot be a solved point of a sweep (None if it can): every column a
    registered quantity of the right type, a known status, and an id that is the id of its
    own drive and parameters."""
    point = row.get("point_id")
    if not isinstance(point, str) or not POINT_ID.match(point):
        return "point_id"
    if row.get("status") not in STATUSES:
        return "status"
    for name, value in row.items():
        if name.startswith("parameters/"):
            continue  # any YAML value can be swept
        try:
            kind = quantities.describe(name).kind
        except (KeyError, ValueError):
            return f"{name}: not a quantity"
        if not _has_kind(value, kind):
            return f"{name}: not a {kind}"
    drive = row.get("drive")
    if drive is not None:  # rows of version 1 journals carry no drive
        from solver.sweep.plan import point_id

        parameters = tuple((name[len("parameters/"):], _as_planned(value)) for name, value in row.items()
                           if name.startswith("parameters/"))
        if not isinstance(drive, (int, float)) or isinstance(drive, bool):
            return "drive: not a number"
        if point_id(drive, parameters) != point:
            return "point_id does not belong to the row's drive and parameters"
    return None


def _as_planned(value: Any) -> Any:
    """A parameter value as the plan holds it (JSON lists were tuples there)."""
    if isinstance(value, list):
        return tuple(_as_planned(v) for v in value)
    if isinstance(value, dict):
        return {k: _as_planned(v) for k, v in value.items()}
    return value


def _has_kind(value: Any, kind: str) -> bool:
    if kind == "text":
        return isinstance(value, str)
    if kind == "flag":
        return value in (0, 1) and not isinstance(value, float)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


class JournalFile:
    """The journal opened for appending: one fsynced line per row."""

    def __init__(self, path: Path):
        self.path = path
        refuse_symlink(path)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
        except OSError as err:
            raise FilathermError(f"{path}: cannot open the journal ({err.strerror})") from None
        self.handle = os.fdopen(fd, "a", encoding="utf-8")

    def write(self, text: str) -> None:
        try:
            self.handle.write(text)
            self.handle.flush()
            os.fsync(self.handle.fileno())
        except OSError as err:
            raise StoreFull(f"{self.path}: cannot write ({err.strerror})") from None

    def close(self) -> None:
        try:
            self.handle.close()
        except OSError:
            pass  # the rows before are fsynced; a failing close loses nothing stored


class StoreFull(InputError):
    """A row could not be made durable (disk full, I/O error): the sweep stops cleanly."""


def write_journal(path: Path, config_hash: str, rows: list[dict]) -> None:
    """A complete journal, written beside `path` and renamed over it (one fsync, not one per
    row: a resume of 20k rows takes a fraction of a second, and a kill leaves the old one)."""
    from solver.io import atomic_path

    refuse_symlink(path)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(header_line(config_hash))
            for row in rows:
                handle.write(row_line(row))
            handle.flush()
            os.fsync(handle.fileno())


def refuse_symlink(path: Path) -> None:
    """Store files are never written through a symbolic link (it could point anywhere)."""
    if os.path.islink(path):
        raise InputError(f"{path}: is a symbolic link; a sweep store does not write through links")


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")
