"""The crossbar experiments and the training for every variant of a family.

A results directory of a parameter sweep holds one compact model per variant
(solver.compact.family); `filatherm crossbar` and `filatherm train` run for each, writing
crossbar/ and train/ beside each variant's model/ (the primary in RESULTS_DIR itself, the others
under RESULTS_DIR/variants/<name>/). With --output DIR the same layout goes under DIR.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Optional

from solver.compact.family import variants_of
from solver.config import Config


def run_for_family(runner: Callable[..., list[Path]], results: str | Path, output: Optional[str | Path] = None,
                   overrides: Iterable[str] = (), force: bool = False, say: Callable[[str], None] = print,
                   config: Optional[Config] = None) -> list[Path]:
    """`runner(root, output, overrides, force, say, config)` (run_experiments or run_training)
    for every variant; a compact_model.json given directly is a family of one."""
    from solver.compact.workflow import variant_config

    results = Path(results)
    if not results.is_dir():
        return runner(results, output, overrides, force, say, config)
    variants = variants_of(results)
    files: list[Path] = []
    for variant in variants:
        if len(variants) > 1:
            say(f"variant {variant.label}{' (primary)' if variant.primary else ''}:")
        target = None if output is None else Path(output) / variant.root.relative_to(results)
        current = None if config is None else variant_config(config, variant.parameters)
        files += runner(variant.root, target, overrides, force, say, current)
    return files
