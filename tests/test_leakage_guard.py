"""The blocking guard in the real graph: a leak injected into the built no_funnel mart fails the
GX check, and the models downstream of it never train."""

import shutil

import dagster as dg
from graph_runs import every_date
import duckdb
import pytest

from dagster_project.definitions import defs

NO_FUNNEL = dg.AssetKey(["marts", "fct_journey_sequences_no_funnel"])
GX_GUARD = dg.AssetCheckKey(NO_FUNNEL, "no_funnel_leakage_guard")
HONEST_MODELS = [dg.AssetKey(["models", f"{m}__no_funnel"]) for m in ("lstm", "transformer_cls")]

# Each injection tampers with the built mart the way a bug upstream would.
COPY_CONVERTED_ROW = """
    insert into marts.fct_journey_sequences_no_funnel
    select * replace ({changes})
    from marts.fct_journey_sequences_no_funnel
    where journey_id in (select journey_id from marts.fct_journey_labels where converted)
    limit 1"""
INJECTIONS = {
    "funnel event (by event_type)": COPY_CONVERTED_ROW.format(
        changes="'leak-type' as event_id, 'funnel' as event_type, 'tap_buy_button' as event, position + 1000 as position"),
    "funnel event (by event name)": COPY_CONVERTED_ROW.format(
        changes="'leak-funnel' as event_id, 'cart_page_load' as event, position + 1000 as position"),
    "event at or after the conversion moment": """
        insert into marts.fct_journey_sequences_no_funnel
        select s.* replace ('leak-after' as event_id, l.conversion_at + interval 5 minute as event_at,
                            'm_select_tab_orders' as event, position + 1000 as position)
        from marts.fct_journey_sequences_no_funnel s
        join marts.fct_journey_labels l using (journey_id)
        where l.converted
        limit 1""",
    "label-derived column": "alter table marts.fct_journey_sequences_no_funnel add column checkout_id varchar default 'leak-c1'",
    "predicts the label almost perfectly on its own": """
        alter table marts.fct_journey_sequences_no_funnel add column basket_value double;
        update marts.fct_journey_sequences_no_funnel s set basket_value = case when l.converted then 42 else 0 end
        from marts.fct_journey_labels l where l.journey_id = s.journey_id""",
    "the same user in more than one of train, validation and test": """
        update marts.fct_journey_sequences_no_funnel
        set split = case when split = 'test' then 'train' else 'test' end, event_id = 'leak-split-' || event_id
        where event_id = (select min(event_id) from marts.fct_journey_sequences_no_funnel where position = 2)""",
    "duplicate event": COPY_CONVERTED_ROW.format(changes="position + 1000 as position"),
    "duplicate journey": COPY_CONVERTED_ROW.format(changes="'leak-dup' as event_id"),
}


def _guard_then_train_job(loaded: dg.Definitions) -> dg.JobDefinition:
    """The GX guard and the honest models, without rebuilding (or dbt-testing) the tampered mart."""
    job = dg.define_asset_job(
        "guard_then_train",
        selection=dg.AssetSelection.checks(GX_GUARD) | dg.AssetSelection.assets(*HONEST_MODELS),
    )
    return dg.Definitions.merge(loaded, dg.Definitions(jobs=[job])).resolve_job_def("guard_then_train")


@pytest.mark.parametrize("leak", INJECTIONS)
def test_injected_leak_fails_the_guard_and_training_does_not_run(
    leak, pipeline_run, small_run_config, tmp_path, monkeypatch
):
    built_home, _ = pipeline_run
    shutil.copy(built_home / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    monkeypatch.setenv("JOURNEYLIFT_HOME", str(tmp_path))
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute(INJECTIONS[leak])

    config = {"ops": {k: v for k, v in small_run_config["ops"].items() if k.endswith("__no_funnel")}}
    result = _guard_then_train_job(defs()).execute_in_process(
        run_config=config, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False, tags=every_date()
    )

    assert not result.success
    (evaluation,) = [
        e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert evaluation.check_name == "no_funnel_leakage_guard" and not evaluation.passed
    failures = evaluation.metadata["failures"].value
    (line,) = [line for line in failures.splitlines() if leak in line][:1]
    assert "marts.fct_journey_sequences_no_funnel" in line and "example row:" in line
    materialized = {e.asset_key for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}
    assert not materialized & set(HONEST_MODELS)
