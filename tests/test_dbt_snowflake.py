"""The dbt project compiles for the Snowflake target, and what it compiles is Snowflake SQL.

No Snowflake is reachable here, so `dbt compile --target snowflake` runs offline: placeholder
SNOWFLAKE_* credentials (an empty password, so a stray connection fails at once instead of
reaching the network), no cache population, no introspection, and the var
`optional_sources_present` answering the optional-source macros (optional_sources.sql)
without the warehouse. It writes to a temporary target path, so dbt/target (the manifest
Dagster loads) is left alone.

It compiles twice: every optional source absent with the default vars, then every optional
branch switched on (optional sources present, a user sample, a minimum history, allow-lists).
Each compiled model and data test (singular and generic) is then checked with sqlglot's
Snowflake dialect: it parses as one query, calls no function sqlglot does not know as a
Snowflake function (a DuckDB-only function such as timezone() or list_value() shows up as
one), casts only to Snowflake data types, and applies TRY_CAST to text only (Snowflake's
TRY_CAST takes a string and fails on anything else). The checks' own test feeds them
DuckDB SQL and sees each one fail.

`dbt build` through the Snowflake adapter runs against a local fakesnow server in
tests/fakesnow_build.py. fakesnow pins an older sqlglot than this venv, so it lives in a venv
of its own; the last test runs that script when FAKESNOW_PYTHON names its interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_DIR = REPO_ROOT / "dbt"
DBT = str(Path(sys.executable).parent / "dbt")

# Placeholders the snowflake target of dbt/profiles.yml needs to render; nothing connects.
OFFLINE_SNOWFLAKE_ENV = {
    "SNOWFLAKE_ACCOUNT": "offline-compile",
    "SNOWFLAKE_USER": "offline",
    "SNOWFLAKE_PASSWORD": "",
    "SNOWFLAKE_ROLE": "offline",
    "SNOWFLAKE_WAREHOUSE": "offline",
    "SNOWFLAKE_DATABASE": "journeylift",
    "SNOWFLAKE_SCHEMA": "dbt_tests",
}

COMPILE_VARS = {
    "optional_sources_absent": {"optional_sources_present": False},
    "every_optional_branch": {
        "optional_sources_present": True,
        "sample_users_pct": 50,
        "min_journey_events": 2,
        "event_allow_list": ["m_card_view", "m_card_click"],
        "event_type_allow_list": ["store_impression", "store_click"],
    },
}

# sqlglot's names for the data types Snowflake has (docs.snowflake.com, "SQL data types reference").
T = exp.DataType.Type
SNOWFLAKE_TYPES = {
    T.VARCHAR, T.TEXT, T.CHAR, T.BINARY, T.VARBINARY, T.BOOLEAN,
    T.TINYINT, T.SMALLINT, T.INT, T.BIGINT, T.DECIMAL, T.FLOAT, T.DOUBLE,
    T.DATE, T.TIME, T.DATETIME, T.TIMESTAMP, T.TIMESTAMPNTZ, T.TIMESTAMPLTZ, T.TIMESTAMPTZ,
    T.VARIANT, T.OBJECT, T.ARRAY, T.GEOGRAPHY, T.GEOMETRY,
}
TEXT_TYPES = {T.VARCHAR, T.TEXT, T.CHAR}


def snowflake_sql_problems(sql: str) -> list[str]:
    """Why `sql` is not a Snowflake query, as far as sqlglot can tell; empty when it is."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="snowflake") if s is not None]
    except sqlglot.errors.ParseError as error:
        return [f"does not parse: {str(error).splitlines()[0]}"]
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        return [f"is not one query: {[type(s).__name__ for s in statements]}"]
    query = statements[0]
    problems = [f"calls {f.name}(), not a Snowflake function" for f in query.find_all(exp.Anonymous)]
    problems += [
        f"casts to {cast.to.sql('snowflake')}, not a Snowflake type"
        for cast in query.find_all(exp.Cast)  # TryCast is a Cast
        if cast.to.this not in SNOWFLAKE_TYPES
    ]
    problems += [
        f"TRY_CAST of a non-text expression: {try_cast.sql('snowflake')}"
        for try_cast in query.find_all(exp.TryCast)
        if not _is_text(try_cast.this)
    ]
    return problems


def _is_text(expression: exp.Expr) -> bool:
    if isinstance(expression, exp.Literal):
        return expression.is_string
    return isinstance(expression, exp.Cast) and expression.to.this in TEXT_TYPES


def compile_for_snowflake(target_path: Path, dbt_vars: dict) -> dict:
    """`dbt compile --target snowflake` offline into target_path; returns its manifest."""
    command = [
        DBT, "compile", "--target", "snowflake",
        "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
        "--target-path", str(target_path), "--log-path", str(target_path / "logs"),
        "--no-populate-cache", "--no-introspect",
        "--vars", json.dumps(dbt_vars),
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=DBT_DIR, env={**os.environ, **OFFLINE_SNOWFLAKE_ENV}, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"dbt compile --target snowflake failed:\n{done.stdout[-4000:]}{done.stderr[-2000:]}"
    return json.loads((target_path / "manifest.json").read_text())


@pytest.fixture(scope="module", params=sorted(COMPILE_VARS))
def snowflake_manifest(request, tmp_path_factory) -> dict:
    return compile_for_snowflake(tmp_path_factory.mktemp(f"snowflake-{request.param}"), COMPILE_VARS[request.param])


def _compiled_nodes(manifest: dict) -> dict[str, dict]:
    return {
        node["unique_id"]: node for node in manifest["nodes"].values() if node["resource_type"] in ("model", "test")
    }


def test_every_model_and_data_test_compiles_for_snowflake(snowflake_manifest):
    nodes = _compiled_nodes(snowflake_manifest)
    assert snowflake_manifest["metadata"]["adapter_type"] == "snowflake"
    not_compiled = sorted(uid for uid, node in nodes.items() if not node.get("compiled_code"))
    assert not not_compiled, f"not compiled for snowflake: {not_compiled}"

    model_files = {p.stem for p in (DBT_DIR / "models").rglob("*.sql")}
    singular_test_files = {p.stem for p in (DBT_DIR / "tests").rglob("*.sql")}
    compiled_models = {n["name"] for n in nodes.values() if n["resource_type"] == "model"}
    compiled_singular = {n["name"] for n in nodes.values() if n["resource_type"] == "test" and not n.get("test_metadata")}
    assert compiled_models == model_files
    assert compiled_singular == singular_test_files


def test_compiled_sql_is_snowflake_sql(snowflake_manifest):
    problems = {
        node["original_file_path"] + (f" ({node['name']})" if node["resource_type"] == "test" else ""): found
        for node in _compiled_nodes(snowflake_manifest).values()
        if (found := snowflake_sql_problems(node["compiled_code"]))
    }
    assert not problems, "compiled for snowflake but not Snowflake SQL:\n" + "\n".join(
        f"{where}: {'; '.join(found)}" for where, found in sorted(problems.items())
    )


@pytest.mark.parametrize(
    ("duckdb_sql", "problem"),
    [
        # duckdb__utc_now, as quarantine_events would read on the wrong adapter
        ("select cast(timezone('UTC', now()) as timestamp) as quarantined_at", "calls timezone()"),
        ("select list_value(1, 2) as xs", "calls list_value()"),
        ("select cast(n as hugeint) from t", "casts to INT128"),
        ("select cast(n as ubigint) from t", "does not parse"),
        # duckdb__safe_cast_boolean: Snowflake's TRY_CAST fails on a boolean or number input
        ("select try_cast(is_sponsored as timestamp) from raw_events", "TRY_CAST of a non-text expression"),
        ("create table t as select 1 as n", "is not one query"),
    ],
)
def test_the_checks_reject_duckdb_sql(duckdb_sql, problem):
    found = snowflake_sql_problems(duckdb_sql)
    assert any(problem in p for p in found), found


def test_the_checks_accept_what_the_snowflake_macros_render():
    rendered = """
        select
            try_cast(cast(event_ts as varchar) as timestamp_ntz) as event_at,
            mod(to_number(left(md5(cast(user_id as varchar)), 8), 'XXXXXXXX'), 100) as bucket,
            sysdate() as quarantined_at
        from raw_events
    """
    assert snowflake_sql_problems(rendered) == []


@pytest.mark.skipif(
    not os.environ.get("FAKESNOW_PYTHON"),
    reason="FAKESNOW_PYTHON names no interpreter with fakesnow (see tests/fakesnow_build.py)",
)
def test_dbt_build_on_fakesnow():
    script = Path(__file__).resolve().parent / "fakesnow_build.py"
    done = subprocess.run([os.environ["FAKESNOW_PYTHON"], str(script)], capture_output=True, text=True, timeout=580)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "fakesnow build: marts as expected" in done.stdout
