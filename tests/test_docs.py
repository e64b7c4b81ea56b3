"""Documentation that is generated from code stays in step with it."""

from solver.config.reference import current_doc_table, generate


def test_config_reference_matches_the_schema():
    assert current_doc_table() == generate(), "regenerate it: python -m solver.config.reference"
