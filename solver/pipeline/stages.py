"""`filatherm run CONFIG`: the main job, every stage in order, reusing what is up to date.

    mesh -> steady sweep (both polarities; over the device states too) -> step response
         -> fit -> pulse response (a device with a state) -> steady solves at +/-V_write
         -> one pulse at V_write -> crossbar experiments -> training -> report

A stage is skipped when its inputs (the config sections it reads, the files upstream stages
wrote and filatherm's own code) have the fingerprint recorded when it last completed and its
outputs exist.
Fingerprints live in RESULTS_DIR/.pipeline/<stage>.json with the digests of the outputs the
stage wrote; the stage log with wall times in RESULTS_DIR/pipeline.json. An interrupted sweep
resumes. Nothing is overwritten without --force that the pipeline did not write itself or that
was changed since: results of another device (a different config of the same name: another
sweep config hash) and hand edits (summary.md) are refused with one line.

A parameter sweep is a family (solver.compact.family): fit, crossbar and train run for every
variant, the steady solves at +/-V_write and the pulse for the primary variant (its own
swept values applied), and the report shows them all.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from solver.compact.family import file_digest, variants_of
from solver.config import Config, config_data, section_hash, solve_hash, with_overrides
from solver.config.sections import MESH, STAGE_SECTIONS, STEADY
from solver.errors import FilathermError, InputError
from solver.fem.mesh_error import MESH_ERROR_DIR
from solver.io import ensure_dir, read_json, write_json_atomic
from solver.limits import check_plan_size

STAGES = ("mesh", "sweep", "step", "fit", "pulses", "write", "pulse", "crossbar", "train", "report")


@dataclass(frozen=True)
class RunOptions:
    """How `filatherm run` runs: sweep ranks, overwriting, where meshes go."""

    ranks: int = 1
    force: bool = False
    meshes: Path = Path("meshes")


def code_digest() -> str:
    """A digest of filatherm's own source and data: a stage computed by other code is stale."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".yaml", ".json") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(package)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class Pipeline:
    def __init__(self, config: Config, results: Path, options: RunOptions = RunOptions(),
                 say: Callable[[str], None] = lambda text: None):
        self.config = config
        self.results = ensure_dir(results)
        self.options = options
        self.say = say
        self.stamps = ensure_dir(self.results / ".pipeline")
        self.log: dict[str, dict] = {}
        self.total = 0.0
        self.code = code_digest()

    # -- caching -------------------------------------------------------------------------

    def _sections(self, *names: str) -> dict:
        data = config_data(self.config)
        return {name: data.get(name) for name in names}

    def stage(self, name: str, inputs: dict, input_files: list[Path], outputs: list[Path],
              action: Callable[[], Optional[str]]) -> None:
        """Run `action` unless the stage's fingerprint and outputs say it is up to date."""
        number = STAGES.index(name) + 1
        fingerprint = hashlib.sha256(json.dumps(
            {"inputs": inputs, "files": {str(p): file_digest(p) for p in input_files}, "code": self.code},
            sort_keys=True, default=str).encode()).hexdigest()[:16]
        stamp = self.stamps / f"{name}.json"
        previous = self._read_stamp(stamp)
        if (not self.options.force and previous.get("fingerprint") == fingerprint
                and all(p.exists() for p in outputs)):
            self.log[name] = {"wall_time": previous.get("wall_time", 0.0), "note": "reused (up to date)"}
            self.say(f"[{number}/{len(STAGES)}] {name}: up to date, reused")
            return
        if not self.options.force:
            self._refuse_changed_outputs(previous)
        self.say(f"[{number}/{len(STAGES)}] {name} ...")
        start = time.perf_counter()
        note = action() or "ran"
        elapsed = time.perf_counter() - start
        written = {str(p): file_digest(p) for p in outputs if p.exists()}
        write_json_atomic(stamp, {"fingerprint": fingerprint, "wall_time": elapsed, "outputs": written})
        self.log[name] = {"wall_time": elapsed, "note": note}
        self.say(f"[{number}/{len(STAGES)}] {name}: {elapsed:.1f} s")

    @staticmethod
    def _refuse_changed_outputs(previous: dict) -> None:
        """A file the stage wrote last time and someone changed since (a hand-edited
        summary.md) is not overwritten without --force."""
        for name, digest in (previous.get("outputs") or {}).items():
            path = Path(name)
            if path.exists() and file_digest(path) != digest:
                raise InputError(f"{path}: changed since `filatherm run` wrote it; use --force to overwrite it "
                                 "(or copy it elsewhere first)")

    def _read_stamp(self, stamp: Path) -> dict:
        """A stage's recorded fingerprint; a damaged stamp only means the stage runs again."""
        if not stamp.exists():
            return {}
        try:
            data = read_json(stamp, "a stage stamp")
        except InputError as err:
            self.say(f"  {err}: the stage runs again")
            return {}
        return data if isinstance(data, dict) else {}

    # -- the chain -----------------------------------------------------------------------

    def run(self) -> Path:
        start = time.perf_counter()
        r = self.results
        config = self.config
        if config.kinetics is None:
            raise InputError("kinetics: `filatherm run` fits switching kinetics; the config needs a kinetics block")
        if config.sweep.voltage is None:
            raise InputError("sweep.voltage: `filatherm run` sweeps the voltage; the config needs sweep.voltage")
        check_plan_size(self.sweep_config)
        self._refuse_other_device()
        meshes = self.options.meshes
        geometry = {"name": config.name, "mesh_hash": section_hash(config, MESH)}
        self.stage("mesh", geometry, [], [meshes / f"{config.name}.xdmf", r / "report" / "mesh.png"],
                   lambda: self._mesh(meshes))
        solves = {"solve_hash": solve_hash(self.sweep_config)}
        levels = ([r / MESH_ERROR_DIR / level / "sweep.h5" for level in ("coarse", "fine")]
                  if config.sweep.error_estimate else [])
        self.stage("sweep", {**solves, **self._sections("sweep")}, [], [r / "sweep.h5", *levels], self._sweep)
        sweep = [r / "sweep.h5", *levels]
        step = self._step_pulse()
        self.stage("step", {**solves, "step": step, **self._sections("analysis")}, [], [r / "step" / "series.csv"],
                   lambda: self._step(step))
        model = r / "model" / "compact_model.json"
        self.stage("fit", self._sections(*STAGE_SECTIONS["fit"]), sweep + [r / "step" / "series.csv"], [model],
                   self._fit)
        if config.state is not None and config.kinetics.moves_state:
            self.stage("pulses", self._sections(*STAGE_SECTIONS["pulses"]), [model],
                       [r / "pulses" / "pulses.json"], self._pulses)
        variants = variants_of(r)
        models = [v.model_path for v in variants]
        primary = self._primary_config(variants[0])
        write_voltage = self._write_voltages()
        variant_solves = {"solve_hash": section_hash(primary, STEADY), "variant": variants[0].parameters}
        self.stage("write", {**variant_solves, "V_write": write_voltage}, [models[0]],
                   [r / "write" / p / "qoi.json" for p in write_voltage],
                   lambda: self._write_points(primary, write_voltage, models[0]))
        self.stage("pulse", {**variant_solves, "V_write": write_voltage.get("positive"),
                             **self._sections("analysis")}, [models[0]], [r / "pulse" / "qoi.json"],
                   lambda: self._pulse(primary, write_voltage, models[0]))
        self.stage("crossbar", self._sections(*STAGE_SECTIONS["crossbar"]), models,
                   [v.root / "crossbar" / "summary.json" for v in variants], self._crossbar)
        self.stage("train", self._sections(*STAGE_SECTIONS["train"]), models,
                   [v.root / "train" / "training.json" for v in variants], self._train)
        upstream = [p for p in (sweep[0], r / "pulses" / "pulses.json", r / "pulse" / "qoi.json") if p.exists()]
        for variant in variants:
            upstream += [p for p in (variant.model_path, variant.root / "crossbar" / "summary.json",
                                     variant.root / "train" / "training.json") if p.exists()]
        upstream += sorted((r / "write").glob("*/qoi.json"))
        self.total = time.perf_counter() - start
        self.stage("report", {}, upstream, [r / "report" / "summary.md"], self._report)
        self.total = time.perf_counter() - start
        write_json_atomic(r / "pipeline.json", self._stage_log())
        return r / "report" / "summary.md"

    @property
    def sweep_config(self) -> Config:
        """The config the sweep solves: always steady (the fit needs steady points; the pulse
        of a transient analysis is the pulse stage's)."""
        if self.config.analysis.kind == "steady":
            return self.config
        return with_overrides(self.config, {"analysis.kind": "steady"})

    def _primary_config(self, variant) -> Config:
        from solver.compact.workflow import variant_config

        return variant_config(self.config, variant.parameters)

    def _refuse_other_device(self) -> None:
        """Results of another config (another device under the same name) are not replaced
        without --force (README: existing results are never overwritten without it)."""
        from solver.sweep.store import read_sweep

        store = self.results / "sweep.h5"
        if self.options.force or not store.exists():
            return
        stored = read_sweep(store).config_hash
        if stored != solve_hash(self.sweep_config):
            raise InputError(f"{self.results}: holds results of another config (sweep config hash {stored}, this "
                             f"config {solve_hash(self.sweep_config)}); use --force to replace them, or --output "
                             "to write elsewhere")

    # -- stages --------------------------------------------------------------------------

    def _mesh(self, meshes: Path) -> str:
        from mpi4py import MPI

        from solver.fem.mesh import build_mesh, mesh_summary, write_mesh_files
        from solver.geometry.plot import plot_mesh

        ensure_dir(meshes)
        stem = meshes / self.config.name
        cell_mesh = build_mesh(self.config, MPI.COMM_SELF, msh_path=stem.with_suffix(".msh"), keep_plot_data=True)
        summary = mesh_summary(cell_mesh, self.config)
        write_mesh_files(cell_mesh, stem.with_suffix(".xdmf"), summary)
        plot_mesh(ensure_dir(self.results / "report") / "mesh.png", self.config, *cell_mesh.plot_data,
                  [region.name for region in cell_mesh.regions])
        return f"{summary['cells']} cells"

    def _sweep(self) -> str:
        from solver.sweep.store import read_sweep

        config = self.sweep_config
        store = self.results / "sweep.h5"
        start_over = store.exists() and read_sweep(store).config_hash != solve_hash(config)
        if start_over:  # only with --force (_refuse_other_device)
            self.say("  the stored sweep is of another config: solving it again (--force)")
        if self.options.ranks > 1:
            from solver.sweep.launch import sweep_under_mpirun

            sweep_under_mpirun(config, self.results, self.options.ranks, start_over)
            return f"{self.options.ranks} ranks"
        from solver.sweep.driver import run_sweep

        outcome = run_sweep(config, self.results, resume=not start_over, force=start_over,
                            say=lambda text: self.say("  " + text))
        return f"{outcome['solved']} solved, {outcome['failed']} failed, {outcome['stored']} reused"

    def _step_pulse(self) -> dict:
        """The step of the thermal time constant (solver.compact.thermal): the config's pulse
        amplitude, a 10 ps edge, held for STEP_WIDTH."""
        from solver.compact.thermal import STEP_EDGE, STEP_WIDTH

        pulse = self.config.analysis.pulse
        return {"amplitude": pulse.amplitude if pulse is not None else 1.0, "width": STEP_WIDTH,
                "rise": STEP_EDGE, "fall": 0.0, "after": 0.0}

    def _step(self, step: dict) -> str:
        from mpi4py import MPI

        from solver.fem.study import PulseStudy, record_with_units

        config = with_overrides(self.config, {"analysis.kind": "transient", "analysis.pulse": step})
        out = ensure_dir(self.results / "step")
        study = PulseStudy(config, MPI.COMM_SELF, say=lambda text: self.say("  " + text))
        try:
            record = study.run(out)
        finally:
            study.close()
        write_json_atomic(out / "qoi.json", record_with_units(record))
        if record["status"] != "ok":
            raise FilathermError(f"step response at {step['amplitude']:+.3f} V: {record['reason']}")
        return f"{record['steps']} steps"

    def _pulses(self) -> str:
        from solver.compact.dynamic import DynamicModel
        from solver.compact.pulses import pulse_response, write_pulses

        model = DynamicModel.load(self.results / "model" / "compact_model.json")
        response = pulse_response(model, self.config, say=lambda text: self.say("  " + text))
        write_pulses(response, ensure_dir(self.results / "pulses"))
        return (f"{response.states_up} / {response.states_down} states, symmetry point "
                f"{response.symmetry_point['state']}")

    def _fit(self) -> str:
        from solver.compact.workflow import fit_results

        outcome = fit_results(self.results, force=True, say=lambda text: self.say("  " + text), config=self.config)
        return f"{len(outcome.models)} model(s)"

    def _write_voltages(self) -> dict[str, float]:
        model = read_json(self.results / "model" / "compact_model.json", "a compact model")
        found = {k: v for k, v in model["figures_of_merit"]["V_write"].items() if v is not None}
        if not found:
            raise FilathermError("fit: no V_write in either polarity (the swept range never reaches the "
                                 "target delta per pulse); extend sweep.voltage")
        return found

    def _provenance(self, config: Config, model: Path) -> dict:
        """What a write point or the pulse was computed from (the report checks it)."""
        return {"config_hash": section_hash(config, STEADY), "model_digest": file_digest(model)}

    def _write_points(self, config: Config, write_voltage: dict[str, float], model: Path) -> str:
        import numpy as np
        from mpi4py import MPI

        from solver.fem.study import SteadyStudy, record_with_units
        from solver.io import atomic_path

        notes = []
        with SteadyStudy(config, MPI.COMM_SELF) as study:
            for polarity, voltage in write_voltage.items():
                out = ensure_dir(self.results / "write" / polarity)
                record = study.solve(voltage)
                write_json_atomic(out / "qoi.json", {**record_with_units(record),
                                                     "source": self._provenance(config, model)})
                if record["converged"]:
                    study.write_fields(out / "fields.xdmf")
                    with atomic_path(out / "temperature.npz") as tmp:
                        with open(tmp, "wb") as handle:
                            np.savez(handle, **study.temperature_snapshot())
                notes.append(f"{polarity} {voltage:+.3f} V: T_max {record['T_max']:.0f} K")
        return "; ".join(notes)

    def _pulse(self, base: Config, write_voltage: dict[str, float], model: Path) -> str:
        from mpi4py import MPI

        from solver.fem.study import PulseStudy, record_with_units

        amplitude = write_voltage.get("positive", next(iter(write_voltage.values())))
        pulse = dict(config_data(base)["analysis"].get("pulse") or {})
        pulse["amplitude"] = amplitude
        config = with_overrides(base, {"analysis.kind": "transient", "analysis.pulse": pulse})
        out = ensure_dir(self.results / "pulse")
        study = PulseStudy(config, MPI.COMM_SELF, say=lambda text: self.say("  " + text))
        try:
            record = study.run(out)
        finally:
            study.close()
        write_json_atomic(out / "qoi.json", {**record_with_units(record), "source": self._provenance(base, model)})
        if record["status"] != "ok":
            raise FilathermError(f"pulse at {amplitude:+.3f} V: {record['reason']}")
        return f"{record['steps']} steps, peak T_max {record['peak_T_max']:.0f} K"

    def _crossbar(self) -> str:
        from solver.crossbar.experiments import run_experiments
        from solver.crossbar.family_runs import run_for_family

        run_for_family(run_experiments, self.results, force=True, say=lambda text: self.say("  " + text),
                       config=self.config)

    def _train(self) -> str:
        from solver.crossbar.family_runs import run_for_family
        from solver.crossbar.training_run import run_training

        run_for_family(run_training, self.results, force=True, say=lambda text: self.say("  " + text),
                       config=self.config)

    def _report(self) -> str:
        from solver.report.build import build_report

        write_json_atomic(self.results / "pipeline.json", self._stage_log())
        build_report(self.results, say=lambda text: self.say("  " + text), stage_log=self._stage_log())

    def _stage_log(self) -> dict:
        """Wall time of each stage when it was last computed, and of this run."""
        return {"stages": self.log, "this_run": self.total,
                "computed_total": sum(info["wall_time"] for info in self.log.values())}

