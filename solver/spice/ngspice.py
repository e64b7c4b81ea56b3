"""Run ngspice in batch mode and read its ASCII raw output.

    vectors = run_ngspice(netlist, "dc V1 0 1.5 0.01", ["v(a)", "i(V1)"], timeout=60)
    vectors["i(v1)"]          # numpy array, one value per sweep point (names lower-cased)

The netlist (title line, elements, models, `.include`s; no `.control` block and no `.end`) is
written to a temporary directory together with a `.control` block that runs `analysis` and
writes the requested vectors with `write` in ASCII (`set filetype=ascii`); `ngspice -b` runs
it there with a timeout, and the raw file is parsed here. `final=True` keeps only the last
point of each vector (a transient's end state) and saves just those vectors, so that a long
transient of a large netlist neither stores nor writes every node at every time step.

A missing ngspice, a netlist ngspice rejects, a failed analysis or a timeout is a
FilathermError with one line naming what happened (ngspice's own first error line included).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable

import numpy as np

from solver.errors import FilathermError

NETLIST_NAME = "circuit.cir"
RAW_NAME = "out.raw"
INSTALL_HINT = "the Debian package ngspice; `make setup` installs it"


def ngspice_executable() -> str:
    """Path of the ngspice program (FilathermError if it is not installed)."""
    path = shutil.which("ngspice")
    if path is None:
        raise FilathermError(f"ngspice not found on PATH ({INSTALL_HINT})")
    return path


def run_ngspice(netlist: str, analysis: str, vectors: Iterable[str], timeout: float,
                final: bool = False, workdir: str | Path | None = None) -> dict[str, np.ndarray]:
    """Run `analysis` (one ngspice analysis command, e.g. "tran 1n 100n") on `netlist` and
    return the requested vectors by lower-cased name. `workdir` keeps the files (a fresh
    temporary directory, removed afterwards, if None)."""
    vectors = [name.strip() for name in vectors]
    if not vectors:
        raise ValueError("no vectors requested")
    executable = ngspice_executable()
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="filatherm-ngspice-") as tmp:
            return _run_in(Path(tmp), executable, netlist, analysis, vectors, timeout, final)
    directory = Path(workdir)
    directory.mkdir(parents=True, exist_ok=True)
    return _run_in(directory, executable, netlist, analysis, vectors, timeout, final)


def _run_in(directory: Path, executable: str, netlist: str, analysis: str, vectors: list[str],
            timeout: float, final: bool) -> dict[str, np.ndarray]:
    raw = directory / RAW_NAME
    raw.unlink(missing_ok=True)
    (directory / NETLIST_NAME).write_text(_with_control(netlist, analysis, vectors, final),
                                          encoding="utf-8")
    try:
        done = subprocess.run([executable, "-b", NETLIST_NAME], cwd=directory, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise FilathermError(f"ngspice did not finish `{analysis}` within {timeout:g} s") from None
    output = done.stdout + "\n" + done.stderr
    problem = _first_error(output)
    if done.returncode != 0 or problem is not None or not raw.is_file():
        reason = problem or f"exit code {done.returncode}, no output written"
        raise FilathermError(f"ngspice failed on `{analysis}`: {reason}")
    values = read_ascii_raw(raw)
    if final:
        return {name: values[f"v({_FINAL_PREFIX}{k})"] for k, name in enumerate(_keys(vectors))}
    return {name: values[name] for name in _keys(vectors)}


_FINAL_PREFIX = "final_"


def _keys(vectors: list[str]) -> list[str]:
    return [name.lower() for name in vectors]


def _with_control(netlist: str, analysis: str, vectors: list[str], final: bool) -> str:
    lines = [netlist.rstrip("\n")]
    if final:
        # Only these vectors are kept in memory during the run.
        lines += [f".save {name}" for name in vectors]
    lines += [".control", "set filetype=ascii", analysis]
    if final:
        # Last values into a new one-point plot (in the analysis' own plot they would be
        # padded to its length).
        lines.append("let last = length(time) - 1")
        lines += [f"let fv{k} = {name}[last]" for k, name in enumerate(vectors)]
        lines += ["set fromplot = $curplot", "setplot new"]
        lines += [f"let {_FINAL_PREFIX}{k} = {{$fromplot}}.fv{k}" for k in range(len(vectors))]
        written = [f"{_FINAL_PREFIX}{k}" for k in range(len(vectors))]
    else:
        written = vectors
    lines.append(f"write {RAW_NAME} " + " ".join(written))
    # Without `quit` a batch run exits with code 1 even when it succeeded.
    lines += ["quit", ".endc", ".end", ""]
    return "\n".join(lines)


def _first_error(output: str) -> str | None:
    """ngspice's first line that reports an error (it often still exits with code 0)."""
    for line in output.splitlines():
        text = line.strip()
        lower = text.lower()
        if lower.startswith("error") or "error:" in lower or "fatal" in lower or \
                "simulation interrupted" in lower or "aborted" in lower or "timestep too small" in lower or \
                "no such vector" in lower or "singular matrix" in lower:
            return text
    return None


def read_ascii_raw(path: str | Path) -> dict[str, np.ndarray]:
    """Vectors of the (single, real) plot of an ngspice ASCII raw file, by lower-cased name."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    header: dict[str, str] = {}
    names: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.startswith("Variables:"):
            count = int(header["no. variables"])
            for entry in lines[index:index + count]:
                fields = entry.split()
                names.append(fields[1].lower())
            index += count
        elif line.startswith("Values:"):
            break
        elif ":" in line:
            key, value = line.split(":", 1)
            header[key.strip().lower()] = value.strip()
    else:
        raise FilathermError(f"{path}: not an ngspice ASCII raw file (no Values section)")
    if "complex" in header.get("flags", "").lower():
        raise FilathermError(f"{path}: complex data (only real analyses are read)")
    points = int(header["no. points"])
    tokens = " ".join(lines[index:]).split()
    stride = len(names) + 1  # each point: its index, then one value per variable
    if len(tokens) < points * stride:
        raise FilathermError(f"{path}: truncated ({len(tokens) // stride} of {points} points)")
    table = np.array(tokens[:points * stride], dtype=float).reshape(points, stride)[:, 1:]
    return {name: table[:, k].copy() for k, name in enumerate(names)}
