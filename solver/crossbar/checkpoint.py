"""Per-epoch checkpoints of training runs, so that a killed `filatherm train` continues from
the last finished epoch with the numbers an uninterrupted run gives.

One .npz per run (numpy arrays only, read without pickles), replaced atomically after every
epoch: the curves so far, the state of the random generator (as JSON) and every array of every
layer (weights, device prefactors, buffers, choppers, counters; see
solver.crossbar.optimizers). It belongs to one run identity, a hash of everything that defines
the run (config sections, device, data, seed); a checkpoint of any other run, or one that
cannot be read, is ignored and the run starts over.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Optional

import numpy as np

from solver.io import atomic_path

STATE_DIR = ".state"  # under the verb's output directory


def identity(**parts) -> str:
    """A stable hash of JSON-serialisable parts."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Checkpoint:
    def __init__(self, path: str | Path, run_identity: str):
        self.path = Path(path)
        self.identity = run_identity

    def load(self) -> Optional[dict[str, np.ndarray]]:
        """The saved state of this run, or None (no file, another run's, unreadable)."""
        if not self.path.is_file():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                if str(archive["identity"]) != self.identity:
                    return None
                return {key: archive[key] for key in archive.files if key != "identity"}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
            return None

    def epochs_done(self) -> int:
        saved = self.load()
        return 0 if saved is None else len(saved["loss"])

    def save(self, arrays: dict[str, np.ndarray]) -> None:
        with atomic_path(self.path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, identity=np.array(self.identity), **arrays)
