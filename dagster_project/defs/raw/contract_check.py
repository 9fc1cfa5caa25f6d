"""The raw contract (ml.contract) checked on a source before anything is written: a missing
required table or column, a column of the wrong type or an empty table stops the run with one
line per fault naming the table, the column and the rule (`events.event_ts: required column
missing`). Row-level faults are dbt's job: staging quarantines them into
`staging.quarantine_events`.

Checks run in DuckDB over the files themselves, so a large source is never read into pandas. CSV
files are read as text: dbt's safe casts parse them, and a value that does not parse is
quarantined, not guessed at.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from dagster_project.settings import Source
from ml.contract import (
    AD_FUNNEL, CONTRACT, CONTRACT_TABLES, NUMBER, RULE_WORDS, SESSIONS, TEXT, TIMESTAMP, ContractTable, domain_tables,
)

FILE_SUFFIXES = (".parquet", ".csv")
# The DuckDB type a typed rule's values must cast to (the cast staging uses).
CAST_TYPES = {NUMBER: "double"}


class SourceContractError(ValueError):
    """The source breaks the raw contract; `violations` holds one `table.column: rule` line each."""

    def __init__(self, violations: list[str]) -> None:
        self.violations = violations
        super().__init__("the source breaks the raw contract:\n" + "\n".join(f"  {v}" for v in violations))


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
    """The contract lines `relation` (a table or a file function) breaks as `table`; a file DuckDB
    cannot read (a CSV it cannot parse, e.g. a lone carriage return inside a quoted value) is one
    line, not a crash."""
    try:
        columns = {row[0].lower(): row[0] for row in con.sql(f"describe select * from {relation}").fetchall()}
    except duckdb.Error as error:
        first = str(error).strip().splitlines()[0]
        return [f"{table.name}: cannot be read ({first}); save it as Parquet, or as plain comma-separated CSV"]
    violations = [
        f"{table.name}.{column}: required column missing" for column in table.columns if column not in columns
    ]
    typed = {column: rule for column, rule in table.rules.items() if rule != TEXT and column in columns}
    selects = ["count(*)"]
    for column, rule in typed.items():
        name = _sql_name(columns[column])
        selects += [
            f"count({name})",
            f"count(try_cast(cast({name} as varchar) as {CAST_TYPES.get(rule, rule)}))",
            f"min(cast({name} as varchar))",
        ]
    counts = con.execute(f"select {', '.join(selects)} from {relation}").fetchall()[0]
    if counts[0] == 0 and table.required:
        violations.append(f"{table.name}: table is empty (0 rows)")
    for i, (column, rule) in enumerate(typed.items()):
        non_null, parsed, example = counts[1 + 3 * i: 4 + 3 * i]
        if non_null and not parsed:
            violations.append(
                f"{table.name}.{column}: wrong type, no value is {RULE_WORDS[rule]} "
                f"(0 of {non_null} non-null values parse, e.g. {example!r})"
            )
    return violations


def timestamp_readings(con: duckdb.DuckDBPyConnection, relations: dict[str, str]) -> list[str]:
    """How each timestamp column of the contract is read (dbt's safe_cast_timestamp), one line per
    column, said in the contract check's output: every time becomes UTC, and a value without a
    zone is taken as UTC."""
    lines = []
    for name, relation in relations.items():
        types = {row[0].lower(): str(row[1]).upper() for row in con.sql(f"describe select * from {relation}").fetchall()}
        for column, rule in CONTRACT_TABLES[name].rules.items():
            if rule != TIMESTAMP or column not in types:
                continue
            if "WITH TIME ZONE" in types[column]:
                how = "time-zone-aware values, converted to UTC"
            elif types[column].startswith("TIMESTAMP"):
                how = "naive timestamps, taken as UTC"
            else:
                how = ("text: a value with a UTC offset, Z or a zone name is converted to UTC, "
                       "one without is taken as UTC")
            lines.append(f"{name}.{column}: {how}")
    return lines


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
