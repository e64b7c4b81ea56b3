#!/usr/bin/env bash
# Forward-compatibility lanes: run the test suite against newer DOLFINx releases
# inside cached Debian chroots, without touching the host's DOLFINx 0.5.2.
#   trixie = Debian 13: DOLFINx 0.9.0,  Python 3.13
#   sid    = unstable:  DOLFINx 0.11.x, Python 3.14 (moves over time)
#
# Usage: scripts/test-compat.sh [trixie|sid|all] [-- PYTEST_ARGS...]
# Env:   FILATHERM_CHROOT_CACHE (default /var/cache/filatherm), FILATHERM_MIRROR
# Exit:  pytest's status (for "all": the first non-zero one); 2 on usage/setup errors.
set -euo pipefail

die() { echo "test-compat: error: $*" >&2; exit 2; }

# chroot, mount and debootstrap all need root; fail fast with one clear line.
[[ $EUID -eq 0 ]] || die "must be run as root (needs chroot, mount, debootstrap)"
if ! command -v debootstrap >/dev/null; then  # a fresh CI machine: install the one tool we need
  echo "test-compat: installing debootstrap" >&2
  apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y debootstrap >&2 \
    || die "debootstrap is missing and could not be installed (apt-get install debootstrap)"
fi

suites=(trixie sid)
case "${1:-all}" in
  trixie|sid) suites=("$1"); shift ;;
  all) shift || true ;;
  --) ;;
  *) die "usage: $0 [trixie|sid|all] [-- PYTEST_ARGS...]" ;;
esac
if [[ ${1:-} == -- ]]; then shift; fi
pytest_args=("$@")

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${FILATHERM_CHROOT_CACHE:-/var/cache/filatherm}
# Same Debian mirror as the host: it is the only one the network reaches here.
MIRROR=${FILATHERM_MIRROR:-$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' \
  | grep -m1 -E '/debian/?$' || echo http://deb.debian.org/debian/)}
PKGS=(python3-dolfinx-real python3-gmsh python3-meshio python3-h5py python3-mpi4py
      python3-petsc4py python3-scipy python3-matplotlib python3-sklearn python3-yaml
      openmpi-bin python3-pytest python3-hypothesis python3-pydantic python3-rich
      python3-jsonschema python3-sympy)

mkdir -p "$CACHE"
# One run at a time: two runs would race on building/mounting the same chroot.
exec 9>"$CACHE/.lock"
flock 9

# Mounts are recorded so the EXIT trap can undo them even after a failure or Ctrl-C.
MOUNTS=()
mnt() { mount "$@"; MOUNTS+=("${@: -1}"); }
unmount_all() {
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" || true
  done
  MOUNTS=()
}
trap unmount_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# We hold the lock, so mounts already under the chroot are leftovers of a run that
# was killed with SIGKILL (the trap could not run) or were made by hand.
no_stale_mounts() {  # dir
  ! findmnt -rno TARGET | grep -q "^$1/" ||
    die "stale mounts under $1 (a killed run?): list them with 'findmnt | grep $1' and umount each"
}

build_chroot() {  # suite dir
  local suite=$1 dir=$2
  # The marker is written last, so a half-built chroot is rebuilt, never reused.
  [[ -f $dir/.filatherm-ready ]] && return 0
  echo "test-compat: building $dir from $MIRROR (one-off, ~3 min, ~3 GB)" >&2
  no_stale_mounts "$dir"  # never rm -rf through a leftover bind mount of the repo
  rm -rf "$dir"
  debootstrap --variant=minbase "$suite" "$dir" "$MIRROR" >&2
  # A mirror snapshot of sid carries an expired Release file (Valid-Until is one
  # week for sid); accept it rather than fail the build.
  echo 'Acquire::Check-Valid-Until "false";' >"$dir/etc/apt/apt.conf.d/99filatherm"
  mnt -t proc proc "$dir/proc"  # maintainer scripts need /proc
  chroot "$dir" apt-get -q update >&2
  # Installed with apt, not debootstrap --include, which cannot resolve virtual packages.
  chroot "$dir" env DEBIAN_FRONTEND=noninteractive \
    apt-get -q install -y --no-install-recommends "${PKGS[@]}" >&2
  chroot "$dir" apt-get clean
  unmount_all
  touch "$dir/.filatherm-ready"
}

# Mount what the tests need into the chroot (undone by unmount_all / the EXIT trap).
mount_chroot() {  # dir
  local dir=$1
  no_stale_mounts "$dir"
  mkdir -p "$dir/repo"
  mnt --bind "$REPO" "$dir/repo"          # read-write: tests may write results/
  mnt -t proc proc "$dir/proc"
  mnt -t sysfs -o ro sysfs "$dir/sys"     # hwloc/UCX (Open MPI) probe CPU and NIC topology
  mnt -t tmpfs -o mode=1777 tmpfs "$dir/dev/shm"  # MPI shared-memory transport
}

# Clean environment: nothing from the host's Python (PYTHONPATH, venv) leaks in.
# HOME/XDG_CACHE_HOME are inside the chroot so the FFCx JIT cache (~/.cache/fenics)
# is per-version and never shared with the host's 0.5.2 modules.
# No .pyc files: they would land in the host repo, root-owned, per Python version.
ENV=(/usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  HOME=/root XDG_CACHE_HOME=/root/.cache LANG=C.UTF-8 TERM="${TERM:-dumb}" CI="${CI:-}"
  PYTHONPATH=/repo PYTHONDONTWRITEBYTECODE=1
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  # Open MPI 5 (trixie) warns "Unable to find reachable pairing" on mpirun -n 2
  # when TCP may pick the VM's NICs; keep its TCP transport on loopback.
  OMPI_MCA_btl_tcp_if_include=lo)
# Keep the host's OpenBLAS workaround for this CPU, if any.
[[ -z ${OPENBLAS_CORETYPE:-} ]] || ENV+=(OPENBLAS_CORETYPE="$OPENBLAS_CORETYPE")
[[ -z ${OPENBLAS_L2_SIZE:-} ]] || ENV+=(OPENBLAS_L2_SIZE="$OPENBLAS_L2_SIZE")

# Build everything first, outside any `||`: bash ignores set -e inside such calls.
for s in "${suites[@]}"; do build_chroot "$s" "$CACHE/chroot-$s"; done

status=0
for s in "${suites[@]}"; do
  dir=$CACHE/chroot-$s
  mount_chroot "$dir"
  echo "test-compat: [$s] $(chroot "$dir" "${ENV[@]}" python3 -c \
    'import sys, dolfinx; print("dolfinx", dolfinx.__version__, "python", sys.version.split()[0])')" >&2
  rc=0
  chroot "$dir" "${ENV[@]}" \
    bash -c 'cd /repo && exec python3 -m pytest -q -p no:cacheprovider tests "$@"' \
    pytest "${pytest_args[@]}" || rc=$?
  unmount_all
  echo "test-compat: [$s] pytest exit status $rc" >&2
  ((status != 0)) || status=$rc   # "all": report the first failure
done
exit "$status"
