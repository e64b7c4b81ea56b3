"""`filatherm run`: every stage in order, reusing what is up to date (solver.pipeline.stages)."""
