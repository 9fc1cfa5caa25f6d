"""Figures an asset draws: saved under outputs/ (and logged to MLflow by some), shown inline in
the asset's materialization in the Dagster UI."""

import base64
import io
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import matplotlib.pyplot as plt

from dagster_project.settings import outputs_dir

FILE_DPI = 110  # the PNG under outputs/
INLINE_DPI = 72  # the copy inside the event log: about a third of the bytes, enough for a screen


@dataclass(frozen=True)
class SavedFigure:
    path: Path
    metadata: dg.MetadataValue  # markdown: the image inline, then where the file is


def save_figure(fig: plt.Figure, name: str, caption: str | None = None) -> SavedFigure:
    """Save `fig` as outputs/<name>, close it, and return the file with its inline metadata
    (markdown with the image as a data URI, which the Dagster UI renders on the asset's page)."""
    path = outputs_dir() / name
    fig.savefig(path, dpi=FILE_DPI)
    inline = io.BytesIO()
    fig.savefig(inline, dpi=INLINE_DPI, format="png")
    plt.close(fig)
    encoded = base64.b64encode(inline.getvalue()).decode()
    text = f"![{caption or name}](data:image/png;base64,{encoded})\n\n`{path}`"
    return SavedFigure(path, dg.MetadataValue.md(text))
