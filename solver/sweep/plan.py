"""Expanding `sweep:` into points, branches and chunks of work (deterministic).

A point is one drive (voltage, or current at a current terminal) with one combination of the
swept parameters; its id is derived from those values only, so it is stable across runs,
rank counts and shards. A branch is the points that share the other parameters and a polarity,
ordered by increasing |drive|: each is continued from the previous converged state. A chunk is a
run of consecutive points of one branch handed to one worker group; long branches are cut into
several chunks when there are more workers than branches (a chunk continues from rest up to its
first point, which costs a few extra solves but keeps every worker busy).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from solver.config.schema import Config, CurrentTerminal, VoltageRange
from solver.errors import InputError


@dataclass(frozen=True)
class SweepPoint:
    index: int                     # position in the plan (the table's row order)
    point_id: str
    drive: float
    parameters: tuple[tuple[str, Any], ...]

    @property
    def parameter_dict(self) -> dict[str, Any]:
        return dict(self.parameters)


@dataclass(frozen=True)
class Chunk:
    branch: int
    points: tuple[SweepPoint, ...]


def drives(config: Config) -> list[float]:
    """The swept drive values, in the config's order: the terminal voltage (or current), or in
    a transient sweep the pulse amplitude; the config's own value if none is swept.

    A range is generated from integer steps and rounded to 12 significant digits, so that
    0.8 is 0.8 and not 0.7999999999999999 (linspace's start + i * step)."""
    plan = config.sweep.voltage
    if plan is None:
        if config.analysis.kind == "transient" and config.analysis.pulse is not None:
            return [config.analysis.pulse.amplitude]
        terminal = config.electrical.terminal
        return [terminal.current if isinstance(terminal, CurrentTerminal) else terminal.voltage]
    if isinstance(plan, VoltageRange):
        if plan.num == 1:
            return [float(plan.start)]
        step = (plan.stop - plan.start) / (plan.num - 1)
        return [_tidy(plan.start + i * step) for i in range(plan.num)]
    return [float(v) for v in plan.values]


def _tidy(value: float) -> float:
    """The value rounded to 12 significant digits (far below any solver tolerance)."""
    return float(f"{value:.12g}")


def parameter_sets(config: Config) -> list[tuple[tuple[str, Any], ...]]:
    """Combinations of the swept parameters (product or zip), in the config's key order."""
    params = config.sweep.parameters
    if not params:
        return [()]
    keys = list(params)
    if config.sweep.combine == "zip":
        combos = zip(*(params[k] for k in keys))
    else:
        combos = itertools.product(*(params[k] for k in keys))
    return [tuple(zip(keys, combo)) for combo in combos]


def point_id(drive: float, parameters: tuple[tuple[str, Any], ...]) -> str:
    """The point's id: a hash of its drive and parameter values, written so that a value read
    back from sweep.h5 (numbers as floats, anything else as its text) gives the same id."""
    text = json.dumps({"drive": repr(float(drive)), "parameters": [[k, _id_text(v)] for k, v in parameters]},
                      sort_keys=True)
    return "p" + hashlib.sha256(text.encode()).hexdigest()[:12]


def _id_text(value: Any) -> str:
    if isinstance(value, (bool, int, float)):
        return repr(float(value))
    return repr(value if isinstance(value, str) else str(value))


def expand(config: Config) -> list[SweepPoint]:
    """Every point of the sweep in plan order (parameter sets outer, drives inner)."""
    points, seen = [], set()
    for params in parameter_sets(config):
        for drive in drives(config):
            pid = point_id(drive, params)
            if pid in seen:
                continue  # a drive listed twice is solved once
            seen.add(pid)
            points.append(SweepPoint(len(points), pid, drive, params))
    return points


def branches(points: list[SweepPoint]) -> list[list[SweepPoint]]:
    """Points grouped by (parameters, polarity), each ordered by increasing |drive|."""
    groups: dict[tuple, list[SweepPoint]] = {}
    for p in points:
        groups.setdefault((p.parameters, p.drive < 0), []).append(p)
    return [sorted(g, key=lambda p: abs(p.drive)) for g in groups.values()]


def chunks(points: list[SweepPoint], workers: int) -> list[Chunk]:
    """Branches cut so there are at least `workers` chunks when possible, longest first."""
    found = branches(points)
    pieces = max(1, math.ceil(workers / max(len(found), 1))) if workers > len(found) else 1
    out = []
    for b, branch in enumerate(found):
        for part in np.array_split(np.arange(len(branch)), min(pieces, len(branch))):
            if len(part):
                out.append(Chunk(b, tuple(branch[i] for i in part)))
    return sorted(out, key=lambda c: -len(c.points))


def parse_shard(spec: str) -> tuple[int, int]:
    """`--shard i/N` -> (i, N), 0 <= i < N; anything else is bad input."""
    parts = spec.split("/")
    if len(parts) != 2 or not all(part.isdigit() for part in parts):
        raise InputError(f"--shard {spec!r}: expected i/N with whole numbers, e.g. 0/4")
    i, n = int(parts[0]), int(parts[1])
    if n < 1 or not 0 <= i < n:
        raise InputError(f"--shard {spec!r}: need 0 <= i < N")
    return i, n


def shard(points: list[SweepPoint], spec: str | None) -> list[SweepPoint]:
    """The points of shard i of N (`--shard i/N`): whole branches, dealt round-robin."""
    if not spec:
        return points
    i, n = parse_shard(spec)
    mine = [p for k, branch in enumerate(branches(points)) if k % n == i for p in branch]
    return sorted(mine, key=lambda p: p.index)
