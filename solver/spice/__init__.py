"""ngspice: the compact model as a subcircuit, and crossbar arrays simulated at circuit level.

Public API:

- :func:`solver.compact.subcircuit.write_subcircuit` – compact_model.sub/.lib (`filatherm fit`);
- :func:`solver.spice.ngspice.run_ngspice` – run a netlist in batch mode, read the vectors;
- :func:`solver.spice.array.spice_array_update` – one parallel update of an array in ngspice,
  with and without line resistance, against the numpy model (solver.crossbar.lines);
- :func:`solver.spice.ir_drop.ir_drop_sweep` – update error vs array size and line resistance;
- :func:`solver.spice.workflow.run_spice_array` – `filatherm spice-array` as a function.
"""
