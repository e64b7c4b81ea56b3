"""Unit tests of pure pieces, called directly (no subprocess, no mesh): pulse shapes, the
terminal equation, the classification of a failed continuation, the registries, and the
package's structure (no import cycles, the library never imports the CLI)."""

from __future__ import annotations

import ast
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from solver import quantities
from solver.config.schema import Pulse
from solver.materials.kinetics import KINETICS
from solver.materials.laws import LAWS, NUMPY

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "solver"


# ---------------------------------------------------------------- pulse shapes


def test_a_trapezoid_pulse_has_its_corners_and_values():
    pytest.importorskip("dolfinx")
    from solver.fem.transient import PulseShape

    shape = PulseShape(Pulse(amplitude=2.0, width=10.0, rise=1.0, fall=2.0, after=5.0))
    assert shape.duration == 18.0
    assert shape.corners() == [0.0, 1.0, 11.0, 13.0, 18.0]
    assert shape.plateau_ends() == [11.0]
    assert [shape.value(t) for t in (-1.0, 0.5, 1.0, 6.0, 11.0, 12.0, 13.0, 15.0)] == \
        [0.0, 1.0, 2.0, 2.0, 2.0, 1.0, 0.0, 0.0]


def test_a_pulse_train_repeats_with_its_period():
    pytest.importorskip("dolfinx")
    from solver.fem.transient import PulseShape

    shape = PulseShape(Pulse(amplitude=1.0, width=2.0, rise=1.0, fall=1.0, after=1.0, count=3, period=10.0))
    assert shape.duration == 2 * 10.0 + 4.0 + 1.0
    assert shape.plateau_ends() == [3.0, 13.0, 23.0]
    assert shape.value(10.5) == 0.5 and shape.value(22.0) == 1.0 and shape.value(23.5) == 0.5 and shape.value(24.5) == 0.0


# ---------------------------------------------------------------- terminal equation


class FakeProblem:
    """What TerminalEquation reads of a problem: U and the current."""

    def __init__(self, U: float, current: float):
        self.U = SimpleNamespace(value=U)
        self._current = current

    def current(self) -> float:
        return self._current


def test_terminal_equation_closes_voltage_series_and_current_terminals():
    pytest.importorskip("dolfinx")
    from solver.fem.problem import TerminalEquation

    voltage = TerminalEquation(FakeProblem(U=0.7, current=1e-4), current_mode=False, series_resistance=0.0)
    voltage.drive = 0.7
    assert voltage.equation() == 0.0 and not voltage.coupled()
    series = TerminalEquation(FakeProblem(U=0.6, current=1e-4), current_mode=False, series_resistance=1e3)
    series.drive = 0.7
    assert series.coupled() and series.equation() == pytest.approx(0.0, abs=1e-15)  # 0.6 + 1e3 * 1e-4
    current = TerminalEquation(FakeProblem(U=0.6, current=2e-4), current_mode=True, series_resistance=0.0)
    current.drive = 1e-4
    assert current.equation() == pytest.approx(1.0)  # (I - I_target) / |I_target|


# ---------------------------------------------------------------- failure classification


def _history(points):
    from solver.fem.continuation import Converged

    return [Converged(drive, None, T, 3) for drive, T in points]


def test_a_steep_end_of_the_branch_is_runaway_else_divergence_or_no_convergence():
    pytest.importorskip("dolfinx")
    from solver.fem.continuation import Continuation

    continuation = Continuation(problem=None, max_step=0.1, min_step=1e-4)
    continuation.history = _history([(0.0, 300.0), (0.5, 350.0), (1.0, 400.0), (1.0001, 420.0)])
    assert continuation._classify(saw_nan=False) == "runaway"
    continuation.history = _history([(0.0, 300.0), (0.5, 350.0), (1.0, 400.0), (1.1, 410.0)])
    assert continuation._classify(saw_nan=True) == "diverged"
    assert continuation._classify(saw_nan=False) == "no_convergence"


def test_the_predictor_is_exact_for_a_quadratic_branch_and_secant_beside_rest():
    """Closed form: states whose values are a quadratic in the drive are predicted exactly from
    three evenly spaced ones; with the linear-response point 1e-6 beside rest among them the
    predictor falls back to the secant of the last two (a quadratic there would amplify their
    solver tolerance)."""
    pytest.importorskip("dolfinx")
    from solver.fem.continuation import Continuation, Converged
    from solver.fem.problem import State

    def exact(drive):
        return np.array([300.0 + 40.0 * drive + 90.0 * drive**2, 2.0 * drive**2]), drive

    class Recorder:
        def restore(self, state):
            self.state = state

        def clamp_temperature(self, floor):
            pass

        def T_min_of(self, state):
            return 300.0

    def predicted(drives, target):
        problem = Recorder()
        continuation = Continuation(problem=problem, max_step=0.25, min_step=1e-4)
        continuation.history = [Converged(d, State(*exact(d)), 0.0, 3) for d in drives]
        continuation._predict(target)
        return problem.state

    state = predicted([0.1, 0.2, 0.3], 0.4)
    assert np.allclose(state.values, exact(0.4)[0], rtol=1e-13) and state.U == pytest.approx(0.4)
    state = predicted([0.0, 1e-6, 0.2], 0.4)  # secant through 1e-6 and 0.2
    last, before = exact(0.2)[0], exact(1e-6)[0]
    assert np.allclose(state.values, last + (0.4 - 0.2) / (0.2 - 1e-6) * (last - before), rtol=1e-13)


# ---------------------------------------------------------------- registries


def test_every_registered_law_evaluates_in_numpy():
    from solver.config.schema import Material

    examples = {"constant": {"value": 2.0}, "metallic": {"value": 2.0, "alpha": 1e-3},
                "arrhenius": {"value": 2.0, "activation_energy": 0.1}, "power": {"value": 2.0, "exponent": 1.0},
                "table": {"T": (300.0, 400.0), "value": (2.0, 4.0)}, "wiedemann_franz": {},
                # 2.0 S/m at zero field: q^2 N d^2 nu / kT exp(-Ea/kT) with Ea = 0, solved for N
                "hopping": {"carrier_density": 2.0 * 1.380649e-23 * 300.0 / (1.602176634e-19**2 * 1e-18 * 1e13),
                            "hop_distance": 1e-9, "attempt_frequency": 1e13, "activation_energy": 0.0},
                "poole_frenkel": {"value": 2.0, "activation_energy": 0.0, "relative_permittivity": 1e30}}
    assert set(examples) == set(LAWS), "a new law needs an example here"
    for tag, parameters in examples.items():
        law = LAWS[tag](law=tag, **parameters)
        if tag == "wiedemann_franz":
            material = Material(electrical_conductivity={"law": "constant", "value": 1e5},
                                thermal_conductivity={"law": tag})
            assert material.thermal_conductivity.is_positive(150.0, 1e4)
            continue
        assert float(law.at(300.0, NUMPY)) == pytest.approx(2.0), tag


KINETICS_EXAMPLES = {"vacancy_hopping": {"activation_energy_set": {"intercept": 0.93, "slope": 1.4e-26},
                                         "activation_energy_reset": 1.18}}


def test_every_kinetics_law_has_a_rate_and_verilog_a():
    for tag, law in KINETICS.items():
        instance = law(law=tag, **KINETICS_EXAMPLES.get(tag, {}))
        assert instance.rate(900.0, 1e8, 1e25, 1.0) > 0, tag
        if law.moves_state:  # its Verilog-A is the dynamic model's, with the state integrated
            assert instance.state_change_rate(1.0, 1e25, -1.0) < 0
            continue
        declarations, statements = instance.verilog_a()
        assert "rate =" in statements, tag
        assert all(hasattr(instance, key) for _, key, _ in law.verilog_parameters), tag


def test_every_quantity_has_a_unit_and_unknown_columns_are_refused():
    for q in quantities.STEADY + quantities.BALANCES + quantities.PROBE + quantities.BOOKKEEPING:
        assert q.unit and q.description, q.name
    assert quantities.describe("probes/active/E_max").unit == "V/m"
    assert quantities.describe("T_max_r").unit == "m"
    assert quantities.describe("parameters/materials.TaOx.electrical_conductivity.value").unit == "S/m"
    with pytest.raises(KeyError, match="not a registered quantity"):
        quantities.describe("temperature_maximum")


def test_a_record_with_an_unregistered_quantity_is_refused_not_dropped():
    from solver.sweep.store import flatten_record

    with pytest.raises(KeyError, match="new_thing"):
        flatten_record({"current": 1.0, "new_thing": 2.0})
    assert flatten_record({"current": 1.0, "probes": {"a": {"T_mean": 3.0}}}) == \
        {"current": 1.0, "probes/a/T_mean": 3.0}


def test_a_failed_quantity_is_nan_unless_it_is_known_without_a_solution():
    state = SimpleNamespace(converged=False, current_mode=False, drive=0.8)
    values = {q.name: q.value(state) for q in quantities.STEADY}
    assert values["voltage_applied"] == 0.8
    assert all(math.isnan(v) for k, v in values.items() if k != "voltage_applied")


# ---------------------------------------------------------------- package structure


def _module_imports() -> dict[str, set[str]]:
    """solver.<package> -> the solver packages its modules import at module level."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).with_suffix("")
        package = relative.parts[0] if len(relative.parts) > 1 else relative.parts[0]
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level only: imports inside functions are deliberate
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                parts = name.split(".")
                if parts[0] == "solver" and len(parts) > 1 and parts[1] != package:
                    graph.setdefault(package, set()).add(parts[1])
    return graph


def test_packages_import_each_other_without_cycles():
    graph = _module_imports()
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt] if nxt in path else path + [nxt]
                raise AssertionError("import cycle between packages: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for package in sorted(graph):
        if package not in state:
            visit(package, [package])


def test_the_library_never_imports_or_prints_through_the_cli():
    for path in PACKAGE.rglob("*.py"):
        name = path.relative_to(PACKAGE).as_posix()
        if name in ("cli.py", "__main__.py") or name.endswith("command.py"):
            continue
        text = path.read_text()
        assert "solver.cli" not in text and "from solver import cli" not in text, name
        calls = [node for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Call)
                 and isinstance(node.func, ast.Name) and node.func.id == "print"]
        assert not calls, f"{name} prints; report through a `say` callback"
