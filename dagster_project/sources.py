"""Where the raw data comes from (JOURNEYLIFT_SOURCE) and the raw contract it must meet.

`JOURNEYLIFT_SOURCE` is `simulator` (the default; `simulator:ad_funnel` simulates the
ad-funnel domain instead), a folder holding one Parquet or CSV file per contract table
named after it (`events.parquet`, `dimension_store.csv`, optional `ad_experiment.*`; or
the ad-funnel domain's `auctions_users.*`, `impressions.*`, optional `clicks.*`,
`purchases.*`; with either, optional `user_splits.*`), or `warehouse:<schema>` for tables
already in the warehouse. A source
brings one domain or both; a domain it brings must be whole. The contract below
(design.md's raw contract, once) is checked before anything is written: a missing
required table or column, a column of the wrong type or an empty table stops the run
with a message naming the table, the column and the rule. Row-level faults are dbt's job
(staging quarantines them into `staging.quarantine_events`). Checks and loads run in
DuckDB over the files themselves, so a large source is never read into pandas. CSV files
are read as text: dbt's safe casts parse them, and a value that does not parse is
quarantined, not guessed at.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project.settings import dbt_vars

SOURCE_ENV = "JOURNEYLIFT_SOURCE"
FILE_SUFFIXES = (".parquet", ".csv")

# Column rules: `text` accepts any type (staging casts it to a string); `timestamp` and
# `boolean` need at least one non-null value that parses (DuckDB's try_cast over the
# value as text, the cast staging uses), so a column of the wrong type stops the run
# while a few bad values are quarantined row by row.
TEXT, TIMESTAMP, BOOLEAN = "text", "timestamp", "boolean"


SESSIONS, AD_FUNNEL = "sessions", "ad_funnel"
ANY_DOMAIN = "any"  # an optional table that serves whichever domain a source brings


@dataclass(frozen=True)
class ContractTable:
    name: str
    columns: dict[str, str]  # required column -> rule
    optional_columns: dict[str, str]
    required: bool = True  # within its domain: a source bringing the domain must have it
    domain: str = SESSIONS


CONTRACT = (
    ContractTable(
        "events",
        columns={
            "event_id": TEXT, "user_id": TEXT, "session_id": TEXT, "event_ts": TIMESTAMP,
            "event_type": TEXT, "event": TEXT, "discovery_feature": TEXT, "store_id": TEXT,
            "is_sponsored": BOOLEAN,
        },
        optional_columns={"is_ghost_ad": BOOLEAN},
    ),
    ContractTable(
        "dimension_store",
        columns={
            "store_id": TEXT, "store_name": TEXT, "primary_tag_name": TEXT,
            "primary_category_name": TEXT, "is_nv": BOOLEAN,
        },
        optional_columns={},
    ),
    ContractTable("ad_experiment", columns={"user_id": TEXT, "arm": TEXT}, optional_columns={}, required=False),
    ContractTable(
        "auctions_users",
        columns={"auction_id": TEXT, "user_id": TEXT, "auction_ts": TIMESTAMP, "placement": TEXT},
        optional_columns={},
        domain=AD_FUNNEL,
    ),
    ContractTable(
        "impressions",
        columns={"impression_id": TEXT, "auction_id": TEXT, "user_id": TEXT, "product_id": TEXT, "impression_ts": TIMESTAMP},
        optional_columns={"journey_id": TEXT},
        domain=AD_FUNNEL,
    ),
    ContractTable(
        "clicks",
        columns={"click_id": TEXT, "impression_id": TEXT, "user_id": TEXT, "product_id": TEXT, "click_ts": TIMESTAMP},
        optional_columns={"journey_id": TEXT},
        required=False,
        domain=AD_FUNNEL,
    ),
    ContractTable(
        "purchases",
        columns={"purchase_id": TEXT, "user_id": TEXT, "product_id": TEXT, "purchase_ts": TIMESTAMP, "revenue": TEXT},
        optional_columns={"journey_id": TEXT},
        domain=AD_FUNNEL,
    ),
    # Users pinned to a split (train, validation or test), e.g. to reproduce a published
    # split; users it does not name are split by the hash as usual.
    ContractTable("user_splits", columns={"user_id": TEXT, "split": TEXT}, optional_columns={}, required=False,
                  domain=ANY_DOMAIN),
)
CONTRACT_TABLES = {table.name: table for table in CONTRACT}


def domain_tables(domain: str, required_only: bool = False) -> list[str]:
    """The contract tables of `domain` (only those it requires, when asked)."""
    return [t.name for t in CONTRACT if t.domain == domain and (t.required or not required_only)]


class SourceContractError(ValueError):
    """The source breaks the raw contract; `violations` holds one `table.column: rule` line each."""

    def __init__(self, violations: list[str]) -> None:
        self.violations = violations
        super().__init__("the source breaks the raw contract:\n" + "\n".join(f"  {v}" for v in violations))


@dataclass(frozen=True)
class Source:
    """One value of JOURNEYLIFT_SOURCE: kind is `simulator`, `folder` or `warehouse`;
    `domain` is the simulated domain (sessions or ad_funnel) for the simulator."""

    kind: str
    folder: Path | None = None
    schema: str | None = None
    domain: str = SESSIONS

    def describe(self) -> str:
        simulator = "simulator" if self.domain == SESSIONS else f"simulator:{self.domain}"
        return {"simulator": simulator, "folder": f"folder {self.folder}", "warehouse": f"warehouse:{self.schema}"}[self.kind]


def parse_source(value: str | None) -> Source:
    """`simulator` (also empty; `simulator:ad_funnel` for the ad-funnel domain),
    `warehouse:<schema>` or a folder path (which must exist)."""
    value = (value or "").strip()
    if value in ("", "simulator", f"simulator:{SESSIONS}"):
        return Source("simulator")
    if value == f"simulator:{AD_FUNNEL}":
        return Source("simulator", domain=AD_FUNNEL)
    if value.startswith("warehouse:"):
        schema = value.removeprefix("warehouse:").strip()
        if not schema.replace("_", "").isalnum():
            raise ValueError(f"{SOURCE_ENV}={value!r}: warehouse:<schema> needs a plain schema name")
        return Source("warehouse", schema=schema)
    folder = Path(value).expanduser().resolve()
    if not folder.is_dir():
        raise ValueError(
            f"{SOURCE_ENV}={value!r} is neither `simulator`, `warehouse:<schema>` nor an existing folder"
        )
    return Source("folder", folder=folder)


def journeylift_source() -> Source:
    """The source this code location reads (JOURNEYLIFT_SOURCE, default `simulator`)."""
    return parse_source(os.environ.get(SOURCE_ENV))


def table_file(folder: Path, table: str) -> Path | None:
    """`<table>.parquet` or `<table>.csv` in `folder`; None when neither; an error when both."""
    found = [folder / f"{table}{suffix}" for suffix in FILE_SUFFIXES if (folder / f"{table}{suffix}").is_file()]
    if len(found) > 1:
        raise SourceContractError([f"{table}: two files ({', '.join(p.name for p in found)}); keep one"])
    return found[0] if found else None


def file_relation(path: Path) -> str:
    """DuckDB table function reading a contract file (CSV as text: dbt parses it)."""
    quoted = str(path).replace("'", "''")
    if path.suffix == ".csv":
        return f"read_csv('{quoted}', header = true, all_varchar = true)"
    return f"read_parquet('{quoted}')"


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_violations(con: duckdb.DuckDBPyConnection, table: ContractTable, relation: str) -> list[str]:
    """The contract lines `relation` (a table or a file function) breaks as `table`."""
    columns = {row[0].lower(): row[0] for row in con.sql(f"describe select * from {relation}").fetchall()}
    violations = [
        f"{table.name}.{column}: required column missing" for column in table.columns if column not in columns
    ]
    typed = {
        column: rule for column, rule in {**table.columns, **table.optional_columns}.items()
        if rule != TEXT and column in columns
    }
    selects = ["count(*)"]
    for column, rule in typed.items():
        name = _sql_name(columns[column])
        selects += [
            f"count({name})",
            f"count(try_cast(cast({name} as varchar) as {rule}))",
            f"min(cast({name} as varchar))",
        ]
    counts = con.execute(f"select {', '.join(selects)} from {relation}").fetchall()[0]
    if counts[0] == 0 and table.required:
        violations.append(f"{table.name}: table is empty (0 rows)")
    for i, (column, rule) in enumerate(typed.items()):
        non_null, parsed, example = counts[1 + 3 * i: 4 + 3 * i]
        if non_null and not parsed:
            violations.append(
                f"{table.name}.{column}: wrong type, no value is {_rule_words(rule)} "
                f"(0 of {non_null} non-null values parse, e.g. {example!r})"
            )
    return violations


def _rule_words(rule: str) -> str:
    return {TIMESTAMP: "parseable as a timestamp", BOOLEAN: "boolean-like (true/false, t/f, 1/0, yes/no)"}[rule]


def source_relations(con: duckdb.DuckDBPyConnection, source: Source) -> dict[str, str]:
    """Contract table -> the relation holding it in `source` (missing tables left out)."""
    if source.kind == "folder":
        return {
            name: file_relation(path)
            for name in CONTRACT_TABLES
            if (path := table_file(source.folder, name)) is not None
        }
    if source.kind == "warehouse":
        present = {
            row[0].lower(): row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where lower(table_schema) = lower(?)",
                [source.schema],
            ).fetchall()
        }
        return {
            name: f"{_sql_name(source.schema)}.{_sql_name(present[name])}" for name in CONTRACT_TABLES if name in present
        }
    raise ValueError(f"the {source.kind} source has no contract files to read")


def check_contract(con: duckdb.DuckDBPyConnection, source: Source) -> dict[str, str]:
    """Check every contract table of `source`; return table -> relation, or raise SourceContractError."""
    relations = source_relations(con, source)
    where = f"in {source.folder}" if source.kind == "folder" else f"in schema {source.schema}"
    # A domain counts as brought when any of its required tables is there; then all must be.
    brought = {t.domain for t in CONTRACT if t.required and t.name in relations}
    violations = []
    if not brought:
        violations.append(
            f"no domain: a source needs the sessions domain ({', '.join(domain_tables(SESSIONS, True))}) "
            f"or the ad-funnel domain ({', '.join(domain_tables(AD_FUNNEL, True))}) {where}"
        )
    for table in CONTRACT:
        if table.name not in relations:
            if table.required and (table.domain in brought or (not brought and table.domain == SESSIONS)):
                hint = f"no {table.name}.parquet or {table.name}.csv" if source.kind == "folder" else "no such table"
                violations.append(f"{table.name}: required table missing ({hint} {where})")
            continue
        violations += table_violations(con, table, relations[table.name])
    if violations:
        raise SourceContractError(violations)
    return relations


# --- what training runs record about their data (MLflow params, leaderboard) -----------------

QUARANTINE_RELATION = "staging.quarantine_events"


def quarantine_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Quarantined raw events per reason (empty when nothing was quarantined or dbt has not run)."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'staging' and table_name = 'quarantine_events'"
    ).fetchall()[0][0]
    if not exists:
        return {}
    rows = con.sql(f"select reason, count(*) from {QUARANTINE_RELATION} group by reason order by reason").fetchall()
    return {reason: int(n) for reason, n in rows}


def data_params(con: duckdb.DuckDBPyConnection) -> dict[str, str | int]:
    """The source, the training sample, minimum history and window (dbt vars), and the quarantine
    counts per reason: the params every training run logs about its data."""
    counts = quarantine_counts(con)
    return {
        "source": journeylift_source().describe(),
        "sample_users_pct": int(dbt_vars()["sample_users_pct"]),
        "min_journey_events": int(dbt_vars()["min_journey_events"]),
        "training_window_days": int(dbt_vars().get("training_window_days") or 0) or "all",
        "quarantined_events": sum(counts.values()),
        **{f"quarantined__{reason}": n for reason, n in counts.items()},
    }
