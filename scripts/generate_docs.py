"""Regenerate the documentation that is derived from code (tests check that it is current):

    .venv/bin/python scripts/generate_docs.py

- docs/config.md: the key table, from the config schema and the law registries;
- docs/outputs.md: the quantity tables, from solver.quantities;
- solver/compact/compact_model.schema.json: from the compact-model document models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    from solver.compact.document import SCHEMA_PATH, json_schema
    from solver.config.reference import DOC_PATH, updated_doc
    from solver.quantities import OUTPUTS_DOC, updated_outputs_doc

    DOC_PATH.write_text(updated_doc())
    OUTPUTS_DOC.write_text(updated_outputs_doc())
    SCHEMA_PATH.write_text(json.dumps(json_schema(), indent=2) + "\n", encoding="utf-8")
    for path in (DOC_PATH, OUTPUTS_DOC, SCHEMA_PATH):
        sys.stdout.write(f"updated {path.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
