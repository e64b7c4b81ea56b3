"""`filatherm run CONFIG`: the main job, every stage in order, reusing what is up to date.

    mesh -> steady sweep (both polarities; over the device states too) -> step response
         -> fit -> pulse response (a device with a state) -> steady solves at +/-V_write
         -> one pulse at V_write -> crossbar experiments -> training -> report

A stage is skipped when its inputs (the config sections it reads, the files upstream stages
wrote and filatherm's own code) have the fingerprint recorded when it last completed and its
outputs exist.
Fingerprints live in RESULTS_DIR/.pipeline/<stage>.json; the stage log with wall times in
RESULTS_DIR/pipeline.json. An interrupted sweep resumes; a changed config starts it over.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from solver.config import Config, config_data, section_hash, solve_hash, with_overrides
from solver.config.sections import MESH, STAGE_SECTIONS
from solver.errors import FilathermError, InputError
from solver.fem.mesh_error import MESH_ERROR_DIR
from solver.io import ensure_dir, write_json_atomic

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


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
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
        previous = json.loads(stamp.read_text()) if stamp.exists() else {}
        if (not self.options.force and previous.get("fingerprint") == fingerprint
                and all(p.exists() for p in outputs)):
            self.log[name] = {"wall_time": previous.get("wall_time", 0.0), "note": "reused (up to date)"}
            self.say(f"[{number}/{len(STAGES)}] {name}: up to date, reused")
            return
        self.say(f"[{number}/{len(STAGES)}] {name} ...")
        start = time.perf_counter()
        note = action() or "ran"
        elapsed = time.perf_counter() - start
        write_json_atomic(stamp, {"fingerprint": fingerprint, "wall_time": elapsed})
        self.log[name] = {"wall_time": elapsed, "note": note}
        self.say(f"[{number}/{len(STAGES)}] {name}: {elapsed:.1f} s")

    # -- the chain -----------------------------------------------------------------------

    def run(self) -> Path:
        start = time.perf_counter()
        r = self.results
        config = self.config
        if config.kinetics is None:
            raise InputError("kinetics: `filatherm run` fits switching kinetics; the config needs a kinetics block")
        if config.sweep.voltage is None:
            raise InputError("sweep.voltage: `filatherm run` sweeps the voltage; the config needs sweep.voltage")
        meshes = self.options.meshes
        geometry = {"name": config.name, "mesh_hash": section_hash(config, MESH)}
        self.stage("mesh", geometry, [], [meshes / f"{config.name}.xdmf", r / "report" / "mesh.png"],
                   lambda: self._mesh(meshes))
        solves = {"solve_hash": solve_hash(config)}
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
        write_voltage = self._write_voltages()
        self.stage("write", {**solves, "V_write": write_voltage}, [],
                   [r / "write" / p / "qoi.json" for p in write_voltage], lambda: self._write_points(write_voltage))
        self.stage("pulse", {**solves, "V_write": write_voltage.get("positive"),
                             **self._sections("analysis")}, [], [r / "pulse" / "qoi.json"],
                   lambda: self._pulse(write_voltage))
        self.stage("crossbar", self._sections(*STAGE_SECTIONS["crossbar"]), [model],
                   [r / "crossbar" / "summary.json"], self._crossbar)
        self.stage("train", self._sections(*STAGE_SECTIONS["train"]), [model], [r / "train" / "training.json"],
                   self._train)
        upstream = [p for p in (sweep[0], model, r / "pulses" / "pulses.json", r / "pulse" / "qoi.json",
                                r / "crossbar" / "summary.json", r / "train" / "training.json") if p.exists()]
        upstream += sorted((r / "write").glob("*/qoi.json"))
        self.total = time.perf_counter() - start
        self.stage("report", {}, upstream, [r / "report" / "summary.md"], self._report)
        self.total = time.perf_counter() - start
        write_json_atomic(r / "pipeline.json", self._stage_log())
        return r / "report" / "summary.md"

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

        store = self.results / "sweep.h5"
        start_over = store.exists() and read_sweep(store).config_hash != solve_hash(self.config)
        if start_over:
            self.say("  the config changed since the stored sweep: solving it again")
        if self.options.ranks > 1:
            from solver.sweep.launch import sweep_under_mpirun

            sweep_under_mpirun(self.config, self.results, self.options.ranks, start_over)
            return f"{self.options.ranks} ranks"
        from solver.sweep.driver import run_sweep

        outcome = run_sweep(self.config, self.results, resume=not start_over, force=start_over,
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
        model = json.loads((self.results / "model" / "compact_model.json").read_text())
        found = {k: v for k, v in model["figures_of_merit"]["V_write"].items() if v is not None}
        if not found:
            raise FilathermError("fit: no V_write in either polarity (the swept range never reaches the "
                                 "target delta per pulse); extend sweep.voltage")
        return found

    def _write_points(self, write_voltage: dict[str, float]) -> str:
        import numpy as np
        from mpi4py import MPI

        from solver.fem.study import SteadyStudy, record_with_units
        from solver.io import atomic_path

        notes = []
        with SteadyStudy(self.config, MPI.COMM_SELF) as study:
            for polarity, voltage in write_voltage.items():
                out = ensure_dir(self.results / "write" / polarity)
                record = study.solve(voltage)
                write_json_atomic(out / "qoi.json", record_with_units(record))
                if record["converged"]:
                    study.write_fields(out / "fields.xdmf")
                    with atomic_path(out / "temperature.npz") as tmp:
                        with open(tmp, "wb") as handle:
                            np.savez(handle, **study.temperature_snapshot())
                notes.append(f"{polarity} {voltage:+.3f} V: T_max {record['T_max']:.0f} K")
        return "; ".join(notes)

    def _pulse(self, write_voltage: dict[str, float]) -> str:
        from mpi4py import MPI

        from solver.fem.study import PulseStudy, record_with_units

        amplitude = write_voltage.get("positive", next(iter(write_voltage.values())))
        pulse = dict(config_data(self.config)["analysis"].get("pulse") or {})
        pulse["amplitude"] = amplitude
        config = with_overrides(self.config, {"analysis.kind": "transient", "analysis.pulse": pulse})
        out = ensure_dir(self.results / "pulse")
        study = PulseStudy(config, MPI.COMM_SELF, say=lambda text: self.say("  " + text))
        try:
            record = study.run(out)
        finally:
            study.close()
        record["pulse_amplitude"] = amplitude
        record["pulse_width"] = config.analysis.pulse.width
        write_json_atomic(out / "qoi.json", record_with_units(record))
        if record["status"] != "ok":
            raise FilathermError(f"pulse at {amplitude:+.3f} V: {record['reason']}")
        return f"{record['steps']} steps, peak T_max {record['peaks']['T_max']:.0f} K"

    def _crossbar(self) -> str:
        from solver.crossbar.experiments import run_experiments

        run_experiments(self.results, force=True, say=lambda text: self.say("  " + text), config=self.config)

    def _train(self) -> str:
        from solver.crossbar.training_run import run_training

        run_training(self.results, force=True, say=lambda text: self.say("  " + text), config=self.config)

    def _report(self) -> str:
        from solver.report.build import build_report

        write_json_atomic(self.results / "pipeline.json", self._stage_log())
        build_report(self.results, say=lambda text: self.say("  " + text), stage_log=self._stage_log())

    def _stage_log(self) -> dict:
        """Wall time of each stage when it was last computed, and of this run."""
        return {"stages": self.log, "this_run": self.total,
                "computed_total": sum(info["wall_time"] for info in self.log.values())}

