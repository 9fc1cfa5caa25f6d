"""Helpers for tests that run the partitioned graph (importable: pytest puts tests/ on the path)."""


def dbt_models_of(source) -> list:
    """The dbt project's two asset sets for `source` over the default event dates."""
    from dagster_project.defs.dbt.assets import build_dbt_models
    from dagster_project.partitions import event_dates
    from dagster_project.settings import Settings

    return build_dbt_models(source, event_dates(Settings().first_event_date))


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
