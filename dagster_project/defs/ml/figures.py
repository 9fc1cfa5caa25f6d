"""Figures an asset draws: saved under outputs/ (and logged to MLflow by some), shown inline in
the asset's materialization in the Dagster UI."""

import base64
import io
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import matplotlib.pyplot as plt

from dagster_project.settings import outputs_dir
from ml.written_files import written_whole

FILE_DPI = 110  # the PNG under outputs/
INLINE_DPI = 72  # the copy inside the event log: about a third of the bytes, enough for a screen


@dataclass(frozen=True)
class SavedFigure:
    path: Path
    metadata: dg.MetadataValue  # markdown with the image inline and the path, or the path alone


def save_figure(fig: plt.Figure, name: str, caption: str | None = None, inline: bool = True) -> SavedFigure:
    """Save `fig` as outputs/<name>, close it, and return the file with its metadata: markdown
    with the image as a data URI (the Dagster UI shows it from the asset's page), or with
    `inline=False` only its path (figures few people open: every inline image is kept in the
    event log with each materialization, 50-150 KB apiece)."""
    path = outputs_dir() / name
    with written_whole(path) as partial:
        fig.savefig(partial, dpi=FILE_DPI)
    if not inline:
        plt.close(fig)
        return SavedFigure(path, dg.MetadataValue.path(str(path)))
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=INLINE_DPI, format="png")
    plt.close(fig)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    text = f"![{caption or name}](data:image/png;base64,{encoded})\n\n`{path}`"
    return SavedFigure(path, dg.MetadataValue.md(text))
