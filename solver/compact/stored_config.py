"""The config stored with results, with the `--set` overrides that make sense after the FEM stage.

`fit`, `crossbar` and `train` start from results, not from a YAML file: the resolved config
comes from sweep.h5 (or from compact_model.json's `source.config`). Their `--set` may change
only what they compute: `fit` the kinetics, crossbar and training keys, `crossbar` and
`train` (whose model already holds the rates) the crossbar and training keys. Anything else
would describe a different problem than the one whose results they read, so it is refused
with a hint.
"""

from __future__ import annotations

from typing import Iterable

from solver.config import Config, config_data, validate_config
from solver.config.keypath import apply_overrides, parse_assignment, parse_path
from solver.config.sections import POST_SOLVE
from solver.errors import InputError


def stored_config(data: dict, overrides: Iterable[str], where: str,
                  sections: tuple[str, ...] = POST_SOLVE, current: Config | None = None) -> Config:
    """Validate stored config data after applying `--set` overrides of `sections` only.

    `current` (the config a pipeline runs) replaces the stored `sections`; the rest of it
    must be what the results were computed with."""
    if current is not None:
        data = _with_sections(data, current, sections, where)
    overrides = list(overrides)
    for text in overrides:
        path, _ = parse_assignment(text)
        section = parse_path(path)[0]
        if section not in sections:
            upstream = "fit" if section == "kinetics" else "sweep"
            raise InputError(
                f"--set {path}: these results were computed for fixed {section} settings; here "
                f"only {', '.join(sections)} keys can change (re-run the {upstream} to change {section})"
            )
    if not isinstance(data, dict):
        raise InputError(f"{where}: stored config is not a mapping")
    return validate_config(apply_overrides(data, overrides), where)


def _with_sections(data: dict, current: Config, sections: tuple[str, ...], where: str) -> dict:
    stored = config_data(validate_config(data, where))
    wanted = config_data(current)
    for key in sorted(set(stored) | set(wanted)):
        if key not in sections and stored.get(key) != wanted.get(key):
            raise InputError(f"{where}: the results were computed with a different {key!r} "
                             "than this config's (re-run the upstream stages)")
    return {**stored, **{key: wanted[key] for key in sections if key in wanted}}
