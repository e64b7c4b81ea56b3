"""What `crossbar` and `train` start from: a compact model, its stored config, an output root.

RESULTS_DIR may be a results directory (its model/compact_model.json is used) or the path of
any compact_model.json. Outputs go under --output DIR if given, else under the results
directory: for a compact_model.json inside a `model/` directory, that directory's parent;
otherwise the file's own directory.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from solver.compact.family import file_digest
from solver.compact.model import CompactModel
from solver.compact.stored_config import stored_config
from solver.config import Config
from solver.config.sections import CROSSBAR
from solver.errors import InputError


@dataclass
class Inputs:
    model: CompactModel
    model_path: Path
    config: Config
    root: Path  # where results are written
    model_digest: str = ""  # of the compact_model.json file: which exact model the results are of
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:12])  # shared by the files of one run


def load_inputs(results: str | Path, output: Optional[str | Path], overrides: Iterable[str],
                current: Optional[Config] = None) -> Inputs:
    """The compact model named by RESULTS_DIR, its config with overrides, and the output root;
    `current` (a pipeline's config) supplies the crossbar and training sections."""
    results = Path(results)
    if results.is_dir():
        model_path = results / "model" / "compact_model.json"
        default_root = results
    elif results.suffix == ".json":
        model_path = results
        default_root = results.parent.parent if results.parent.name == "model" else results.parent
    else:
        raise InputError(f"{results}: not a results directory or a compact_model.json")
    if not model_path.is_file():
        raise InputError(f"{model_path}: no compact model (run `filatherm fit {results}` first)")
    model = CompactModel.load(model_path)
    missing = [name for name in ("positive", "negative") if name not in model.branches.polarities]
    if missing:
        raise InputError(f"{model_path}: the compact model has no {missing[0]} branch (its sweep had too few "
                         f"{missing[0]} points); the crossbar writes with both polarities: sweep both")
    config = stored_config(model.document.source.config, overrides, f"{model_path}: source.config",
                           CROSSBAR, current)
    return Inputs(model, model_path, config, Path(output) if output else default_root, file_digest(model_path))
