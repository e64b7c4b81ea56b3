"""`fit`: sweep.h5 -> fitted compact model(s) and their exports in RESULTS_DIR/model/.

    fit_results("results/default")   # or output_dir="out/x" to write out/x/model/

writes, for the parameter set that matches the config (the only one in a voltage-only sweep):
compact_model.json (solver.compact.document), compact_model.csv (all parameter sets),
compact_model.va, compact_model.sub/.lib (ngspice, solver.compact.subcircuit), aihwkit_device.py
and compact_model.png. A parameter sweep is a family (solver.compact.family): every other
parameter set gets the same files under variants/<name>/model/, named by its parameters, and
model/family.json lists them all. Each model's source.config is the config of its own variant
(the swept values applied). A sweep over the device state (`state.value`) is one device: its
states are one model (document version 2), not variants. With the mesh levels of
`sweep.error_estimate`, model/mesh_error.json holds the headline numbers' discretisation error
(solver.compact.mesh_error).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np
from pydantic import ValidationError

from solver.compact.aihwkit_export import write_aihwkit_device
from solver.compact.document import (
    FORMAT,
    VERSION,
    CompactModelDocument,
    ExcludedPoint,
    Fit,
    Residuals,
    Source,
    StateInfo,
    StateModel,
    Table,
    ThermalDynamics,
    write_document,
)
from solver.compact.export_csv import write_csv
from solver.compact.family import VARIANTS_DIR, Variant, variant_name, variant_root, write_family
from solver.compact.fitting import fit_current, fit_field, fit_thermal, zero_bias_temperature
from solver.compact.mesh_error import write_mesh_error
from solver.compact.model import CompactModel
from solver.compact.plots import plot_compact_model
from solver.compact.stored_config import stored_config
from solver.compact.subcircuit import write_subcircuit
from solver.compact.table import STATE_KEY, RateTable, build_rate_tables
from solver.compact.thermal import thermal_dynamics
from solver.compact.verilog_a import write_verilog_a
from solver.config import Config, config_data, with_overrides
from solver.config.keypath import get_path
from solver.config.schema import Convective, FixedTemperature
from solver.config.yamlio import parse_yaml
from solver.errors import ConfigError, InputError
from solver.sweep.store import read_sweep


@dataclass
class FitOutcome:
    """What `fit` produced: the primary model first, then the other parameter sets."""

    models: list[CompactModel]
    files: list[Path]


def fit_results(results_dir: str | Path, output_dir: str | Path | None = None,
                overrides: Iterable[str] = (), force: bool = False,
                say: Callable[[str], None] = print, config: Config | None = None) -> FitOutcome:
    """Fit RESULTS_DIR/sweep.h5 and write the model directory (under `output_dir` if given);
    an existing compact_model.json is replaced only with `force`. A `config` (the one a
    pipeline runs) supplies the kinetics, crossbar and training sections instead of the
    sweep's stored config."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise InputError(f"{results_dir}: no such results directory")
    target = (Path(output_dir) if output_dir else results_dir) / "model" / "compact_model.json"
    if target.exists() and not force:
        raise InputError(f"{target}: exists; use --force to overwrite it")
    sweep_path = results_dir / "sweep.h5"
    sweep = read_sweep(sweep_path)
    if sweep.study != "steady":
        raise InputError(f"{sweep_path}: holds a {sweep.study} sweep (pulse peaks per point); the compact model is "
                         "fitted to a steady sweep (analysis.kind: steady)")
    overrides = list(overrides)
    config = stored_config(parse_yaml(sweep.config_yaml, f"{sweep_path}: config"), overrides,
                           f"{sweep_path}: config", current=config)
    if config.kinetics is None:
        raise InputError(f"{sweep_path}: the config has no kinetics block "
                         "(add one, or pass --set kinetics.law=ion_hopping)")
    tables = build_rate_tables(sweep, config.kinetics, str(sweep_path),
                               config.state.value if config.state is not None else None)
    fitted = []
    for table in tables:
        variant = variant_config(config, table.parameters)
        model = fit_table(table, variant, sweep.config_hash, sweep.versions, str(sweep_path), overrides)
        fitted.append(model)
        say(_summary(model))
        if table.excluded:
            listed = ", ".join(f"{p['point_id']} ({p['status']})" for p in table.excluded)
            say(f"  left out {len(table.excluded)} failed points: {listed}")
    thermal = thermal_dynamics(results_dir / "step", config.kinetics.probe, fitted[0].T0)
    if thermal is not None:
        say(f"thermal node: tau = {thermal.time_constant:.3g} s, C_th = {thermal.capacitance:.3g} J/K from the "
            f"step response at {thermal.step_voltage:+.3g} V (one exponential within "
            f"{100 * thermal.max_relative_error:.2g}% of the rise)")
    models = [with_states(family, config, thermal) for family in _families(fitted)]
    primary = _primary_index(models, config)
    models = [models[primary]] + models[:primary] + models[primary + 1:]
    files = _write_outputs(Path(output_dir) if output_dir else results_dir, models, config)
    mesh_error = write_mesh_error(
        results_dir, files[0].parent, models[0], config,
        lambda table, level_sweep, path: fit_table(table, config, level_sweep.config_hash, level_sweep.versions,
                                                   str(path), overrides), say)
    files += [mesh_error] if mesh_error is not None else []
    say(f"compact model written to {files[0].parent}"
        + (f" ({len(models)} variants, model/family.json)" if len(models) > 1 else ""))
    return FitOutcome(models, files)


def variant_config(config: Config, parameters: dict) -> Config:
    """The config of one parameter set: the swept values applied, each with the type the
    config gave it (sweep.h5 holds numbers as floats: 4.0 for a swept 4)."""
    if not parameters:
        return config
    typed = {}
    for key, value in parameters.items():
        given = config.sweep.parameters.get(key, ())
        typed[key] = next((v for v in given if v == value or (isinstance(v, (int, float)) and isinstance(
            value, (int, float)) and float(v) == float(value))), value)
    return with_overrides(config, typed)


def fit_table(table: RateTable, config: Config, sweep_config_hash: str, versions: dict,
              sweep_path: str, overrides: list[str]) -> CompactModel:
    """Fit one rate table and return the model with its complete document."""
    try:
        return CompactModel.from_document(_fitted_document(table, config, sweep_config_hash, versions,
                                                           sweep_path, overrides))
    except ValidationError as err:  # e.g. a number that overflows: name it, one line
        first = err.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InputError(f"{sweep_path}: the fitted model is not valid ({where}: {first['msg']}); "
                         "check the kinetics and the swept range") from None


def _fitted_document(table: RateTable, config: Config, sweep_config_hash: str, versions: dict,
                     sweep_path: str, overrides: list[str]) -> CompactModelDocument:
    kinetics = config.kinetics
    ambient = zero_bias_temperature(_boundary_temperatures(config))
    pinned = ambient is not None
    T0, branches = fit_thermal(table, ambient if pinned else config.thermal.reference_temperature, pinned)
    current = fit_current(table, T0.value)
    field = fit_field(table, T0.value)
    document_table = Table(
        point_id=list(table.point_id),
        **{name: [float(x) for x in getattr(table, name)] for name in (
            "voltage", "voltage_applied", "current", "power", "T_probe", "E_probe", "rate",
            "delta_per_pulse")},
    )
    model = CompactModel(kinetics, document_table, T0, branches, current, field, state=table.state)
    fit = Fit(T0=T0, T0_source="ambient" if pinned else "fitted", branches=branches, current=current,
              field=field, residuals=_residuals(model, table))
    return CompactModelDocument(
        format=FORMAT,
        version=VERSION,
        source=Source(
            config_name=config.name,
            config_hash=sweep_config_hash,
            config=config_data(config),
            sweep=sweep_path,
            versions={str(k): str(v) for k, v in versions.items()},
            parameters=dict(table.parameters),
            overrides=overrides,
            excluded_points=[ExcludedPoint(**point) for point in table.excluded],
        ),
        kinetics=kinetics,
        table=document_table,
        fit=fit,
        figures_of_merit=model.figures_of_merit(kinetics.target_delta),
    )


def _boundary_temperatures(config: Config) -> list[float]:
    """Temperatures of the thermal boundaries that are not insulated (fixed or convective)."""
    temperatures = []
    for bc in (config.thermal.top, config.thermal.bottom, config.thermal.outer):
        if isinstance(bc, FixedTemperature):
            temperatures.append(float(bc.temperature))
        elif isinstance(bc, Convective):
            temperatures.append(float(bc.ambient))
    return temperatures


def _residuals(model: CompactModel, table: RateTable) -> Residuals:
    """Largest deviations of the compact model from the FEM table."""
    voltage = table.voltage
    law = model.electro_thermal(voltage)  # the thermal law with the FEM power and current:
    thermal_law = model.T0 + law.thermal_resistance(table.power) * table.power + law.beta * table.current
    law_rate = model.rate(voltage)
    both = (table.rate > 0) & (law_rate > 0)
    dlog = np.abs(np.log10(law_rate[both]) - np.log10(table.rate[both]))
    flowing = table.current != 0
    current_error = np.abs(model.current(voltage[flowing]) / table.current[flowing] - 1.0)
    return Residuals(
        max_abs_dT=float(np.max(np.abs(model.temperature(voltage) - table.T_probe))),
        max_abs_dT_thermal_law=float(np.max(np.abs(thermal_law - table.T_probe))),
        max_relative_current=float(current_error.max()) if current_error.size else 0.0,
        max_abs_dlog10_rate=float(dlog.max()) if dlog.size else 0.0,
    )


def _variant(model: CompactModel) -> dict:
    """The swept parameters of a model other than the device state."""
    return {k: v for k, v in model.document.source.parameters.items() if k != STATE_KEY}


def _families(models: list[CompactModel]) -> list[list[CompactModel]]:
    """Models grouped by their swept parameters other than the state, in first-seen order."""
    groups: dict[str, list[CompactModel]] = {}
    for model in models:
        groups.setdefault(repr(sorted(_variant(model).items())), []).append(model)
    return list(groups.values())


def with_states(models: list[CompactModel], config: Config,
                thermal: Optional[ThermalDynamics] = None) -> CompactModel:
    """One device from the models of its solved states: the reference state's model (the
    config's state, else the nearest solved one) whose document also holds every state's
    (version 2) and the thermal node of a step response. A device without a state is its
    single model (with the thermal node)."""
    if config.state is None:
        return CompactModel.from_document(models[0].document.model_copy(update={"thermal": thermal}))
    models = sorted(models, key=lambda m: m.state)
    reference = min(models, key=lambda m: abs(m.state - config.state.value))
    states = [StateModel(state=m.state, table=m.document.table, fit=m.document.fit,
                         figures_of_merit=m.document.figures_of_merit) for m in models]
    info = StateInfo(name=config.state.name, unit=config.state.unit, minimum=config.state.minimum,
                     maximum=config.state.maximum, reference=reference.state)
    document = reference.document.model_copy(update={"state": info, "states": states, "thermal": thermal})
    return CompactModel.from_document(document)


def _primary_index(models: list[CompactModel], config: Config) -> int:
    """The device whose swept values (other than the state) equal the config's own (else the first)."""
    data = config_data(config)
    for index, model in enumerate(models):
        try:
            if all(get_path(data, key) == value for key, value in _variant(model).items()):
                return index
        except ConfigError:
            continue
    return 0


def _summary(model: CompactModel) -> str:
    doc = model.document
    fit, merit = doc.fit, doc.figures_of_merit
    label = ", ".join(f"{k}={v}" for k, v in doc.source.parameters.items())
    pos, neg = fit.branches.positive, fit.branches.negative

    def volts(value) -> str:
        return "not reached" if value is None else f"{value:+.4f} V"

    def ratio(value) -> str:
        return "n/a" if value is None else f"{value:.3g}"

    def pair(name: str) -> str:
        return " / ".join("not swept" if b is None else f"{getattr(b, name).value:.4g}" for b in (pos, neg))

    missing = [name for name in ("positive", "negative") if getattr(fit.branches, name) is None]
    return (
        f"fit{' [' + label + ']' if label else ''}: {len(doc.table.voltage)} points; "
        f"T0 = {fit.T0.value:.2f} K ({fit.T0_source}), R_th = {pair('R_th')} K/W "
        f"rising by {pair('delta_R_th')} K/W, "
        f"beta = {pair('beta')} K/A (+/-); "
        f"max |dT| = {fit.residuals.max_abs_dT:.3g} K, "
        f"max |dI/I| = {fit.residuals.max_relative_current:.3g}, "
        f"max |dlog10 rate| = {fit.residuals.max_abs_dlog10_rate:.3g}\n"
        f"  V_write = {volts(merit.V_write.positive)} / {volts(merit.V_write.negative)}, "
        f"nonlinearity V/2 = {ratio(merit.nonlinearity_half_select.positive)} / "
        f"{ratio(merit.nonlinearity_half_select.negative)}, "
        f"T asymmetry = {ratio(merit.T_asymmetry.delta_T)} K"
        + (f"\n  no {missing[0]} branch: the sweep has too few {missing[0]} points (the .va and aihwkit exports "
           f"and the crossbar experiments need both polarities; sweep {missing[0]} voltages too)" if missing else "")
    )


def _write_outputs(root: Path, models: list[CompactModel], config: Config) -> list[Path]:
    """The primary model's files in ROOT/model/, every other variant's in
    ROOT/variants/<name>/model/ (named by its swept values other than the device state, whose
    models share one document); the family index; stale variants of an earlier fit removed."""
    files = []
    variants = []
    for index, model in enumerate(models):
        parameters = _variant(model)
        name = variant_name(parameters)
        variant = Variant(name, parameters, variant_root(root, name, index == 0), index == 0)
        variant_crossbar = variant_config(config, parameters).crossbar
        model_dir = variant.root / "model"
        files += [write_document(model_dir / "compact_model.json", model.document)]
        if index == 0:
            files.append(write_csv(model_dir / "compact_model.csv", models))
        both = len(model.branches.polarities) == 2  # a one-polarity fit has no device for circuits
        files += [
            *([write_verilog_a(model_dir / "compact_model.va", model)]
              if both and not model.kinetics.moves_state else []),
            *(write_subcircuit(model_dir, model) if both and not model.kinetics.moves_state else []),
            *([write_aihwkit_device(model_dir / "aihwkit_device.py", model, variant_crossbar)] if both else []),
            plot_compact_model(model_dir / "compact_model.png", model),
        ]
        variants.append(variant)
    family = write_family(root, variants)
    if family is not None:
        files.append(family)
    _remove_stale_variants(root, {v.name for v in variants[1:]})
    return files


def _remove_stale_variants(root: Path, current: set[str]) -> None:
    """Variants of an earlier fit of a different sweep would be mistaken for this one's."""
    import shutil

    directory = root / VARIANTS_DIR
    if not directory.is_dir():
        return
    for stale in directory.iterdir():
        if stale.name not in current and (stale / "model" / "compact_model.json").exists() and not stale.is_symlink():
            shutil.rmtree(stale)
    legacy = root / "model" / "variants"  # the layout before families: variants/compact_model_<i>.json
    if legacy.is_dir():
        for old in legacy.glob("compact_model_*.json"):
            old.unlink()
