"""The code location loads, and a snapshot of its asset keys, checks, jobs and schedules makes
renames visible in review."""

import dagster as dg

from dagster_project.defs.dbt.assets import dbt_build_args
from dagster_project.definitions import defs

EXPECTED_ASSETS = {
    "raw/events",
    "raw/dimension_store",
    "raw/ad_experiment",
    "staging/stg_sessions__ad_experiment",
    "marts/fct_ad_experiment_journeys",
    "journeylift/simulator_truth",
    "staging/stg_sessions__events",
    "staging/stg_sessions__stores",
    "marts/fct_journey_labels",
    "marts/fct_journey_sequences_no_funnel",
    "marts/fct_journey_sequences_with_funnel",
    "marts/leakage_audit_no_funnel",
    "marts/dim_stores",
    "models/lstm__no_funnel",
    "models/lstm__with_funnel",
    "models/transformer_cls__no_funnel",
    "models/transformer_cls__with_funnel",
    "journeylift/model_metrics",
    "journeylift/journey_predictions",
    "journeylift/event_attribution",
    "journeylift/event_type_attribution",
    "journeylift/position_attribution",
    "journeylift/store_attribution",
    "journeylift/counterfactual_effects",
    "journeylift/attribution_report",
    "journeylift/leaderboard",
    "journeylift/quarantine_counts",
    "staging/quarantine_events",
    "staging/stg_sessions__events_screened",
    "journeylift/simulator_position_weights",
    "journeylift/ad_effects",
    "journeylift/faithfulness",
    "journeylift/truth_scorecard",
    "journeylift/integrated_gradients_completeness",
    "journeylift/journey_embeddings",
}


def test_code_location_loads_the_whole_graph():
    loaded = defs()
    keys = {key.to_user_string() for key in loaded.resolve_all_asset_keys()}
    assert EXPECTED_ASSETS <= keys, EXPECTED_ASSETS - keys
    assert loaded.resolve_job_def("journeylift") is not None
    assert [s.name for s in loaded.schedules] == ["daily_refresh"]
    assert loaded.resolve_schedule_def("daily_refresh").cron_schedule == "0 3 * * *"


def test_leakage_guard_blocks_the_honest_sequences():
    loaded = defs()
    check_keys = {
        key
        for check_def in loaded.asset_checks or []
        for key in check_def.check_keys
    }
    guard = dg.AssetCheckKey(dg.AssetKey(["marts", "fct_journey_sequences_no_funnel"]), "no_funnel_leakage_guard")
    assert guard in check_keys
    spec = next(s for c in loaded.asset_checks for s in c.check_specs if s.key == guard)
    assert spec.blocking


def test_dbt_tests_become_asset_checks():
    graph = defs().resolve_asset_graph()
    checks = {key.name for key in graph.asset_check_keys if key.asset_key.path[0] == "marts"}
    assert any("no_funnel" in name for name in checks), checks


def test_dbt_build_args():
    assert dbt_build_args() == ["build"]


def _guard_blocking_in_subprocess(mode: str | None):
    import os
    import subprocess
    import sys

    code = (
        "from dagster_project.definitions import defs\n"
        "import dagster as dg\n"
        "key = dg.AssetCheckKey(dg.AssetKey(['marts', 'fct_journey_sequences_no_funnel']), 'no_funnel_leakage_guard')\n"
        "d = defs()\n"
        "print('BLOCKING', next(s for c in d.asset_checks for s in c.check_specs if s.key == key).blocking)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "JOURNEYLIFT_LEAKAGE_GUARD"}
    if mode is not None:
        env["JOURNEYLIFT_LEAKAGE_GUARD"] = mode
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_guard_blocks_by_default_and_only_an_explicit_logged_switch_makes_it_warn():
    assert "BLOCKING True" in _guard_blocking_in_subprocess(None).stdout
    warned = _guard_blocking_in_subprocess("warn")
    assert "BLOCKING False" in warned.stdout
    assert "does NOT stop training" in warned.stderr
    typo = _guard_blocking_in_subprocess("off")
    assert typo.returncode != 0 and "must be one of" in typo.stderr


def test_all_families_when_asked_for_all():
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json\n"
        "from dagster_project.definitions import defs\n"
        "print(json.dumps(sorted(k.to_user_string() for k in defs().resolve_all_asset_keys())))\n"
    )
    env = {**os.environ, "JOURNEYLIFT_MODELS": "all"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    keys = set(json.loads(done.stdout.strip().splitlines()[-1]))
    from ml.models import available_models

    families = set(available_models())
    assert {"lstm", "transformer_cls", "gru4rec", "sasrec", "bert4rec", "bilstm_transformer", "item2vec",
            "seq_vae", "srgnn", "logreg_counts"} <= families
    for family in families:
        for variant in ("no_funnel", "with_funnel", "funnel_excluded_only"):
            assert f"models/{family}__{variant}" in keys
    assert "journeylift/customer_traits" in keys


def test_default_families_are_the_fast_ones():
    from dagster_project.settings import DEFAULT_MODEL_FAMILIES, model_families

    assert model_families() == DEFAULT_MODEL_FAMILIES == ("lstm", "transformer_cls", "gru4rec", "logreg_counts")
