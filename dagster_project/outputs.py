"""Publishing an output table: the warehouse table, its CSV twin, and the metadata a person reads."""

from __future__ import annotations

import dagster as dg
import matplotlib.pyplot as plt
import pandas as pd

from dagster_project.settings import OUTPUT_SCHEMA, outputs_dir
from dagster_project.warehouse import Warehouse


def publish_table(warehouse: Warehouse, name: str, frame: pd.DataFrame, preview_rows: int = 10) -> dict:
    """Write `journeylift.<name>` and `outputs/<name>.csv`; return materialization metadata."""
    warehouse.write_table(OUTPUT_SCHEMA, name, frame)
    csv_path = outputs_dir() / f"{name}.csv"
    frame.to_csv(csv_path, index=False)
    return {
        "rows": len(frame),
        "table": f"{OUTPUT_SCHEMA}.{name}",
        "csv": dg.MetadataValue.path(str(csv_path)),
        "preview": dg.MetadataValue.md(frame.head(preview_rows).to_markdown(index=False)),
    }


def save_figure(fig: plt.Figure, name: str) -> str:
    """Save `fig` as outputs/<name> and close it; return the path."""
    path = outputs_dir() / name
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)
