"""The compact crossbar model: fully parallel stochastic-pulse updates with half-select
disturbance, weight mapping and hardware-aware training (`filatherm crossbar`, `filatherm train`).

Public API:

- :func:`solver.crossbar.device.fitted_device`, :func:`solver.crossbar.device.linear_device`
  – device technologies (:class:`solver.crossbar.device.DeviceModel`);
- :class:`solver.crossbar.array.CrossbarArray` – an array under a biasing scheme:
  `update(x, d, lr, BL)`, `apply_trains(...)`, `apply_phase(...)`;
- :func:`solver.crossbar.experiments.run_experiments`, :func:`solver.crossbar.training_run.run_training`
  – the two verbs as functions;
- :class:`solver.crossbar.lines.LineNetwork` – line resistance: device voltages of every pulse
  slot by a nodal solve (`CrossbarArray(..., lines=...)`);
- :func:`solver.crossbar.bench.updates_per_second` – throughput for scripts/bench.py.
"""
