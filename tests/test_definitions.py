"""The code location loads; a snapshot of its asset keys, checks, jobs and schedules makes every
addition, removal and rename visible in review; and the graph follows its settings, built in
process for any of them.

After a deliberate change to the graph, refresh the snapshot and commit it with the change:

    .venv/bin/python tests/test_definitions.py --update
"""

import json
import sys
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.definitions import build_definitions, defs
from dagster_project.defs.dbt.assets import dbt_build_args
from dagster_project.settings import DEFAULT_LEAKAGE_FAMILIES, DEFAULT_MODEL_FAMILIES, Settings, parse_source
from dagster_project.warehouse import WAREHOUSE_POOL
from ml.data import HONEST_VARIANT, VARIANTS
from ml.models import available_models

SNAPSHOT = Path(__file__).parent / "data" / "definitions_snapshot.json"
GUARD = dg.AssetCheckKey(dg.AssetKey(["marts", "fct_journey_sequences_no_funnel"]), "no_funnel_leakage_guard")


def snapshot(loaded: dg.Definitions) -> dict:
    """What the definitions hold, by name: asset keys, check keys, jobs, schedules, resources."""
    graph = loaded.resolve_asset_graph()
    schedule_names = [schedule.name for schedule in loaded.schedules]
    return {
        "assets": sorted(key.to_user_string() for key in loaded.resolve_all_asset_keys()),
        "asset_checks": sorted(f"{key.asset_key.to_user_string()}:{key.name}" for key in graph.asset_check_keys),
        "jobs": sorted(job.name for job in loaded.resolve_all_job_defs() if not job.name.startswith("__")),
        "schedules": sorted(
            f"{s.name} {s.cron_schedule} -> {s.job_name}" for s in map(loaded.resolve_schedule_def, schedule_names)
        ),
        "resources": sorted(loaded.resources),
    }


def guard_spec(loaded: dg.Definitions) -> dg.AssetCheckSpec:
    return next(s for c in loaded.asset_checks for s in c.check_specs if s.key == GUARD)


def test_the_default_graph_is_the_snapshot():
    """Equality, not a subset: a new, renamed or vanished asset, check, job or schedule fails here
    until the snapshot is refreshed in the same commit."""
    assert snapshot(build_definitions(Settings())) == json.loads(SNAPSHOT.read_text())


def test_the_code_location_loads_from_the_environment(monkeypatch):
    for name in ("JOURNEYLIFT_SOURCE", "JOURNEYLIFT_MODELS", "JOURNEYLIFT_LEAKAGE_MODELS", "JOURNEYLIFT_LEAKAGE_GUARD",
                 "JOURNEYLIFT_FIRST_EVENT_DATE"):
        monkeypatch.delenv(name, raising=False)
    assert snapshot(defs()) == snapshot(build_definitions(Settings()))


def test_the_leakage_guard_blocks_the_honest_sequences_and_dbt_tests_are_checks():
    loaded = build_definitions(Settings())
    assert guard_spec(loaded).blocking
    checks = {key.name for key in loaded.resolve_asset_graph().asset_check_keys if key.asset_key.path[0] == "marts"}
    assert any("no_funnel" in name for name in checks), checks


def test_only_an_explicit_logged_setting_makes_the_guard_warn():
    with pytest.warns(UserWarning, match="does NOT stop training"):
        warned = build_definitions(Settings(leakage_guard="warn"))
    assert not guard_spec(warned).blocking
    with pytest.raises(ValueError, match="must be one of"):
        Settings(leakage_guard="off")
    with pytest.warns(UserWarning, match="does NOT stop training"):
        assert Settings.from_environment({"JOURNEYLIFT_LEAKAGE_GUARD": "WARN"}).leakage_guard == "warn"


def test_every_family_when_asked_for_all():
    settings = Settings.from_environment({"JOURNEYLIFT_MODELS": "all"})
    keys = {key.to_user_string() for key in build_definitions(settings).resolve_all_asset_keys()}
    families = set(available_models())
    assert {"lstm", "transformer_cls", "gru4rec", "sasrec", "bert4rec", "bilstm_transformer", "item2vec",
            "seq_vae", "srgnn", "logreg_counts"} <= families
    models = {key for key in keys if key.startswith("models/")}
    assert models == {f"models/{family}__{HONEST_VARIANT}" for family in families} | {
        f"models/{family}__{variant}" for family in DEFAULT_LEAKAGE_FAMILIES for variant in VARIANTS}
    assert {f"tensors/{variant}" for variant in VARIANTS} <= keys
    assert "journeylift/customer_traits" in keys
    every = Settings.from_environment({"JOURNEYLIFT_MODELS": "all", "JOURNEYLIFT_LEAKAGE_MODELS": "all"})
    keys = {key.to_user_string() for key in build_definitions(every).resolve_all_asset_keys()}
    assert {f"models/{family}__{variant}" for family in families for variant in VARIANTS} <= keys


def test_the_leaky_variants_train_the_cheap_families_unless_asked_for_more():
    assert Settings().leaky_variant_families == ("gru4rec", "logreg_counts")
    chosen = Settings.from_environment({"JOURNEYLIFT_LEAKAGE_MODELS": "lstm, gru4rec"})
    assert chosen.leaky_variant_families == ("lstm", "gru4rec")
    # none of the leakage families trained: the leaky variants train what is trained
    assert Settings(model_families=("lstm",)).leaky_variant_families == ("lstm",)
    with pytest.raises(ValueError, match=r"JOURNEYLIFT_LEAKAGE_MODELS names unknown model families \['gru'\]"):
        Settings.from_environment({"JOURNEYLIFT_LEAKAGE_MODELS": "gru"})


def test_the_default_families_are_the_fast_ones_and_an_unknown_one_is_named():
    assert Settings.from_environment({}).model_families == DEFAULT_MODEL_FAMILIES
    assert DEFAULT_MODEL_FAMILIES == ("lstm", "transformer_cls", "gru4rec", "logreg_counts", "latent_intent")
    assert Settings.from_environment({"JOURNEYLIFT_MODELS": "lstm, gru4rec"}).model_families == ("lstm", "gru4rec")
    with pytest.raises(ValueError, match=r"JOURNEYLIFT_MODELS names unknown model families \['lstmm'\]"):
        Settings.from_environment({"JOURNEYLIFT_MODELS": "lstmm"})


def test_the_raw_assets_and_the_truth_follow_the_source(tmp_path):
    def keys(source: str) -> set[str]:
        """The assets a run can materialize (dbt's sources of the other domain stay external)."""
        graph = build_definitions(Settings(source=parse_source(source))).resolve_asset_graph()
        return {key.to_user_string() for key in graph.materializable_asset_keys}

    simulated, ad_funnel, folder = keys("simulator"), keys("simulator:ad_funnel"), keys(str(tmp_path))
    assert {"journeylift/truth_scorecard", "journeylift/simulator_truth", "raw/events"} <= simulated
    assert {"raw/impressions", "journeylift/truth_scorecard"} <= ad_funnel and "raw/events" not in ad_funnel
    assert "raw/events" in folder and "raw/impressions" in folder
    assert not {"journeylift/truth_scorecard", "journeylift/simulator_truth"} & folder


def test_one_graph_with_one_owner_per_asset_and_no_daily_group():
    """The incremental dbt models (and the raw events) are partitioned by event date, the marts and
    everything downstream are not, and no two definitions produce the same asset."""
    loaded = build_definitions(Settings())
    owners = Counter(key for assets in loaded.assets for key in assets.keys)
    assert owners and set(owners.values()) == {1}
    graph = loaded.resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.materializable_asset_keys}
    assert "daily" not in groups
    partitioned = {key.to_user_string() for key in graph.materializable_asset_keys if graph.get(key).partitions_def}
    assert {"raw/events", "staging/stg_sessions__events_screened", "intermediate/int_events_enriched",
            "intermediate/int_journeys_labeled"} <= partitioned
    assert not {"marts/fct_journey_labels", "marts/fct_journey_sequences_no_funnel", "staging/quarantine_events",
                "journeylift/leaderboard", "journeylift/journey_scores"} & partitioned
    # the job is the whole graph; its schedule runs it for one date
    job = loaded.resolve_job_def("journeylift")
    assert job.partitions_def is not None
    assert loaded.resolve_schedule_def("daily_refresh").job_name == "journeylift"


def test_every_step_that_opens_the_warehouse_is_in_its_pool():
    loaded = build_definitions(Settings())
    pools = {assets.node_def.name: assets.node_def.pool for assets in loaded.assets if assets.is_executable}
    # freshness checks read the Dagster instance only, never the warehouse
    pools.update({check.node_def.name: check.node_def.pool for check in loaded.asset_checks
                  if not check.node_def.name.startswith("freshness_check")})
    assert pools and {name for name, pool in pools.items() if pool != WAREHOUSE_POOL} == set()


def test_the_first_event_date_sets_the_event_date_partitions():
    settings = Settings.from_environment({"JOURNEYLIFT_FIRST_EVENT_DATE": "2026-11-20"})
    job = build_definitions(settings).resolve_job_def("journeylift")
    assert job.partitions_def.get_first_partition_key() == "2026-11-20"
    with pytest.raises(ValueError, match="is not a date"):
        Settings(first_event_date="20 November")


def test_dbt_build_args():
    assert dbt_build_args() == ["build"]



def test_every_asset_has_a_group_and_a_description_and_every_check_says_what_it_asserts():
    """No nameless external asset in `default` (the other domain's raw tables are declared in
    `raw` with dbt's descriptions), and no check reads "No description provided" in the UI."""
    graph = build_definitions(Settings()).resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name != "default", key
        assert (node.description or "").strip(), key
    for check_key in graph.asset_check_keys:
        assert (graph.get_check_spec(check_key).description or "").strip(), check_key
    impressions = graph.get(dg.AssetKey(["raw", "impressions"]))
    assert impressions.group_name == "raw" and "impression" in impressions.description
    assert impressions.key in graph.get(dg.AssetKey(["staging", "stg_ad_funnel__events"])).parent_keys


def test_the_code_location_is_named_journeylift_where_runs_and_the_ui_look_for_it():
    import yaml

    from dagster_project.cli import CODE_LOCATION

    workspace = yaml.safe_load((Path(__file__).parent.parent / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["location_name"] == CODE_LOCATION == "journeylift"


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    SNAPSHOT.write_text(json.dumps(snapshot(build_definitions(Settings())), indent=1) + "\n")
    print(f"written: {SNAPSHOT}")


def test_a_selection_reaching_part_of_a_multi_asset_runs_it_whole():
    """`journeylift run --select '+key:"intermediate/int_events_enriched"'` reaches two of the
    simulator's five tables (raw events and stores); the simulator is one multi-asset that cannot
    run in part, so the selection takes it whole (it failed the job with DagsterInvalidSubsetError)."""
    from dagster_project.cli import selected_assets

    definitions = build_definitions(Settings())
    keys = {key.to_user_string() for key in selected_assets(definitions, '+key:"intermediate/int_events_enriched"')}
    assert {"raw/events", "journeylift/simulator_truth", "intermediate/int_events_enriched"} <= keys
    assert "journeylift/model_metrics" not in keys
    job = definitions.resolve_job_def("journeylift")
    job.get_subset(asset_selection=set(selected_assets(definitions, '+key:"intermediate/int_events_enriched"')))
    with pytest.raises(SystemExit, match="names no asset"):
        selected_assets(definitions, 'key:"no/such_asset"')
