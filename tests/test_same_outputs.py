"""The small run's output tables hold the rows and values recorded before the one-home redesign
(issue 12): a change to the wiring that changes a figure shows here, table by table.

The digest (tests/data/small_run_digest.json) was recorded from the `pipeline_run` graph of
conftest.py at commit d804cc6, the last commit before the redesign:

    python tests/test_same_outputs.py <JOURNEYLIFT_HOME of such a run> tests/data/small_run_digest.json

Small tables are kept row by row; large ones as per-group row counts, sums of every numeric
column and a hash of their identifiers. Timings and run ids are left out: they differ by run.

Since issue 18 the recorded rows must stay while rows may join them: the latent-intent family's
rows, the scorecard's new metrics, the `estimator` column of counterfactual_effects (compared
over the recorded columns).

Since issue 17 the leaky comparison variants are trained for the leakage families only
(Settings.leaky_variant_families): the recorded rows, groups and files of the other families'
leaky models are set aside (`untrained`), and every other row must still be the same.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from dagster_project.settings import Settings
from graph_runs import parquet_outputs
from ml.data import HONEST_VARIANT, VARIANTS

DIGEST = Path(__file__).parent / "data" / "small_run_digest.json"
SCHEMA = "journeylift"
# Columns that differ from run to run by design.
VOLATILE = {"run_id", "train_seconds", "events_per_s", "seconds", "scored_at"}
GROUP_KEYS = ("model", "variant", "method", "split", "intervention", "curve", "status")
FULL_ROWS_MAX = 300
# float32 kernels differ by CPU: on the CI machine the integrated-gradient residuals (about 1e-4,
# themselves float32 noise) moved by up to 5e-6, so absolute differences below 1e-5 are not faults.
RTOL, ATOL = 1e-4, 1e-5


def _is_number(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _plain(value):
    """A JSON-able scalar: floats as floats (NaN as None), numpy ints as ints, the rest as text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def _vector_sums(column: pd.Series) -> pd.Series:
    return column.map(lambda v: float(np.sum(np.asarray(v, dtype=np.float64))) if v is not None else 0.0)


def table_digest(frame: pd.DataFrame, as_records: bool = False) -> dict:
    frame = frame.drop(columns=[c for c in frame.columns if c in VOLATILE])
    vectors = [c for c in frame.columns if frame[c].map(lambda v: isinstance(v, (list, np.ndarray))).any()]
    for column in vectors:
        frame[column] = _vector_sums(frame[column])
    numbers = [c for c in frame.columns if _is_number(frame[c])]
    labels = [c for c in frame.columns if c not in numbers]
    entry = {"columns": list(frame.columns), "rows": len(frame)}
    if len(frame) <= FULL_ROWS_MAX or as_records:
        order = labels + numbers
        rounded = frame.assign(**{c: frame[c].round(6) for c in numbers})
        ordered = frame.loc[rounded.astype(str).sort_values(order).index] if order else frame
        entry["records"] = [[_plain(v) for v in row] for row in ordered.itertuples(index=False)]
        return entry
    keys = [k for k in GROUP_KEYS if k in frame.columns]
    groups = frame.groupby(keys, dropna=False, sort=True) if keys else [((), frame)]
    entry["group_keys"] = keys
    entry["groups"] = []
    for key, rows in groups:
        key = key if isinstance(key, tuple) else (key,)
        ids = rows[[c for c in labels if c not in keys]].astype(str).agg("|".join, axis=1).sort_values()
        entry["groups"].append({
            "key": [_plain(k) for k in key],
            "rows": len(rows),
            "sums": {c: _plain(rows[c].astype(np.float64).sum()) for c in numbers},
            "labels_md5": hashlib.md5("\n".join(ids).encode()).hexdigest(),
        })
    return entry


def digest(home: Path, recorded: dict | None = None) -> dict:
    """Every table of the journeylift schema in `home`'s warehouse, and the output file names.
    With `recorded` (an earlier digest), each recorded table is digested over its recorded
    columns only: columns added since are not part of what must stay the same."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ? order by 1", [SCHEMA]
        ).fetchall()]
        tables = {}
        for name in names:
            frame = con.sql(f"select * from {SCHEMA}.{name}").df()
            was = (recorded or {}).get("tables", {}).get(name)
            if was is not None and set(was["columns"]) <= set(frame.columns):
                frame = frame[was["columns"]]
            tables[name] = table_digest(frame, as_records=was is not None and "records" in was)
    outputs = sorted(p.name for p in (home / "outputs").iterdir() if p.suffix in (".csv", ".parquet", ".png"))
    return {"tables": tables, "output_files": outputs}


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=RTOL, abs_tol=ATOL)
    return a == b


def without_models(recorded: dict, untrained: set[tuple[str, str]]) -> dict:
    """The recorded digest less the rows, groups and output files of the (model, variant) pairs
    in `untrained`; the leakage report also without the rows of those pairs' families (it holds
    the families trained on every variant); output files recorded as CSV that are Parquet now
    (issue 16: per-event and per-journey tables) under their new names."""
    partial_families = {model for model, _ in untrained}
    tables = {}
    for name, entry in recorded["tables"].items():
        columns = entry["columns"]
        if not {"model", "variant"} <= set(columns):
            tables[name] = entry
            continue
        if "records" in entry:
            m, v = columns.index("model"), columns.index("variant")
            kept = [r for r in entry["records"] if (r[m], r[v]) not in untrained
                    and not (name == "leakage_report" and r[m] in partial_families)]
            tables[name] = {**entry, "records": kept, "rows": len(kept)}
        else:
            m, v = entry["group_keys"].index("model"), entry["group_keys"].index("variant")
            kept = [g for g in entry["groups"] if (g["key"][m], g["key"][v]) not in untrained]
            tables[name] = {**entry, "groups": kept, "rows": sum(g["rows"] for g in kept)}
    files = [f for f in recorded["output_files"] if not any(f"{m}__{v}" in f for m, v in untrained)]
    parquet = parquet_outputs()  # CSV when the digest was recorded
    files = [f.replace(".csv", ".parquet") if f.removesuffix(".csv") in parquet else f for f in files]
    return {"tables": tables, "output_files": files}


def differences(recorded: dict, now: dict) -> list[str]:
    """What differs between two digests, one line per table fault (empty: the same outputs).
    Tables, files, and rows or groups added since the recording (a new family's, a new metric's)
    are not faults: the recorded ones must stay, with the same values."""
    found = []
    gone = sorted(set(recorded["output_files"]) - set(now["output_files"]))
    if gone:
        found.append(f"output files missing: {gone}")
    for name in sorted(recorded["tables"]):
        was, is_ = recorded["tables"][name], now["tables"].get(name)
        if is_ is None:
            found.append(f"{name}: table missing")
            continue
        if was["columns"] != is_["columns"]:
            found.append(f"{name}: columns {was['columns']} became {is_['columns']}")
            continue
        if "records" in was:
            if "records" not in is_:
                found.append(f"{name}: {was['rows']} rows became {is_['rows']}")
                continue
            # Every recorded row must still be there (rows of families or metrics added since may join them).
            now_rows = [list(r) for r in is_["records"]]
            for i, row in enumerate(was["records"]):
                match = next((j for j, other in enumerate(now_rows) if all(_close(x, y) for x, y in zip(row, other))), None)
                if match is None:
                    found.append(f"{name} row {i}: {row} is no longer there")
                    break
                now_rows.pop(match)
            continue
        groups = {tuple(g["key"]): g for g in is_.get("groups", [])}
        for a in was["groups"]:
            b = groups.get(tuple(a["key"]))
            same = (b is not None and a["rows"] == b["rows"] and a["labels_md5"] == b["labels_md5"]
                    and all(_close(a["sums"][c], b["sums"].get(c)) for c in a["sums"]))
            if not same:
                found.append(f"{name} group {a['key']}: {a} became {b}")
                break
    return found


def test_the_small_run_gives_the_recorded_tables(pipeline_run):
    home, result = pipeline_run
    assert result.success
    settings = Settings.from_environment()
    untrained = {(family, variant) for variant in VARIANTS if variant != HONEST_VARIANT
                 for family in settings.model_families if family not in settings.leaky_variant_families}
    recorded = without_models(json.loads(DIGEST.read_text()), untrained)
    assert differences(recorded, digest(home, recorded)) == []


if __name__ == "__main__":
    home, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(digest(home), indent=1, sort_keys=True) + "\n")
    print(f"digest of {home} written to {out}")
