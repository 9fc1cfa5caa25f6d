"""Figures an asset draws: saved under outputs/ and linked from its materialization."""

import dagster as dg
import matplotlib.pyplot as plt

from dagster_project.settings import outputs_dir
from ml.written_files import written_whole


def save_figure(fig: plt.Figure, name: str) -> dg.MetadataValue:
    """Save `fig` as outputs/<name>, close it, and return its path as metadata."""
    path = outputs_dir() / name
    with written_whole(path) as partial:
        fig.savefig(partial, dpi=110)
    plt.close(fig)
    return dg.MetadataValue.path(str(path))
