"""The report's charts as PNG bytes (matplotlib, no pyplot state, no display)."""

from __future__ import annotations

import io

# Okabe-Ito: distinguishable with colour-blindness and, with hatching for idle, in grey.
CATEGORY_COLOURS = {
    "training": "#0072B2",
    "inference": "#E69F00",
    "storage": "#009E73",
    "network": "#CC79A7",
    "data_processing": "#56B4E9",
    "other": "#999999",
}
FALLBACK_COLOURS = ("#D55E00", "#F0E442", "#000000")
WIDTH_PX = 640
DPI = 200  # drawn at twice the display size for sharp phone screens


def _money_axis(currency: str):
    """Tick labels like ``$12k`` or ``NOK 1.2M``."""
    from matplotlib.ticker import FuncFormatter  # matplotlib is imported when a chart is drawn

    prefix = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, f"{currency} ")

    def label(value: float, _pos: int) -> str:
        size = abs(value)
        if size >= 1e6:
            return f"{prefix}{value / 1e6:.3g}M"
        if size >= 1e3:
            return f"{prefix}{value / 1e3:.3g}k"
        return f"{prefix}{value:.3g}"

    return FuncFormatter(label)


def weekly_spend_chart(series: dict, currency: str, title: str) -> bytes:
    """An eight-week stacked bar chart by category, idle GPU cost hatched; PNG bytes."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    fig = Figure(figsize=(WIDTH_PX / 100, 3.8), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    positions = list(range(len(series["labels"])))
    bottoms = [0.0] * len(positions)
    handles = []
    for index, (name, label) in enumerate(zip(series["categories"], series["category_labels"])):
        colour = CATEGORY_COLOURS.get(name, FALLBACK_COLOURS[index % len(FALLBACK_COLOURS)])
        busy = [float(v) for v in series["busy"][name]]
        idle = [float(v) for v in series["idle"][name]]
        ax.bar(positions, busy, bottom=bottoms, color=colour, width=0.7, edgecolor="white", linewidth=0.4)
        bottoms = [b + v for b, v in zip(bottoms, busy)]
        if any(idle):
            ax.bar(
                positions,
                idle,
                bottom=bottoms,
                color=colour,
                width=0.7,
                hatch="////",
                edgecolor="white",
                linewidth=0.4,
                alpha=0.55,
            )
            bottoms = [b + v for b, v in zip(bottoms, idle)]
        handles.append(Patch(facecolor=colour, label=label))
    handles.append(Patch(facecolor="#bbbbbb", hatch="////", edgecolor="white", label="Idle GPU"))
    ax.set_title(title, fontsize=9, loc="left")
    ax.set_xticks(positions, [lbl.split("-")[1] for lbl in series["labels"]], fontsize=7)
    ax.set_xlabel(f"ISO week ({series['labels'][0]} to {series['labels'][-1]})", fontsize=7)
    ax.set_ylabel(f"Effective cost ({currency})", fontsize=7)
    ax.yaxis.set_major_formatter(_money_axis(currency))
    ax.tick_params(axis="y", labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.5)
    ax.set_axisbelow(True)
    fig.legend(handles=handles, fontsize=7, frameon=False, loc="outside lower center", ncol=4)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
