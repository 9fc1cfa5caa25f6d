"""One registry of dataset importers, filled by the ``@register`` decorator.

An importer is a function ``(source: Path, out: Path, **options) -> ImportReport`` that
reads one public dataset's own format and writes raw contract files into ``out``;
:func:`import_dataset` runs it and writes its report next to the files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ml.contract import CONTRACT_TABLES
from ml.importers.report import ImportReport

Importer = Callable[..., ImportReport]
IMPORTER_REGISTRY: dict[str, Importer] = {}


def register(name: str):
    """Function decorator: make an importer callable by dataset ``name``."""

    def decorator(function: Importer) -> Importer:
        if name in IMPORTER_REGISTRY and IMPORTER_REGISTRY[name] is not function:
            raise ValueError(f"importer {name!r} is already registered")
        IMPORTER_REGISTRY[name] = function
        return function

    return decorator


def available_importers() -> list[str]:
    """Registered dataset names, sorted."""
    return sorted(IMPORTER_REGISTRY)


def import_dataset(name: str, source: str | Path, out: str | Path, **options) -> ImportReport:
    """Map dataset ``name`` at ``source`` onto the raw contract in ``out``; write and return the report.

    Contract files an earlier import left in ``out`` are removed first, so the folder holds
    one dataset's tables only (a stale `events` next to new ad-funnel tables would be loaded).
    """
    try:
        importer = IMPORTER_REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; importers: {available_importers()}") from None
    source, out = Path(source), Path(out)
    if not source.exists():
        raise FileNotFoundError(f"{name}: no such file or folder {source}")
    out.mkdir(parents=True, exist_ok=True)
    for table in CONTRACT_TABLES:
        for suffix in (".parquet", ".csv"):
            (out / f"{table}{suffix}").unlink(missing_ok=True)
    report = importer(source, out, **options)
    events = out / "events.parquet"
    if events.is_file():
        session_less = int(pd.read_parquet(events, columns=["session_id"])["session_id"].isna().sum())
        if session_less:
            report.notes.append(
                f"{session_less:,} events without session_id: the run joins each to its user's session whose "
                "span (widened by the session gap) holds it and sessionizes the rest by inactivity; "
                "journeylift.quarantine_counts says how many were re-attached"
            )
    report.write(out)
    return report
