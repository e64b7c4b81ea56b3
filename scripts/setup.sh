#!/usr/bin/env bash
# `make setup`: install what is missing and nothing else, fast when everything is there.
#   1. Debian packages (DOLFINx 0.5.2, PETSc, gmsh, MPI, the numpy stack, ngspice) via apt-get;
#   2. the venv .venv made by /usr/bin/python3 with --system-site-packages, so it sees them;
#   3. the pure-Python extras from PyPI under a numpy<2 constraint, and filatherm itself (-e).
# Step 3 re-runs only when pyproject.toml or constraints.txt change (a stamp holds their hash).
set -euo pipefail
cd "$(dirname "$0")/.."

# libopenblas0-serial: Debian's alternatives then give MUMPS, PETSc and numpy an optimised BLAS
# instead of the reference one (about 3x faster LU on large meshes; serial, so MPI ranks do not
# oversubscribe the cores with threads).
PACKAGES=(python3-dolfinx-real python3-gmsh python3-meshio python3-h5py python3-mpi4py
          python3-petsc4py python3-scipy python3-matplotlib python3-sklearn python3-yaml
          python3-sympy openmpi-bin python3-venv libopenblas0-serial ngspice)
VENV=.venv
STAMP="$VENV/.filatherm-setup"

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  line="apt-get update && apt-get install -y ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "filatherm setup: missing Debian packages; as root run: $line" >&2
    exit 2
  fi
  echo "filatherm setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.base_prefix != "/usr")'; then
  echo "filatherm setup: creating $VENV (system site packages visible)"
  rm -rf "$VENV"
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi

want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$want" ]]; then
  echo "filatherm setup: installing Python extras into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
  "$VENV/bin/python" -c 'import dolfinx, petsc4py, gmsh, pydantic; assert int(pydantic.VERSION[0]) >= 2' \
    || { echo "filatherm setup: the venv cannot import the numerical stack" >&2; exit 1; }
  echo "$want" > "$STAMP"
fi
