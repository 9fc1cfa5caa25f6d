"""Figures an asset draws: saved under outputs/ and linked from its materialization."""

import dagster as dg
import matplotlib.pyplot as plt

from dagster_project.settings import outputs_dir


def save_figure(fig: plt.Figure, name: str) -> dg.MetadataValue:
    """Save `fig` as outputs/<name>, close it, and return its path as metadata."""
    path = outputs_dir() / name
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return dg.MetadataValue.path(str(path))
