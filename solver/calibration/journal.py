"""The solved-point journal of a calibration or sensitivity study: append-only, one JSON line
per solved point, flushed and fsynced the moment it arrives (the pattern of the sweep store,
solver.sweep.store), so a killed run loses only the solves in flight and a rerun with
`--resume` solves nothing twice.

A line is {"task": key, "drive": V, "record": {...}}: the flat QoI record (sweep-row layout)
of one point of one branch task (solver.calibration.pool.Task). The key hashes everything the
point depends on: the solved sections of the config it is solved with (the base config with
the fitted values and the state: solver.config.solve_hash) and the branch's drives. So rows of
other parameter sets, other configs or other measurements in the same journal are simply never
asked for, editing a fitted number's value in the config costs nothing, and a branch
is reused only when all of its points are there (a branch cut short by a kill is solved again
as a whole: its points are continued from one another, and the same continuation gives the
same numbers).

One process writes a journal at a time: `start` takes an exclusive flock on OUT/.journal.lock
without waiting (the kernel drops it however its holder exits), so a second calibration on the
same directory is refused with one line instead of interleaving its points. `--resume` appends
to the stored journal; it is never rewritten, so a kill at any moment keeps every whole line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from solver.errors import InputError
from solver.io import ensure_dir
from solver.sweep.lock import StoreLock

FORMAT = "filatherm-solve-journal"
VERSION = 1


class Journal:
    """Solved points by task key and drive (rank 0 only)."""

    def __init__(self, directory: str | Path, name: str = ".journal.jsonl"):
        self.directory = ensure_dir(directory)
        self.path = self.directory / name
        self.tasks: dict[str, dict[float, dict]] = {}
        self.torn_lines = 0
        self.appended = 0
        self._handle = None
        self._lock: Optional[StoreLock] = None

    def start(self, resume: bool, force: bool) -> None:
        """Open the journal: continue the stored one (`resume`: appended to), or start a new one
        (`force`, or none stored yet)."""
        exists = self.path.exists()
        if exists and not resume and not force:
            raise InputError(f"{self.directory}: holds a run already; use --resume to continue it or "
                             "--force to start over")
        self._take_lock()
        try:
            if exists and resume:
                self._load()
                self._handle = open(self.path, "a", encoding="utf-8")
                if self.path.stat().st_size == 0:
                    self._write({"header": {"format": FORMAT, "version": VERSION}})
                elif not self._ends_with_newline():
                    self._handle.write("\n")  # a torn last line stays a line of its own, skipped on load
            else:
                self._handle = open(self.path, "w", encoding="utf-8")
                self._write({"header": {"format": FORMAT, "version": VERSION}})
        except BaseException:
            self.close()
            raise

    def _take_lock(self) -> None:
        self._lock = StoreLock(self.directory, ".journal.lock", "run").acquire()

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"

    def _load(self) -> None:
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.endswith("\n"):
                    self.torn_lines += 1
                    continue
                try:
                    data = json.loads(line)
                except json.JSONDecodeError:
                    self.torn_lines += 1
                    continue
                if not isinstance(data, dict):
                    continue
                header = data.get("header")
                if isinstance(header, dict) and (header.get("format") != FORMAT or header.get("version") != VERSION):
                    raise InputError(f"{self.path}: not a filatherm solve journal of version {VERSION} "
                                     "(use --force to start over)")
                if {"task", "drive", "record"} <= data.keys():
                    self.tasks.setdefault(str(data["task"]), {})[float(data["drive"])] = data["record"]

    def complete(self, key: str, drives) -> bool:
        stored = self.tasks.get(key)
        return stored is not None and all(float(d) in stored for d in drives)

    def record(self, key: str, drive: float) -> Optional[dict]:
        return self.tasks.get(key, {}).get(float(drive))

    def forget(self, key: str) -> None:
        """Drop the points of a task about to be solved again (a partial branch)."""
        self.tasks.pop(key, None)

    def append(self, key: str, drive: float, record: dict) -> None:
        self.tasks.setdefault(key, {})[float(drive)] = record
        self._write({"task": key, "drive": float(drive), "record": record})
        self.appended += 1

    def _write(self, data: dict) -> None:
        assert self._handle is not None, "journal not started"
        self._handle.write(json.dumps(data) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None
