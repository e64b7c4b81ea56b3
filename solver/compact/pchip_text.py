"""The monotone cubic interpolation of solver.compact.dynamic.pchip as expression text, for
the exports of a device with a state (compact_model.va and compact_model.sub): the same
operations, in the conditional-expression syntax (`c ? a : b`, `&&`, `||`, `abs`) that
Verilog-A and ngspice's behavioural sources share.

The caller names its values: `values[k]` the quantity at node k, `widths[k]` the node spacing
x[k+1] - x[k], `nodes[k]` the abscissa x[k], `at` the (clipped) abscissa, `local(k)` the
position t in interval k. No expression divides by a number that can be zero (ngspice
evaluates both arms of a conditional), so a quantity equal at every node (e.g. I = 0 at
V = 0) interpolates to that value.
"""

from __future__ import annotations

from typing import Callable


def _same_sign(a: str, b: str) -> str:
    """numpy's sign(a) == sign(b)."""
    return f"(({a}) * ({b}) > 0 || (({a}) == 0 && ({b}) == 0))"


def deltas(values: list[str], widths: list[str]) -> list[str]:
    """(y[k+1] - y[k]) / h[k]."""
    return [f"(({values[k + 1]}) - ({values[k]})) / ({widths[k]})" for k in range(len(values) - 1)]


def slopes(delta: list[str], widths: list[str]) -> list[str]:
    """The node slopes of Fritsch & Carlson (SIAM J. Numer. Anal. 17, 238 (1980)) as
    solver.compact.dynamic.pchip sets them, from the deltas (expressions or names)."""
    if len(delta) == 1:
        return [delta[0], delta[0]]
    out = []
    for end, (d0, d1, ha, hb) in enumerate(((delta[0], delta[1], widths[0], widths[1]),
                                            (delta[-1], delta[-2], widths[-1], widths[-2]))):
        edge = f"(((2 * ({ha}) + ({hb})) * ({d0}) - ({ha}) * ({d1})) / (({ha}) + ({hb})))"
        kept = f"({_same_sign(edge, d0)} ? {edge} : 0)"
        limited = f"(!{_same_sign(d0, d1)} && abs({kept}) > abs(3 * ({d0})) ? 3 * ({d0}) : {kept})"
        out.append(limited)
    interior = []
    for k in range(1, len(delta)):
        d0, d1, h0, h1 = delta[k - 1], delta[k], widths[k - 1], widths[k]
        w1, w2 = f"(2 * ({h1}) + ({h0}))", f"(({h1}) + 2 * ({h0}))"
        # the weighted harmonic mean (w1 + w2) / (w1/d0 + w2/d1), written without dividing by a delta
        same = f"({d0}) * ({d1}) > 0"
        guard = f"({same} ? 0 : 1)"
        interior.append(f"({same} ? ({w1} + {w2}) * ({d0}) * ({d1}) / ({w1} * ({d1}) + {w2} * ({d0}) + {guard}) : 0)")
    return [out[0], *interior, out[1]]


def hermite(values: list[str], node_slopes: list[str], nodes: list[str], widths: list[str], at: str,
            local: Callable[[int], str]) -> str:
    """The interpolant at `at`: interval k by nested conditionals (x[k] <= at < x[k+1], the
    last interval closed), then the cubic Hermite form in t = local(k)."""
    def cubic(k: int) -> str:
        t = local(k)
        t2, t3 = f"({t}) * ({t})", f"({t}) * ({t}) * ({t})"
        h = widths[k]
        return (f"((2 * {t3} - 3 * {t2} + 1) * ({values[k]}) + ({t3} - 2 * {t2} + ({t})) * ({node_slopes[k]}) * ({h})"
                f" + (-2 * {t3} + 3 * {t2}) * ({values[k + 1]}) + ({t3} - {t2}) * ({node_slopes[k + 1]}) * ({h}))")

    if len(values) == 1:
        return f"({values[0]})"
    text = cubic(len(values) - 2)
    for k in range(len(values) - 3, -1, -1):
        text = f"(({at}) < ({nodes[k + 1]}) ? {cubic(k)} : {text})"
    return text
