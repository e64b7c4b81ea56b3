"""Safe YAML reading with limits: no code, no duplicate keys, no alias bombs.

PyYAML's safe loader never executes anything, but it happily builds a document whose
aliases expand to billions of nodes (the "billion laughs") or that refers to itself; the
validator would then walk that expansion. We measure the expanded size with memoisation
(linear in the number of distinct nodes) and reject anything implausible for a config.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from solver.errors import ConfigError
from solver.io import read_bounded

MAX_FILE_BYTES = 1_000_000
MAX_EXPANDED_NODES = 200_000


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (a silent typo otherwise)."""

    def construct_mapping(self, node, deep=False):  # noqa: D102 (PyYAML hook)
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                raise ConfigError(
                    f"line {key_node.start_mark.line + 1}: mapping keys must be scalars"
                ) from None
            if duplicate:
                raise ConfigError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _StrictLoader.construct_mapping
)

# Plain scalars are typed by the YAML 1.2 core schema, not PyYAML's YAML 1.1 rules: in YAML 1.1
# `radius: 060` is octal 48, `1:00` is sexagesimal 60, `yes`/`on` are booleans and `2001-01-01`
# is a date, all silently. Under the core schema those are 60, and strings that validation
# then names. Floats keep the forms physicists write (`60e-9`, `1.0e6`, `.5`).
_CORE_TAGS = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
              "tag:yaml.org,2002:timestamp")
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _CORE_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789"))
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def _core_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)  # leading zeros are decimal in YAML 1.2


def _core_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node).lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text == ".nan":
        return float("nan")
    return float(text)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _core_int)
_StrictLoader.add_constructor("tag:yaml.org,2002:float", _core_float)


def _expanded_size(root: Any) -> int:
    """Number of nodes the document has once every alias is expanded.

    Iterative post-order walk, memoised by object identity so shared (aliased) subtrees
    are counted once per reference without being walked again; a cycle is an error.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        obj, children_done = stack.pop()
        if not isinstance(obj, (dict, list)):
            continue
        key = id(obj)
        children = list(obj.values()) if isinstance(obj, dict) else obj
        if children_done:
            on_path.discard(key)
            total = 1
            for child in children:
                total += sizes.get(id(child), 1) if isinstance(child, (dict, list)) else 1
                if total > MAX_EXPANDED_NODES:
                    raise ConfigError(
                        f"document expands to more than {MAX_EXPANDED_NODES} nodes "
                        "(YAML aliases nested too deeply?)"
                    )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise ConfigError("document refers to itself through a YAML alias")
        on_path.add(key)
        stack.append((obj, True))
        stack.extend((child, False) for child in children)
    return sizes.get(id(root), 1)


def parse_yaml(text: str, where: str = "<text>") -> Any:
    """Parse YAML text into plain Python data, or raise a one-line :class:`ConfigError`."""
    if len(text) > MAX_FILE_BYTES:
        raise ConfigError(f"{where}: larger than {MAX_FILE_BYTES} bytes; not a config file")
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (strict *safe* loader)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        line = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{where}: malformed YAML: {line}{err.problem}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{where}: malformed YAML: {str(err).splitlines()[0]}") from None
    except RecursionError:
        raise ConfigError(f"{where}: YAML nested too deeply") from None
    try:
        _expanded_size(data)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None
    return data


def read_yaml_file(path: str | Path) -> Any:
    """Read and parse a YAML file with the limits above."""
    raw = read_bounded(path, MAX_FILE_BYTES, "a config file", ConfigError)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    return parse_yaml(text, str(path))
