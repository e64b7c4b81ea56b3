"""The config's PETSc options (solver.petsc) as PETSc sees them, and the checks they pass.

Checked when the config is validated (solver.config.schema, no PETSc needed): only options of
the nonlinear and linear solvers (`snes_`, `ksp_`, `pc_`, `mat_`, and the same for a block of a
fieldsplit preconditioner: `fieldsplit_phi_` or `fieldsplit_T_` before them, the fields of
solver.fem.snes); a viewer or monitor prints
to the terminal only (`true`, `ascii`, `ascii::<format>`): PETSc viewers otherwise write files
(`ascii:/any/path` creates or truncates any writable file), open windows or sockets.

Checked when a solver is set up (`apply_to`): a value PETSc rejects (`pc_type: banana`) and an
option PETSc does not read with these settings (a misspelt name, or `ksp_rtol` with
`ksp_type: preonly`) are bad input, one line naming the key. Viewers are read at the end of a
solve and `mat_` options by the factorisation, so only their values are checked. A fieldsplit
preconditioner reads its blocks' options when it is set up: `check_setup` sets it up on a tiny
matrix first, so those are checked too.
"""

from __future__ import annotations

import ctypes
from typing import Optional, Union

from solver.errors import InputError

PREFIXES = ("snes_", "ksp_", "pc_", "mat_")
SPLITS = ("phi", "T")  # the blocks of a fieldsplit preconditioner (solver.fem.snes names them)
_VIEWER_WORDS = ("view", "monitor", "reason")

Value = Union[bool, int, float, str]


def is_viewer(name: str) -> bool:
    """Options that print (viewers, monitors, converged reasons) rather than configure."""
    return any(word in name for word in _VIEWER_WORDS)


def solver_option(key: str) -> str:
    """The option without a fieldsplit block's prefix (`fieldsplit_T_pc_type` -> `pc_type`)."""
    for split in SPLITS:
        block = f"fieldsplit_{split}_"
        if key.startswith(block):
            return key[len(block):]
    return key


def check_names_and_values(options: dict[str, Value]) -> None:
    """The checks that need no PETSc (raises ValueError with `key: message`, for the schema)."""
    for key, value in options.items():
        if not key or key.startswith("-") or not key.replace("_", "").isalnum():
            raise ValueError(f"{key!r}: PETSc option names are like ksp_type (no leading '-')")
        if not solver_option(key).startswith(PREFIXES):
            blocks = ", ".join(f"fieldsplit_{split}_" for split in SPLITS)
            raise ValueError(f"{key}: only solver options ({', '.join(p + '*' for p in PREFIXES)}, also after "
                             f"{blocks}) may be set here")
        if isinstance(value, str) and ("/" in value or "\\" in value):
            raise ValueError(f"{key}: {value!r} names a file; PETSc options here may not read or write files")
        if is_viewer(key) and not isinstance(value, bool):
            text = str(value)
            kind, _, rest = text.partition(":")
            if kind != "ascii" or (rest and not rest.startswith(":")):
                raise ValueError(f"{key}: {text!r}: a viewer may only print to the terminal "
                                 "(true, ascii or ascii::<format>)")


def petsc_strings(options: dict[str, Value]) -> dict[str, str]:
    """Option values as PETSc reads them: `true` is a flag (no value; `snes_monitor true`
    would ask for a viewer named "true"), `false` leaves a viewer off and is "false" for any
    other option."""
    out = {}
    for key, value in options.items():
        if value is True:
            out[key] = ""
        elif value is False:
            if not is_viewer(key):
                out[key] = "false"
        else:
            out[key] = str(value)
    return out


def rejected(err: Exception, prefix: str) -> InputError:
    """A PETSc error while reading the options as one line; where PETSc names the option, it
    is named as the config key (`solver.petsc.pc_fieldsplit_type`), not as the internal
    `-<prefix>pc_fieldsplit_type` this solver's options are stored under."""
    lines = [line.strip().removeprefix("[0]").strip() for line in str(err).splitlines() if line.strip()]
    detail = (lines[-1] if lines else str(err)).replace(f"-{prefix}", "solver.petsc.")
    return InputError(f"solver.petsc: PETSc rejects the options ({detail})")


def unused(names: list[str], prefix: str) -> list[str]:
    """Of the options `prefix + name` in PETSc's database, those no object has read (empty
    when this PETSc does not expose PetscOptionsUsed: the check is then skipped)."""
    query = _options_used()
    if query is None:
        return []
    out = []
    for name in names:
        flag = ctypes.c_int(0)
        if query(None, (prefix + name).encode(), ctypes.byref(flag)) == 0 and not flag.value:
            out.append(name)
    return out


def check_read(user_options: dict[str, Value], prefix: str) -> None:
    """After setFromOptions: every configuring option the user gave was read by PETSc."""
    names = [key for key in user_options if not is_viewer(key) and not solver_option(key).startswith("mat_")]
    missing = unused(names, prefix)
    if missing:
        raise InputError(f"solver.petsc.{missing[0]}: PETSc does not read this option with these solver "
                         "settings (misspelt, or without effect here)")


def check_setup(prefix: str) -> None:
    """Set up the linear solver the options describe on an identity matrix with one row per
    block (one row without fieldsplit): a factorisation package that is not installed
    (`pc_factor_mat_solver_type: superlu_dist` without it) or a block option PETSc rejects
    fails here, in milliseconds, rather than at every point of a sweep; and a fieldsplit's
    block options are read, so `check_read` after it sees whether they are used."""
    from petsc4py import PETSc

    ksp = PETSc.KSP().create(PETSc.COMM_SELF)
    ksp.setOptionsPrefix(prefix)
    ksp.setFromOptions()
    pc = ksp.getPC()
    blocks = SPLITS if pc.getType() == PETSc.PC.Type.FIELDSPLIT else ("",)
    n = len(blocks)
    matrix = PETSc.Mat().createAIJ([n, n], nnz=1, comm=PETSc.COMM_SELF)
    index_sets = [PETSc.IS().createGeneral([i], comm=PETSc.COMM_SELF) for i in range(n)]
    try:
        for i in range(n):
            matrix.setValue(i, i, 1.0)
        matrix.assemble()
        if n > 1:
            pc.setFieldSplitIS(*zip(blocks, index_sets))
        ksp.setOperators(matrix)
        ksp.setUp()
    finally:
        ksp.destroy()
        matrix.destroy()
        for index_set in index_sets:
            index_set.destroy()


_USED: Optional[object] = None


def _options_used():
    """PetscOptionsUsed from the PETSc library petsc4py runs on (via ctypes), or None."""
    global _USED
    if _USED is None:
        try:
            from petsc4py import PETSc

            function = ctypes.CDLL(PETSc.__file__).PetscOptionsUsed
            function.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
            function.restype = ctypes.c_int
            _USED = function
        except (OSError, AttributeError):
            _USED = False
    return _USED or None
