"""Which config sections define what: the one table of section ownership.

A result depends on some sections of the config and not on others. The mesh depends on the
geometry; a solved steady point on the geometry, the materials, the boundary conditions and
the solver settings; a solved pulse on those and the analysis; the fit, crossbar and training
stages only on their own sections. Stores and caches hash exactly the sections a result
depends on (solver.config.section_hash), so changing, say, the pulse width or the number of
swept voltages never invalidates a solved steady point.

    SECTIONS[name] -> the stage that owns the section
"""

from __future__ import annotations

SECTIONS: dict[str, str] = {
    "name": "identity",      # where results go; no result depends on it
    "units": "mesh",
    "geometry": "mesh",
    "mesh": "mesh",
    "probes": "mesh",        # probe boxes are cut into the mesh
    "materials": "steady",
    "state": "steady",       # the device state the material laws depend on
    "electrical": "steady",
    "thermal": "steady",
    "solver": "steady",
    "analysis": "transient",
    "sweep": "plan",         # which points to solve, not how one point is solved
    "kinetics": "fit",
    "pulses": "pulses",
    "crossbar": "crossbar",
    "training": "training",
    "calibration": "calibration",  # what `filatherm calibrate` fits; no solved point depends on it
    "crosstalk": "crosstalk",  # which tile solves `filatherm crosstalk` makes, from its own config
}

MESH = tuple(name for name, stage in SECTIONS.items() if stage == "mesh")
STEADY = MESH + tuple(name for name, stage in SECTIONS.items() if stage == "steady")
TRANSIENT = STEADY + ("analysis",)
# What the stages after the FEM solves read: `fit` may change all three, `crossbar` and
# `train` (whose compact model already holds the rates) only the last two.
POST_SOLVE = ("kinetics", "pulses", "crossbar", "training")
CROSSBAR = ("pulses", "crossbar", "training")

# The sections each post-solve stage of `filatherm run` reads (its cache key, with its input
# files): the fit also writes the aihwkit export, which carries crossbar.states and the noise.
STAGE_SECTIONS = {
    "fit": ("kinetics", "crossbar"),
    "pulses": ("pulses", "crossbar", "analysis"),  # the edges of the pulses: analysis.pulse
    "crossbar": ("crossbar",),
    "train": ("crossbar", "training"),
}


# A transient sweep stores each train's switching (the kinetics' rate integrated over it), so
# its points also depend on the kinetics.
TRANSIENT_POINT = TRANSIENT + ("kinetics",)


def solve_sections(kind: str) -> tuple[str, ...]:
    """Sections that define one solved point of a study of `kind` (steady, or transient: a
    pulse train with its switching)."""
    return TRANSIENT_POINT if kind == "transient" else STEADY
