"""Thermal crosstalk between the cells of a crossbar tile (`filatherm crosstalk`; issue 22)."""
