"""Richardson extrapolation of a quantity solved on three meshes, and its error estimate.

A quantity Q solved on meshes of size r h, h and h / r (`coarse`, `medium`, `fine`) behaves,
once the meshes resolve it, as Q(h) = Q_0 + C h^p. The three values give the observed order

    p = ln((Q_medium - Q_coarse) / (Q_fine - Q_medium)) / ln r,

the extrapolated value Q_0 = Q_fine + (Q_fine - Q_medium) / (r^p - 1), and the error of the
value asked for (the medium mesh, the one the user chose) |Q_medium - Q_0| times Roache's
safety factor 1.25 for three-mesh studies (P. J. Roache, J. Fluids Eng. 116, 405 (1994)).

When the three values do not converge monotonically (the differences change sign, or grow),
the meshes are not in the asymptotic range: the estimate falls back to the extrapolated value
Q_fine and an error of 1.25 times the largest difference, and says so (`observed` False). An
observed order outside ORDER_RANGE is flagged too: a small one (a corner singularity limits
convergence) is used as it is, which gives the large error it implies; a large one is capped
at the top of the range, which makes the correction, and the error, larger.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SAFETY = 1.25
ORDER_RANGE = (0.5, 4.0)


@dataclass(frozen=True)
class Estimate:
    """One quantity on the medium mesh, its h -> 0 limit and the error of the medium value."""

    value: float
    extrapolated: float
    error: float
    order: float  # observed (capped at ORDER_RANGE[1]), nan when the values do not converge
    observed: bool  # three values in the asymptotic range

    @classmethod
    def from_data(cls, data: dict) -> Estimate:
        return cls(data["value"], data["extrapolated"], data["error"],
                   math.nan if data["order"] is None else data["order"], data["observed"])

    def to_data(self) -> dict:
        return {"value": self.value, "extrapolated": self.extrapolated, "error": self.error,
                "order": None if math.isnan(self.order) else self.order, "observed": self.observed}


def richardson(coarse: float, medium: float, fine: float, ratio: float = 2.0) -> Estimate:
    """The estimate of `medium` from the three meshes (refinement `ratio` between each)."""
    if not all(math.isfinite(v) for v in (coarse, medium, fine)):
        return Estimate(medium, math.nan, math.nan, math.nan, False)
    first, second = medium - coarse, fine - medium
    if second == 0.0 and first == 0.0:  # does not depend on the mesh
        return Estimate(medium, medium, 0.0, math.nan, True)
    if first * second <= 0.0 or abs(second) >= abs(first):
        return Estimate(medium, fine, SAFETY * max(abs(first), abs(second)), math.nan, False)
    observed = math.log(first / second) / math.log(ratio)
    order = min(observed, ORDER_RANGE[1])
    extrapolated = fine + second / (ratio**order - 1.0)
    return Estimate(medium, extrapolated, SAFETY * abs(medium - extrapolated), order,
                    ORDER_RANGE[0] <= observed <= ORDER_RANGE[1])
