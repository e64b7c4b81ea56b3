"""What the report reads, checked for provenance, and a parameter sweep shown as a family.

Every file a stage wrote names what it was computed from: a compact model its sweep's config
hash, the crossbar and training results the digest of their compact_model.json (and the four
crossbar files one run id), the steady solves at +/-V_write and the pulse their model's
digest. A file from another run (a model refitted since, a crossbar run interrupted half-way
through `--force`) is left out of the report and listed as stale, never mixed in.

A family (solver.compact.family) gets a table of every variant, the switching rate of every
variant in one figure, and V_write and the half-select ratio against the swept parameter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from solver.compact.family import Variant, file_digest, variants_of
from solver.report import figures

CROSSBAR_FILES = ("disturbance.json", "mapping.json", "fidelity.json", "summary.json")


@dataclass
class VariantResults:
    """One variant's results that passed the provenance checks (None where absent or stale)."""

    variant: Variant
    model: Optional[dict] = None
    disturbance: Optional[dict] = None
    crossbar_summary: Optional[dict] = None
    training: Optional[dict] = None


@dataclass
class Family:
    variants: list[VariantResults]
    stale: list[str] = field(default_factory=list)  # "<file>: why", for the report's list

    @property
    def primary(self) -> VariantResults:
        return self.variants[0]


def load_family(results: Path, sweep_hash: str, missing: list[str]) -> Family:
    """Every variant's model, crossbar and training results, each checked against what it
    claims to come from; absent parts are added to `missing`, stale ones to Family.stale."""
    family = Family([])
    for variant in variants_of(results):
        where = "" if variant.primary else f" of {variant.label}"
        loaded = VariantResults(variant)
        family.variants.append(loaded)
        if not variant.model_path.exists():
            missing.append(f"compact model (fit){where}")
            continue
        model = figures.read_json(variant.model_path)
        if (model.get("source") or {}).get("config_hash") != sweep_hash:
            family.stale.append(f"{variant.model_path}: fitted to another sweep (config hash "
                                f"{(model.get('source') or {}).get('config_hash')}, sweep.h5 {sweep_hash})")
            continue
        loaded.model = model
        digest = file_digest(variant.model_path)
        if not (variant.root / "crossbar" / "summary.json").exists():
            missing.append(f"crossbar results (crossbar/){where}")
        else:
            crossbar = _crossbar_files(variant.root / "crossbar", digest, family.stale)
            if crossbar is not None:
                loaded.disturbance, loaded.crossbar_summary = crossbar["disturbance.json"], crossbar["summary.json"]
        training_path = variant.root / "train" / "training.json"
        if training_path.exists():
            training = figures.read_json(training_path)
            if _source_digest(training) == digest:
                loaded.training = training
            else:
                family.stale.append(f"{training_path}: trained on another compact model")
        else:
            missing.append(f"training (train/){where}")
    return family


def _source_digest(data: dict) -> Optional[str]:
    return (data.get("source") or {}).get("model_digest")


def _crossbar_files(directory: Path, digest: str, stale: list[str]) -> Optional[dict]:
    """The crossbar files of one run of one model, or None (stale: listed)."""
    found = {name: figures.read_json(directory / name) for name in CROSSBAR_FILES if (directory / name).exists()}
    if len(found) < len(CROSSBAR_FILES):
        stale.append(f"{directory}: incomplete (an interrupted run?): {', '.join(sorted(found))}")
        return None
    runs = {(data.get("source") or {}).get("run") for data in found.values()}
    if len(runs) != 1 or None in runs:
        stale.append(f"{directory}: its files come from different runs (an interrupted `crossbar --force`?)")
        return None
    if _source_digest(found["summary.json"]) != digest:
        stale.append(f"{directory}: computed with another compact model")
        return None
    return found


def checked_result(path: Path, model_path: Path, stale: list[str]) -> Optional[dict]:
    """A result computed from this compact model (a write point, the pulse, a training
    comparison), else None (absent, or stale: listed)."""
    if not path.exists():
        return None
    data = figures.read_json(path)
    if not model_path.exists() or _source_digest(data) != file_digest(model_path):
        stale.append(f"{path}: computed for another compact model")
        return None
    return data


# ---------------------------------------------------------------- figures and tables


def swept_axis(family: Family) -> Optional[tuple[str, list[float]]]:
    """(key, values) when the variants differ in one numeric parameter, else None."""
    keys = {key for v in family.variants for key in v.variant.parameters}
    if len(keys) != 1:
        return None
    key = keys.pop()
    values = [v.variant.parameters.get(key) for v in family.variants]
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in values):
        return None
    return key, [float(x) for x in values]


def family_rates(path: Path, family: Family) -> Path:
    """Switching rate against |V| for every variant (solid +V, dashed -V), V_write marked."""
    plt = figures._pyplot()
    fig, ax = plt.subplots(figsize=(7.2, 4.8))
    colours = _colours(len(family.variants))
    target = pulse_width = None
    for colour, loaded in zip(colours, family.variants):
        if loaded.model is None:
            continue
        table = loaded.model["table"]
        V, rate = np.array(table["voltage"]), np.array(table["rate"])
        merit = loaded.model["figures_of_merit"]
        target, pulse_width = merit["target_delta"], loaded.model["kinetics"]["pulse_width"]
        for polarity, style in (("positive", "-"), ("negative", "--")):
            idx = np.flatnonzero((np.sign(V) == (1 if polarity == "positive" else -1)) & (rate > 0))
            idx = idx[np.argsort(np.abs(V[idx]))]
            ax.semilogy(np.abs(V[idx]), rate[idx], style, color=colour,
                        label=f"{loaded.variant.label}, {'+V' if polarity == 'positive' else '-V'}")
            v_write = merit["V_write"][polarity]
            if v_write is not None:
                ax.axvline(abs(v_write), color=colour, linestyle=style, linewidth=0.8, alpha=0.6)
    if target is not None:
        ax.axhline(target / pulse_width, color="grey", linewidth=1)
    ax.set_xlabel("|V| across the device [V]")
    ax.set_ylabel("switching rate [1/s]")
    ax.set_title("rate vs voltage per variant (vertical lines: V_write)")
    ax.legend(fontsize=7)
    return figures._save(fig, path)


def family_trends(path: Path, family: Family, length_unit: str) -> Path:
    """V_write and the half-select ratio rate(V_write)/rate(V_write/2) against the swept
    parameter (or the variant, when several parameters are swept)."""
    plt = figures._pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    axis = swept_axis(family)
    if axis is not None:
        key, x = axis
        from solver.quantities import parameter_unit

        xlabel = f"{key} [{parameter_unit(key, length_unit=length_unit)}]"
    else:
        x = list(range(len(family.variants)))
        xlabel = "variant"
    for polarity, colour in figures.POLARITY_COLOURS.items():
        v_write, ratio = [], []
        for loaded in family.variants:
            merit = (loaded.model or {}).get("figures_of_merit") or {}
            v_write.append(_abs_or_nan((merit.get("V_write") or {}).get(polarity)))
            ratio.append(_abs_or_nan((merit.get("nonlinearity_half_select") or {}).get(polarity)))
        label = figures.POLARITY_LABELS[polarity]
        left.plot(x, v_write, "o-", color=colour, label=label)
        right.semilogy(x, ratio, "o-", color=colour, label=label)
    for ax in (left, right):
        ax.set_xlabel(xlabel)
        if axis is None:
            ax.set_xticks(x, [v.variant.label for v in family.variants], rotation=30, ha="right", fontsize=7)
        ax.legend(fontsize=8)
    left.set_ylabel("|V_write| [V]")
    left.set_title("write voltage")
    right.set_ylabel("rate(V_write) / rate(V_write/2) [1]")
    right.set_title("half-select nonlinearity")
    return figures._save(fig, path)


def _abs_or_nan(value) -> float:
    return abs(value) if isinstance(value, (int, float)) else math.nan


def _colours(n: int) -> list:
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    return [cmap(0.1 + 0.75 * i / max(n - 1, 1)) for i in range(n)]


def variants_table(family: Family, num) -> list[str]:
    """summary.md lines: one row per variant with its figures of merit, disturbance and
    training accuracy (n/a where a stage has not run or its result is stale)."""
    lines = ["## Variants", "",
             "Every swept parameter set is a device of its own (model in `variants/<name>/` for all but the "
             "primary; `model/family.json` lists them).", "",
             "| variant | V_write +V / -V [V] | rate(V_write)/rate(V_write/2) +V / -V | probe T at V_write "
             "+V / -V [K] | max disturbance, fitted, +V / -V | test accuracy, fitted [%] |",
             "|---|---|---|---|---|---|"]
    for loaded in family.variants:
        merit = (loaded.model or {}).get("figures_of_merit") or {}

        def pair(key: str, fmt: str) -> str:
            values = merit.get(key) or {}
            return f"{num(values.get('positive'), fmt)} / {num(values.get('negative'), fmt)}"

        disturbance = ((loaded.crossbar_summary or {}).get("disturbance_after_all_pulses") or {}).get("fitted") or {}
        disturb = (f"{num((disturbance.get('positive') or {}).get('max'), '.3g')} / "
                   f"{num((disturbance.get('negative') or {}).get('max'), '.3g')}")
        fitted = ((loaded.training or {}).get("devices") or {}).get("fitted") or {}
        accuracy = num(100 * fitted["final_mean"], ".1f") if "final_mean" in fitted else "n/a"
        name = loaded.variant.label + (" (primary)" if loaded.variant.primary else "")
        lines.append(f"| {name} | {pair('V_write', '+.4f')} | {pair('nonlinearity_half_select', '.3g')} | "
                     f"{pair('T_at_write', '.1f')} | {disturb} | {accuracy} |")
    return lines + [""]
