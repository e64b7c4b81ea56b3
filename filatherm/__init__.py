"""filatherm: electro-thermal simulation of filamentary ReRAM cells, from geometry to crossbar.

The public Python API (docs/api.md); the code lives in the `solver` package.

    import filatherm
    filatherm.configure()
    config = filatherm.load_config("configs/default.yaml")
    result = filatherm.solve(config, voltage=1.0)
    print(result["T_max"])          # e.g. "861.4 K"
"""

from solver import __version__
from solver.api import (
    CrossbarResult,
    Fields,
    FitResult,
    PulseResult,
    SolveResult,
    SweepResult,
    TrainingResult,
    Value,
    configure,
    crossbar,
    fit,
    load_config,
    pulse,
    pulses,
    solve,
    sweep,
    train,
)
from solver.compact.model import CompactModel
from solver.config import Config
from solver.errors import ConfigError, FilathermError, InputError

__all__ = [
    "__version__", "configure", "load_config", "solve", "pulse", "sweep", "fit", "pulses", "crossbar", "train",
    "Config", "CompactModel", "Value", "Fields", "SolveResult", "PulseResult", "SweepResult", "FitResult",
    "CrossbarResult", "TrainingResult", "FilathermError", "InputError", "ConfigError",
]
