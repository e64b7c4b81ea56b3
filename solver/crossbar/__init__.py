"""The compact crossbar model: fully parallel stochastic-pulse updates with half-select
disturbance, weight mapping and hardware-aware training (`filatherm crossbar`, `filatherm train`).

Public API:

- :func:`solver.crossbar.device.fitted_device`, :func:`solver.crossbar.device.linear_device`,
  :func:`solver.crossbar.device.half_select_device` – device technologies
  (:class:`solver.crossbar.device.DeviceModel`);
- :class:`solver.crossbar.array.CrossbarArray` – an array under a biasing scheme:
  `update(x, d, lr, BL)`, `apply_trains(...)`, `apply_phase(...)`, `program_rows(counts)`,
  `program_column(column, counts)`;
- :mod:`solver.crossbar.optimizers` – the training algorithms (plain SGD, Tiki-Taka, chopped
  Tiki-Taka, mixed precision), one class per algorithm;
- :func:`solver.crossbar.training.train_mlp` – the network and its loop;
  :func:`solver.crossbar.datasets.load_dataset` – digits or an .npz;
- :func:`solver.crossbar.experiments.run_experiments`, :func:`solver.crossbar.training_run.run_training`,
  :func:`solver.crossbar.training_run.run_comparison`, :func:`solver.crossbar.design_map.run_design_map`
  – the verbs as functions;
- :func:`solver.crossbar.bench.updates_per_second`, :func:`solver.crossbar.bench.algorithm_updates_per_second`
  – throughput for scripts/bench.py.
- :class:`solver.crossbar.lines.LineNetwork` – line resistance: device voltages of every pulse
  slot by a nodal solve (`CrossbarArray(..., lines=...)`);
"""
