"""PNG of the meshed cell: regions coloured, full cell beside a zoom on the filament."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from solver.config.schema import Config

REGION_COLOURS = ("#8da0cb", "#fc8d62", "#e78ac3", "#66c2a5", "#a6d854", "#ffd92f", "#e5c494",
                  "#b3b3b3", "#1f78b4", "#33a02c")


def filament_zoom(config: Config) -> tuple[float, float, float, float]:
    """(r_max, z_min, z_max) window, config units, around the filaments (or the thinnest layer)."""
    geo = config.geometry
    spans = [(z0, z0 + layer.thickness, layer.filament.radius)
             for layer, z0 in zip(geo.layers, geo.z_bottoms()) if layer.filament is not None]
    if not spans:
        i = int(np.argmin([layer.thickness for layer in geo.layers]))
        z0 = geo.z_bottoms()[i]
        spans = [(z0, z0 + geo.layers[i].thickness, geo.radius / 10)]
    z_lo = min(s[0] for s in spans)
    z_hi = max(s[1] for s in spans)
    r_hi = max(s[2] for s in spans)
    pad = max(z_hi - z_lo, r_hi)
    return 0.0, min(geo.radius, 2.5 * r_hi + pad), max(0.0, z_lo - pad), min(geo.height, z_hi + pad)


def plot_mesh(path: Path, config: Config, points: np.ndarray, triangles: np.ndarray,
              region_index: np.ndarray, region_names: list[str]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch, Rectangle

    from solver.io import atomic_path

    colours = ListedColormap([REGION_COLOURS[i % len(REGION_COLOURS)] for i in range(len(region_names))])
    r0, r1, z0, z1 = filament_zoom(config)
    fig, (full, zoom) = plt.subplots(1, 2, figsize=(11, 5), gridspec_kw={"width_ratios": [1.2, 1]})
    for ax, linewidth in ((full, 0.1), (zoom, 0.25)):
        ax.tripcolor(points[:, 0], points[:, 1], triangles, facecolors=region_index.astype(float),
                     cmap=colours, vmin=-0.5, vmax=len(region_names) - 0.5, edgecolors="k",
                     linewidth=linewidth)
        ax.set_aspect("equal")
        ax.set_xlabel(f"r [{config.units}]")
        ax.set_ylabel(f"z [{config.units}]")
    full.add_patch(Rectangle((r0, z0), r1 - r0, z1 - z0, fill=False, edgecolor="red", linewidth=1.2))
    full.set_title(f"{config.name}: {len(triangles)} cells")
    zoom.set_xlim(r0, r1)
    zoom.set_ylim(z0, z1)
    zoom.set_title("filament (red box)")
    handles = [Patch(color=colours(i), label=name) for i, name in enumerate(region_names)]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 5), frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    plt.close(fig)
    return path
