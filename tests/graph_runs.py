"""Helpers for tests that run the partitioned graph (importable: pytest puts tests/ on the path)."""


def dbt_models_of(source) -> list:
    """The dbt project's two asset sets for `source` over the default event dates."""
    from dagster_project.defs.dbt.assets import build_dbt_models
    from dagster_project.partitions import event_dates
    from dagster_project.settings import Settings

    return build_dbt_models(source, event_dates(Settings().first_event_date))


def parquet_outputs() -> set[str]:
    """The output tables whose outputs/ copy is Parquet by their asset's `file_format` metadata
    (the per-event and per-journey ones), read from the default graph."""
    from dagster_project.definitions import build_definitions
    from dagster_project.settings import OUTPUT_SCHEMA, Settings

    graph = build_definitions(Settings()).resolve_asset_graph()
    return {key.path[-1] for key in graph.get_all_asset_keys() if key.path[0] == OUTPUT_SCHEMA
            and (graph.get(key).metadata or {}).get("file_format") == "parquet"}


def every_date() -> dict[str, str]:
    """Run tags for every event date in one run (what `journeylift run` does)."""
    from dagster_project.partitions import event_dates, every_date_tags
    from dagster_project.settings import Settings

    return every_date_tags(event_dates(Settings().first_event_date))


def stop_process_group(process, timeout: float = 60) -> None:
    """Stop a server started with start_new_session=True and every child it started (`dagster dev`
    ignores SIGINT in the background): SIGTERM to its group, SIGKILL if it lingers."""
    import os
    import signal
    import subprocess

    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def build_folder_source(folder, tmp_path_factory, select: list[str], dbt_vars: dict | None = None):
    """A folder source the real way, in a new JOURNEYLIFT_HOME: the contract check and load
    (Dagster's raw asset), `dbt build --select <select>` (with the raw = accepted + quarantined
    test, and `dbt_vars`), then the quarantine counts asset. Returns (home, load result, dbt's
    completed process, counts result)."""
    import pytest

    home, scratch = tmp_path_factory.mktemp("home"), tmp_path_factory.mktemp("dbt-scratch")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JOURNEYLIFT_HOME", str(home))
        patch.setenv("JOURNEYLIFT_SOURCE", str(folder))
        return (home, *_load_and_build(folder, scratch, select, dbt_vars))


def _load_and_build(folder, scratch, select, dbt_vars):
    import json
    import os
    import subprocess

    import dagster as dg

    from dagster_project.defs.quality.quarantine import quarantine_counts
    from dagster_project.defs.raw.contract_source import build_contract_source
    from dagster_project.defs.resources import dbt_executable, resource_defs
    from dagster_project.settings import DBT_PROJECT_DIR, parse_source

    source = parse_source(str(folder))
    loaded = dg.materialize([build_contract_source(source)], resources=resource_defs())
    assert loaded.success
    result = subprocess.run(
        [dbt_executable(), "build", "--select", *select,
         "assert_raw_events_reconcile_with_accepted_and_quarantined", "--indirect-selection", "cautious",
         "--vars", json.dumps(dbt_vars or {}), "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(scratch / "target"), "--log-path", str(scratch / "logs"), "--threads", "4"],
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    # the counts asset alone, reading what dbt built through the warehouse I/O manager
    counted = dg.materialize([quarantine_counts, *dbt_models_of(source)], selection=[quarantine_counts.key],
                             resources=resource_defs())
    return loaded, result, counted
