"""Switching kinetics, the fitted compact model, and its exports (`filatherm fit`).

Public API:

- :class:`solver.compact.model.CompactModel` – load compact_model.json and evaluate I, T,
  E, rate and delta_per_pulse at signed voltages (fitted law, or FEM table + law beyond).
- :func:`solver.compact.workflow.fit_results` – sweep.h5 -> RESULTS_DIR/model/.
- :func:`solver.compact.document.read_document` – validated compact_model.json
  (format described in solver/compact/document.py, schema in compact_model.schema.json).
- :mod:`solver.materials.kinetics` – the switching-kinetics laws (one class per law).
"""
