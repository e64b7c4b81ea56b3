"""Mutation test: planting a physics error in the weak form fails the verification tests.

Kind: a test of the tests. Each planted error (tests/mutations.py: the Peltier flux with the
wrong sign, kappa doubled, the Seebeck term dropped from J) is applied by monkeypatching
solver.fem.forms in a child pytest (`-p mutations`, FILATHERM_MUTATION=<name>), which runs the
verification subset below. For each error, at least one of them must fail, and the
strong-form manufactured solution must fail in particular; with no error planted (the same
harness) all of them must pass. No file is edited.

Run one by hand:
    FILATHERM_MUTATION=flip_peltier PYTHONPATH=tests .venv/bin/python -m pytest -p mutations \\
        tests/test_mms_strong_form.py tests/test_verification_1d.py
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ElementTree

import pytest

from conftest import ROOT, child_env
from mutations import ENV, MUTATIONS

pytest.importorskip("dolfinx")

VERIFICATION = [
    "tests/test_mms_strong_form.py",
    "tests/test_verification_1d.py",
    "tests/test_solver_device.py::test_default_device_peltier_shift_has_its_sign_and_size",
]
STRONG_FORM_MMS = "test_mms_strong_form.test_strong_form_manufactured_solution_converges"


def run_verification(tmp_path, mutation: str | None) -> dict[str, str]:
    """Outcome ('passed' / 'failed' / 'skipped') of each verification test, by id."""
    import subprocess

    report = tmp_path / f"{mutation or 'none'}.xml"
    env = child_env({"PYTHONPATH": str(ROOT / "tests"), ENV: mutation or ""})
    subprocess.run([sys.executable, "-m", "pytest", "-p", "mutations", "-q", "-p", "no:cacheprovider",
                    f"--junitxml={report}", *VERIFICATION],
                   cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    outcomes = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname').split('.')[-1]}.{case.get('name')}"
        children = {child.tag for child in case}
        outcomes[name] = ("failed" if children & {"failure", "error"}
                          else "skipped" if "skipped" in children else "passed")
    return outcomes


@pytest.mark.slow
def test_verification_tests_pass_on_the_real_forms(tmp_path):
    outcomes = run_verification(tmp_path, None)
    assert len(outcomes) >= 7, outcomes
    assert set(outcomes.values()) == {"passed"}, outcomes


@pytest.mark.slow
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_planted_error_fails_the_verification_tests(tmp_path, mutation):
    outcomes = run_verification(tmp_path, mutation)
    failed = sorted(name for name, outcome in outcomes.items() if outcome == "failed")
    assert failed, f"{mutation}: every verification test passed: {outcomes}"
    mms = [name for name in outcomes if name.startswith(STRONG_FORM_MMS)]
    assert mms and all(outcomes[name] == "failed" for name in mms), f"{mutation}: {outcomes}"
    assert "skipped" not in outcomes.values(), outcomes
