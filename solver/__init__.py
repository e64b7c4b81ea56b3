"""filatherm: electro-thermal simulation of filamentary ReRAM cells, from geometry to crossbar."""

__version__ = "0.1.0"
