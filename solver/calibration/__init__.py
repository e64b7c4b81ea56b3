"""Calibration: fit a cell's uncertain parameters to measured device data (`filatherm calibrate`),
and the local sensitivity of its headline figures to every parameter (`filatherm sensitivity`).

    (solver/config/calibration.py: the config's `calibration:` section, what to fit)
    parameters.py    fit parameters: key paths, bounds, log/linear variables; enumeration
    measurements.py  the measurement file (YAML or CSV; docs/measurements.md)
    plan.py          which FEM solves a set of measurements needs (branches per state)
    journal.py       the append-only cache of solved points (resume)
    pool.py          the MPI work queue that solves branches
    evaluate.py      parameter vectors -> solved records (cache first, then the pool)
    predict.py       solved records -> predicted measurements
    fit.py           weighted, bounded least squares; covariance; identifiability
    report.py        calibration.json, the calibrated config, summary and plots
    workflow.py      `calibrate`: all of the above on COMM_WORLD
    sensitivity.py   `sensitivity`: headline figures per perturbed parameter, ranked

Its modules import DOLFINx only inside functions (solver.fem), so that parsing and validation stay
fast.
"""
