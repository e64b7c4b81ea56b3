"""Loading a YAML config into a validated, immutable :class:`Config`.

    raw YAML -> `--set` overrides -> library materials merged under the user's
             -> lists become tuples -> strict pydantic validation -> Config

Every failure is a :class:`ConfigError` whose message is one line naming the key path.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import ValidationError

from solver.config.keypath import apply_overrides, format_path, get_path, set_path
from solver.config.schema import Config
from solver.config.sections import solve_sections
from solver.config.yamlio import read_yaml_file
from solver.errors import ConfigError

__all__ = ["Config", "load_config", "validate_config", "config_to_yaml", "config_hash", "solve_hash",
           "section_hash", "config_data", "with_overrides"]

LIBRARY_PATH = Path(__file__).resolve().parent.parent / "materials" / "library.yaml"

# A validator message that starts with a key path relative to the model it validates.
_RELATIVE_PATH = re.compile(r"^([A-Za-z_]\w*(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*): (.*)$")


@lru_cache(maxsize=1)
def library_materials() -> dict:
    """The built-in material library as raw data."""
    return read_yaml_file(LIBRARY_PATH)


def _merge_library(data: dict) -> dict:
    user = data.get("materials", {})
    if user is None:
        user = {}
    if not isinstance(user, dict):
        return data  # validation reports the wrong type
    merged = {name: dict(props) for name, props in library_materials().items()}
    for name, props in user.items():
        if isinstance(props, dict) and isinstance(merged.get(name), dict):
            merged[name] = {**merged[name], **{key: _merge_law(merged[name].get(key), value)
                                               for key, value in props.items()}}
        else:
            merged[name] = props
    return {**data, "materials": merged}


def _merge_law(library_law: Any, user_law: Any) -> Any:
    """A user law that names `law:` replaces the library's; one that only gives parameters
    (`--set materials.TaOx.electrical_conductivity.value=1e3`) adjusts the library's law."""
    if isinstance(user_law, dict) and "law" not in user_law and isinstance(library_law, dict):
        return {**library_law, **user_law}
    return user_law


def _to_tuples(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_tuples(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_to_tuples(v) for v in value)
    return value


def _located_path(loc: tuple, data: Any, kind: str) -> str:
    """Key path of a pydantic error location.

    Pydantic puts union tags (`arrhenius`, `voltage`, ...) into the location; they are not
    keys of the data and are skipped. A key absent from the data is kept only as the last
    item of a `missing` error: that is the key the user left out.
    """
    segments: list = []
    node = data
    for i, item in enumerate(loc):
        if isinstance(item, str) and ":" in item:
            continue  # a union tag, see solver.config.schema
        if isinstance(node, dict) and item in node:
            node = node[item]
        elif isinstance(node, (list, tuple)) and isinstance(item, int) and 0 <= item < len(node):
            node = node[item]
        elif not (kind == "missing" and i == len(loc) - 1):
            continue
        segments.append(item)
    return format_path(segments)


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _one_line(text: str) -> str:
    """A key or value may hold control characters (a YAML key "zz\\n"): escaped, the message
    stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _message(error: dict, data: Any) -> str:
    path = _located_path(tuple(error["loc"]), data, error["type"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{path}: unknown key"
    if kind == "missing":
        return f"{path}: required key missing"
    msg = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    match = _RELATIVE_PATH.match(msg)
    if match and kind == "value_error":
        relative, msg = match.groups()
        path = f"{path}.{relative}" if path else relative
        path = path.replace(".[", "[")
    else:
        msg = msg[0].lower() + msg[1:] if msg else msg
        if kind not in ("value_error",) and "input" in error and not isinstance(error["input"], dict):
            msg += f" (got {_describe(error['input'])})"
    return f"{path}: {msg}" if path else msg


def validate_config(data: Any, where: str = "config") -> Config:
    """Validate raw config data (library not yet merged) into a :class:`Config`."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the top level must be a mapping of keys to values")
    merged = _to_tuples(_merge_library(data))
    try:
        config = Config.model_validate(merged)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        raise ConfigError(_one_line(f"{where}: {_message(first, merged)}")) from None
    except RecursionError:
        raise ConfigError(f"{where}: nested too deeply") from None
    _check_sweep_values(config, merged, where)
    return config


def _check_sweep_values(config: Config, merged: dict, where: str) -> None:
    """Every swept value, applied alone, must give a valid config. Paths resolve against the
    validated config with its defaults (as the sweep applies them: solver.sweep.runner), so a
    key the file leaves to its default (`thermal.bottom.temperature`, `mesh.size`) can be swept."""
    base = {k: v for k, v in config_data(config).items() if k != "sweep"}
    for path, values in config.sweep.parameters.items():
        try:
            get_path(base, path)
        except ConfigError as err:
            raise ConfigError(f"{where}: sweep.parameters: {err}") from None
        for value in values:
            try:
                Config.model_validate(_to_tuples(set_path(base, path, _plain(value))))
            except ValidationError as err:
                detail = _message(err.errors(include_url=False)[0], base)
                raise ConfigError(f"{where}: sweep.parameters: {path}={value!r}: {detail}") from None


def _plain(value: Any) -> Any:
    """Tuples back to lists (for key-path edits and YAML output)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> Config:
    """Read, override, merge and validate a config file."""
    data = read_yaml_file(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
    data = apply_overrides(data, list(overrides))
    data.setdefault("name", Path(path).stem)
    return validate_config(data, str(path))


def config_data(config: Config) -> dict:
    """Plain JSON-compatible data of a config (the resolved document)."""
    return _plain(config.model_dump(mode="json", exclude_none=True))


def config_to_yaml(config: Config) -> str:
    """The fully resolved config as YAML; loading it again gives the same Config."""
    return yaml.safe_dump(config_data(config), sort_keys=False, default_flow_style=None, width=100)


def config_hash(config: Config) -> str:
    """A stable hash of everything that defines the results."""
    return _hash(config_data(config))


def section_hash(config: Config, sections: Iterable[str]) -> str:
    """A stable hash of some sections of a config (solver.config.sections says which define what)."""
    data = config_data(config)
    return _hash({name: data.get(name) for name in sorted(sections)})


def solve_hash(config: Config) -> str:
    """A sweep store's identity: the sections that define one solved point of the config's
    study (steady, or transient with its pulse), nothing else (solver.config.sections)."""
    return section_hash(config, solve_sections(config.analysis.kind))


def _hash(data: dict) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def with_overrides(config: Config, assignments: dict[str, Any]) -> Config:
    """A new Config with key-path assignments (used by sweeps); validated."""
    data = config_data(config)
    for path, value in assignments.items():
        data = set_path(data, path, value)
    return validate_config(data, "config")
