"""Dotted key paths into raw config data: `geometry.layers[1].filament.radius`.

Used by `--set key=value` overrides and by sweep parameters; values are typed by YAML
(`--set analysis.kind=transient`, `--set mesh.size=2.5`), never evaluated as code.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Union

from solver.config.yamlio import parse_yaml
from solver.errors import ConfigError

Segment = Union[str, int]

_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)((?:\[\d+\])*)")


def parse_path(path: str) -> tuple[Segment, ...]:
    """Split a key path into mapping keys (str) and list indices (int)."""
    if not isinstance(path, str) or not path:
        raise ConfigError(f"key path {path!r}: empty")
    segments: list[Segment] = []
    for part in path.split("."):
        match = _PART.fullmatch(part)
        if match is None:
            raise ConfigError(f"key path {path!r}: cannot parse {part!r}")
        segments.append(match.group(1))
        segments.extend(int(i) for i in re.findall(r"\d+", match.group(2)))
    return tuple(segments)


def format_path(segments: tuple[Segment, ...] | list[Segment]) -> str:
    """The inverse of :func:`parse_path`."""
    out = ""
    for seg in segments:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else str(seg))
    return out


def get_path(data: Any, path: str) -> Any:
    """Value at `path` in raw data; ConfigError if it does not exist."""
    node = data
    for i, seg in enumerate(parse_path(path)):
        node = _child(node, seg, path, i, create=False)
    return node


def set_path(data: dict, path: str, value: Any) -> dict:
    """A deep copy of `data` with `value` at `path`; missing mapping keys are created."""
    segments = parse_path(path)
    result = copy.deepcopy(data)
    node = result
    for i, seg in enumerate(segments[:-1]):
        node = _child(node, seg, path, i, create=True)
    last = segments[-1]
    if isinstance(last, int):
        _check_index(node, last, path)
    elif not isinstance(node, dict):
        raise ConfigError(f"{path}: {format_path(segments[:-1])} is not a mapping")
    node[last] = value
    return result


def _check_index(node: Any, index: int, path: str) -> None:
    if not isinstance(node, list):
        raise ConfigError(f"{path}: [{index}] indexes something that is not a list")
    if index >= len(node):
        raise ConfigError(f"{path}: index {index} out of range (the list has {len(node)} items)")


def _child(node: Any, seg: Segment, path: str, i: int, create: bool) -> Any:
    if isinstance(seg, int):
        _check_index(node, seg, path)
        return node[seg]
    if not isinstance(node, dict):
        where = format_path(parse_path(path)[:i]) or "the config"
        raise ConfigError(f"{path}: {where} is not a mapping")
    if seg not in node:
        if not create:
            raise ConfigError(f"{path}: no key {seg!r}")
        node[seg] = {}
    return node[seg]


def parse_assignment(text: str) -> tuple[str, Any]:
    """`key.path=value` -> (path, YAML-typed value)."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected key=value")
    path, raw = text.split("=", 1)
    path = path.strip()
    parse_path(path)
    value = parse_yaml(raw, f"--set {path}") if raw.strip() else None
    if value is None:
        raise ConfigError(f"--set {path}: empty value")
    return path, value


def apply_overrides(data: dict, assignments: list[str] | tuple[str, ...]) -> dict:
    """Apply `--set` assignments in order to raw config data."""
    for text in assignments:
        path, value = parse_assignment(text)
        data = set_path(data, path, value)
    return data
