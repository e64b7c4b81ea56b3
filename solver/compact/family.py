"""A parameter sweep as a family of devices: one variant per set of swept values.

`fit` writes one compact model per variant. The primary variant (the config's own values, else
the first set) keeps the results directory's own layout (model/, crossbar/, train/); every
other variant gets the same layout under variants/<name>/, named by its parameters
(`thickness=4`, `radius=3,thickness=6`; the full key path where a last segment is ambiguous).
model/family.json lists them all:

    {"format": "filatherm-model-family", "version": 1, "primary": "<name>",
     "variants": [{"name", "parameters", "root" (relative to the results directory),
                   "model": ".../model/compact_model.json", "digest"}]}

`crossbar`, `train` and the report read the family from it, so every downstream stage sees
every variant. A voltage-only sweep is a family of one (no family.json needed).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from solver.errors import InputError

FORMAT = "filatherm-model-family"
VERSION = 1
FAMILY_FILE = "family.json"
VARIANTS_DIR = "variants"


@dataclass(frozen=True)
class Variant:
    """One member of a family: its name, swept values and results root."""

    name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    root: Path = Path(".")
    primary: bool = True

    @property
    def model_path(self) -> Path:
        return self.root / "model" / "compact_model.json"

    @property
    def label(self) -> str:
        """For legends and tables: `key=value, ...` with the short key names (or "this config")."""
        return ", ".join(f"{k}={_value_text(v)}" for k, v in _short_keys(self.parameters).items()) or "this config"


def _value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _short_keys(parameters: dict[str, Any]) -> dict[str, Any]:
    """The last segment of each key path, or the whole path where two would collide."""
    last = {key: re.sub(r"\[\d+\]", "", key).split(".")[-1] for key in parameters}
    counts: dict[str, int] = {}
    for short in last.values():
        counts[short] = counts.get(short, 0) + 1
    return {(last[key] if counts[last[key]] == 1 else key): value for key, value in parameters.items()}


def variant_name(parameters: dict[str, Any]) -> str:
    """A directory name from the swept values: `thickness=4`, `radius=3,thickness=6`."""
    if not parameters:
        return ""
    text = ",".join(f"{k}={_value_text(v)}" for k, v in _short_keys(parameters).items())
    text = re.sub(r"[^A-Za-z0-9_.=,+-]", "_", text.replace("[", "_").replace("]", ""))
    return text[:200]


def file_digest(path: Path) -> str:
    """SHA-256 (16 hex digits) of a file's bytes: how a stage names the exact input it used."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def variants_of(results: Path) -> list[Variant]:
    """The family fitted in RESULTS (primary first): from model/family.json, else the one model."""
    from solver.io import read_json

    results = Path(results)
    index = results / "model" / FAMILY_FILE
    if not index.exists():
        return [Variant("", {}, results, True)]
    data = read_json(index, "a model family index")
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
        raise InputError(f"{index}: not a filatherm model family (format/version)")
    variants = []
    for entry in data.get("variants", []):
        try:
            name, parameters, root = entry["name"], dict(entry["parameters"]), entry["root"]
        except (KeyError, TypeError, ValueError):
            raise InputError(f"{index}: a variant entry lacks name, parameters or root") from None
        if not isinstance(root, str) or root.startswith("/") or ".." in Path(root).parts:
            raise InputError(f"{index}: variant root {root!r} is not inside the results directory")
        variants.append(Variant(name, parameters, results / root, name == data.get("primary")))
    if not variants:
        raise InputError(f"{index}: lists no variants")
    return sorted(variants, key=lambda v: not v.primary)


def write_family(results: Path, variants: list[Variant]) -> Optional[Path]:
    """model/family.json for a family of more than one (removed for a family of one)."""
    from solver.io import write_json_atomic

    index = Path(results) / "model" / FAMILY_FILE
    if len(variants) <= 1:
        index.unlink(missing_ok=True)
        return None
    primary = next(v for v in variants if v.primary)
    return write_json_atomic(index, {
        "format": FORMAT, "version": VERSION, "primary": primary.name,
        "variants": [{"name": v.name, "parameters": v.parameters,
                      "root": str(v.root.relative_to(results)) if v.root != Path(results) else ".",
                      "model": str(v.model_path.relative_to(results)),
                      "digest": file_digest(v.model_path)} for v in variants],
    })


def variant_root(results: Path, name: str, primary: bool) -> Path:
    return Path(results) if primary else Path(results) / VARIANTS_DIR / name
