"""The report: figures and summary.md of a results directory (reads files only)."""
