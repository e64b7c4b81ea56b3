"""Documentation that is generated from code stays in step with it (identity checks of the
generators against the committed files; regenerate with `python scripts/generate_docs.py`)."""

from solver.config.reference import current_doc_table, generate
from solver.quantities import current_outputs_tables, outputs_tables


def test_config_reference_matches_the_schema():
    assert current_doc_table() == generate(), "regenerate it: python scripts/generate_docs.py"


def test_output_reference_matches_the_quantity_table():
    assert current_outputs_tables() == outputs_tables(), "regenerate it: python scripts/generate_docs.py"
