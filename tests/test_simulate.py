"""The sessions simulator: raw contract shapes, its structural invariants, and its truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.contract import BOOLEAN, CONTRACT_TABLES, TEXT, TIMESTAMP
from ml.simulate import CONVERSION_EVENTS, FUNNEL_EVENTS, SCENARIOS, SimulationConfig, simulate_sessions
from ml.simulate.structural import sigmoid

# The pandas dtypes the simulator writes for each rule of the raw contract (ml.contract).
RULE_DTYPES = {TEXT: {"str"}, TIMESTAMP: {"datetime64[us]"}, BOOLEAN: {"bool", "boolean"}}


def assert_contract_table(frame: pd.DataFrame, table: str) -> None:
    """`frame` holds the contract table's columns (its optional ones too), each of its rule's dtype."""
    rules = CONTRACT_TABLES[table].rules
    assert list(frame.columns) == list(rules), table
    for column, rule in rules.items():
        assert str(frame[column].dtype) in RULE_DTYPES[rule], (table, column, frame[column].dtype)


@pytest.fixture(scope="module")
def sim():
    return simulate_sessions(SimulationConfig(n_users=2000, seed=7))


@pytest.fixture(scope="module")
def events(sim) -> pd.DataFrame:
    """The events with their true session (events are laid out session by session)."""
    frame = sim.events.copy()
    frame["session_key"] = np.repeat(sim.sessions["session_key"].to_numpy(), sim.sessions["n_events"].to_numpy())
    conversion_ts = sim.sessions.set_index("session_key")["conversion_ts"]
    frame["before_conversion"] = ~(frame["event_ts"] >= frame["session_key"].map(conversion_ts))
    return frame


def test_same_seed_same_simulation_other_seed_other_one():
    config = SimulationConfig(n_users=300, seed=3)
    first, second = simulate_sessions(config), simulate_sessions(config)
    for name in ("events", "dimension_store", "truth", "sessions", "ad_experiment"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))
    other = simulate_sessions(SimulationConfig(n_users=300, seed=4))
    assert not first.events["event"].equals(other.events["event"])


def test_raw_tables_have_the_contract_columns_and_dtypes(sim):
    assert_contract_table(sim.events, "events")
    assert_contract_table(sim.dimension_store, "dimension_store")
    assert_contract_table(sim.ad_experiment, "ad_experiment")
    assert str(sim.events["is_sponsored"].dtype) == "boolean"  # nullable: null means false
    assert list(sim.truth.columns) == ["intervention", "true_effect", "n_journeys"]
    assert list(sim.sessions.columns[:7]) == [
        "session_key", "user_id", "intent", "p_convert", "converted", "conversion_ts", "n_pre_conversion_events",
    ]
    assert list(sim.event_effects.columns) == ["event", "is_sponsored", "log_odds_effect"]
    assert list(sim.position_weights.columns) == ["position", "weight"]


def test_event_ids_are_unique_and_sort_in_generation_order(sim):
    ids = sim.events["event_id"]
    assert ids.is_unique
    assert ids.is_monotonic_increasing
    assert ids.iloc[0] == "e00000001"
    assert sim.sessions["session_key"].str.match(r"^s\d{7}$").all()
    assert sim.events["user_id"].str.match(r"^u\d{6}$").all()


def test_events_lie_in_session_order(sim, events):
    has_id = events["session_id"].notna()
    assert (events.loc[has_id, "session_id"] == events.loc[has_id, "session_key"]).all()
    assert len(events) == sim.sessions["n_events"].sum()


def test_stores_are_known_and_only_on_store_and_funnel_events(sim, events):
    stores = sim.dimension_store
    assert stores["store_id"].is_unique and len(stores) == 200
    used = events["store_id"].dropna()
    assert used.isin(stores["store_id"]).all()
    assert (stores["is_nv"] == (stores["primary_category_name"] != "Restaurant")).all()
    store_events = events["event_type"].isin(["store_impression", "store_click", "store_page"])
    assert events.loc[store_events, "store_id"].notna().all()
    assert events.loc[store_events, "is_sponsored"].notna().all()
    assert events.loc[~store_events, "is_sponsored"].isna().all()
    assert not events.loc[events["event_type"] == "store_page", "is_sponsored"].any()
    non_store = events["event_type"].isin(["search", "navigation"])
    assert events.loc[non_store, "store_id"].isna().all()
    # a few stores take most of the traffic
    top_share = used.value_counts(normalize=True).head(20).sum()
    assert top_share > 0.4


def test_vocabulary_pairs_event_types_and_events(events):
    pairs = set(zip(events["event_type"], events["event"]))
    assert ("store_impression", "m_card_view") in pairs
    assert ("store_click", "m_card_click") in pairs
    assert ("search", "core_search") in pairs
    assert ("navigation", "m_select_tab_orders") in pairs
    assert {e for t, e in pairs if t == "funnel"} == set(FUNNEL_EVENTS)
    sponsored = events["is_sponsored"].fillna(False).astype(bool)
    assert (events.loc[sponsored, "discovery_feature"] == "Sponsored Carousel").all()
    assert events.loc[sponsored, "event_type"].isin(["store_impression", "store_click"]).all()
    assert (events.loc[events["event"] == "core_search", "discovery_feature"] == "Core Search").all()


def test_gaps_within_sessions_and_between_sessions(events):
    gaps = events.groupby("session_key", sort=False)["event_ts"].diff().dropna().dt.total_seconds()
    assert gaps.min() >= 1
    assert gaps.max() < 30 * 60
    spans = events.groupby("session_key", sort=False).agg(
        user_id=("user_id", "first"), first=("event_ts", "min"), last=("event_ts", "max")
    )
    spans = spans.sort_values(["user_id", "first"])
    same_user = spans["user_id"].eq(spans["user_id"].shift())
    between = (spans["first"] - spans["last"].shift()).dt.total_seconds()[same_user]
    assert between.min() >= 2 * 3600
    assert events["event_ts"].min() >= pd.Timestamp("2026-10-01")


def test_null_session_ids_cover_whole_sessions_and_resessionize_exactly(sim, events):
    null_share = sim.sessions["session_id"].isna().mean()
    assert 0.07 < null_share < 0.13
    per_session = events.groupby("session_key")["session_id"].agg(lambda s: s.isna().mean())
    assert set(per_session.unique()) <= {0.0, 1.0}
    # what dbt does: a user's session-less events start a new session after 30 minutes of inactivity
    loose = events[events["session_id"].isna()].sort_values(["user_id", "event_ts", "event_id"])
    gap = loose.groupby("user_id")["event_ts"].diff()
    starts = gap.isna() | (gap > pd.Timedelta(minutes=30))
    recovered = starts.cumsum()
    pairs = pd.DataFrame({"recovered": recovered, "true": loose["session_key"]}).drop_duplicates()
    assert pairs["recovered"].is_unique and pairs["true"].is_unique


def test_conversion_moment_is_the_first_conversion_event(sim, events):
    conversion_events = events[events["event"].isin(CONVERSION_EVENTS)]
    first = conversion_events.groupby("session_key")["event_ts"].min()
    sessions = sim.sessions.set_index("session_key")
    converted = sessions[sessions["converted"]]
    assert set(first.index) == set(converted.index)
    assert (first.reindex(converted.index) == converted["conversion_ts"]).all()
    assert sessions.loc[~sessions["converted"], "conversion_ts"].isna().all()
    order = conversion_events.pivot(index="session_key", columns="event", values="event_ts")
    delay = (order["system_checkout_success"] - order["action_place_order"]).dt.total_seconds()
    assert delay.between(1, 3).all()


def test_converted_sessions_continue_after_conversion(sim, events):
    after = events[~events["before_conversion"] & ~events["event"].isin(CONVERSION_EVENTS)]
    converted_keys = sim.sessions.loc[sim.sessions["converted"], "session_key"]
    assert set(after["session_key"]) == set(converted_keys)
    orders_tab = events[events["event"] == "m_select_tab_orders"]
    assert (~orders_tab["before_conversion"]).mean() > 0.6  # the leak: mostly seen after ordering
    n_before = events.groupby("session_key")["before_conversion"].sum()
    sessions = sim.sessions.set_index("session_key")
    assert (n_before.reindex(sessions.index) == sessions["n_pre_conversion_events"]).all()


def test_some_non_converted_sessions_abandon_a_funnel(sim, events):
    not_converted = sim.sessions.loc[~sim.sessions["converted"], "session_key"]
    lost = events[events["session_key"].isin(not_converted)]
    holds = lost.groupby("session_key")["event"].agg(set).reindex(not_converted, fill_value=set())
    with_items = holds.map(lambda s: "action_add_item" in s).mean()
    with_cart = holds.map(lambda s: "cart_page_load" in s).mean()
    with_checkout = holds.map(lambda s: "checkout_page_load" in s).mean()
    assert 0.3 < with_items < 0.5
    assert 0.1 < with_cart < with_items
    assert 0 < with_checkout < 0.05
    assert not holds.map(lambda s: bool(s & set(CONVERSION_EVENTS))).any()


def test_funnel_events_come_after_browsing(events):
    is_funnel = events["event_type"].eq("funnel")
    funnel_started = is_funnel.groupby(events["session_key"]).cummax()
    before_conversion_browsing_after_funnel = funnel_started & ~is_funnel & events["before_conversion"]
    assert not before_conversion_browsing_after_funnel.any()


def test_ads_target_high_intent_sessions(sim, events):
    cards = events[events["event_type"].isin(["store_impression", "store_click"]) & events["before_conversion"]]
    intent = cards["session_key"].map(sim.sessions.set_index("session_key")["intent"])
    sponsored = cards["is_sponsored"].astype(bool)
    high = intent > intent.median()
    assert sponsored[high].mean() > sponsored[~high].mean() + 0.05


def test_high_intent_sessions_browse_longer_and_click_more(sim, events):
    browsing = events[events["before_conversion"] & ~events["event_type"].eq("funnel")]
    per_session = browsing.groupby("session_key").agg(
        n=("event", "size"), click_share=("event", lambda e: (e == "m_card_click").mean())
    )
    intent = sim.sessions.set_index("session_key")["intent"].reindex(per_session.index)
    assert np.corrcoef(intent, per_session["n"])[0, 1] > 0.1
    assert np.corrcoef(intent, per_session["click_share"])[0, 1] > 0.1


def test_default_conversion_rate_and_ranking_difficulty():
    sim = simulate_sessions(SimulationConfig(n_users=3000, seed=1))
    converted = sim.sessions["converted"].to_numpy()
    assert 0.25 < converted.mean() < 0.35
    # even the true probability ranks sessions only moderately well: no model can reach 0.99
    ranks = pd.Series(sim.sessions["p_convert"]).rank().to_numpy()
    n_pos, n_neg = converted.sum(), (~converted).sum()
    oracle_auc = (ranks[converted].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    assert 0.65 < oracle_auc < 0.85


def _slow_truth(sim, config: SimulationConfig, events: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """p per session and the truth table, one session and one intervention at a time, from the raw events."""
    beta = {
        (row.event, bool(row.is_sponsored) if not pd.isna(row.is_sponsored) else False): row.log_odds_effect
        for row in sim.event_effects.itertuples()
    }
    weight = dict(zip(sim.position_weights["position"], sim.position_weights["weight"]))
    sessions = sim.sessions.set_index("session_key")
    # the latents, as the module docstring writes them: c = z1 (+ z2), at the end of browsing under
    # drift; r_u; c_t per browsing event under drift (else c)
    end = "_end" if "intent_end" in sessions else ""
    intent = sessions[f"intent{end}"] + (sessions[f"intent_2{end}"] if "intent_2" in sessions else 0.0)
    retargeting = sessions["retargeting"] if "retargeting" in sessions else pd.Series(0.0, index=sessions.index)
    event_intent = {}
    if sim.intent_path is not None:
        path = sim.intent_path
        path_intent = path["intent"] + (path["intent_2"] if "intent_2" in path else 0.0)
        event_intent = {(k, pos): c for k, pos, c in zip(path["session_key"], path["position"], path_intent)}

    arm = sessions["user_id"].map(sim.ad_experiment.set_index("user_id")["arm"])

    def probability(key, sequence):
        logit = config.intercept + config.intent_effect * intent[key] + config.retargeting_effect * retargeting[key]
        for position, (event, sponsored, c_t) in enumerate(sequence, start=1):
            logit += beta[(event, sponsored)] * (1.0 + config.intent_event_interaction * c_t) * weight[position]
        return 1.0 / (1.0 + np.exp(-logit))

    sequences = {}
    for key, rows in events.groupby("session_key", sort=False):
        kept = rows[rows["before_conversion"] & ~rows["event"].isin(FUNNEL_EVENTS)]
        sequences[key] = [
            (e, bool(s) if not pd.isna(s) else False, event_intent.get((key, t), intent[key]))
            for t, (e, s) in enumerate(zip(kept["event"], kept["is_sponsored"]), start=1)
        ]
    p = pd.Series({key: probability(key, seq) for key, seq in sequences.items()})

    interventions = {"remove_ad_events": lambda event, sponsored: sponsored}
    for name in sorted({e for seq in sequences.values() for e, _, _ in seq}):
        interventions[f"remove_event:{name}"] = lambda event, sponsored, name=name: event == name
    rows = []
    for name, removes in interventions.items():
        effects = []
        for key, seq in sequences.items():
            shortened = [item for item in seq if not removes(*item[:2])]
            if len(shortened) < len(seq):
                effects.append(p[key] - probability(key, shortened))
        rows.append({"intervention": name, "true_effect": np.mean(effects), "n_journeys": len(effects)})
    # the experiment: exposed treatment sessions, each sponsored event swapped for its organic self in its slot
    effects = []
    for key, seq in sequences.items():
        if arm[key] == "treatment" and any(sponsored for _, sponsored, _ in seq):
            effects.append(p[key] - probability(key, [(event, False, c_t) for event, _, c_t in seq]))
    rows.append({"intervention": "ad_experiment_exposed", "true_effect": np.mean(effects), "n_journeys": len(effects)})
    return p, pd.DataFrame(rows)


ALL_SWITCHES = {"intent_dimensions": 2, "intent_event_interaction": 0.5, "intent_drift_sd": 1.0, "retargeting_effect": 1.0}


@pytest.mark.parametrize(
    "overrides",
    [{}, *(SCENARIOS[name] for name in SCENARIOS if name != "default"), ALL_SWITCHES,
     {"intent_dimensions": 2, "intent_drift_sd": 1.0, "intent_event_interaction": 0.5}],
    ids=[*(name for name in SCENARIOS), "every_switch", "two_dimensions_drifting_interacting"],
)
def test_truth_matches_a_slow_per_session_computation(overrides):
    config = SimulationConfig(n_users=60, seed=11, holdout_share=0.3, **overrides)
    sim = simulate_sessions(config)
    frame = sim.events.copy()
    frame["session_key"] = np.repeat(sim.sessions["session_key"].to_numpy(), sim.sessions["n_events"].to_numpy())
    conversion_ts = frame["session_key"].map(sim.sessions.set_index("session_key")["conversion_ts"])
    frame["before_conversion"] = ~(frame["event_ts"] >= conversion_ts)

    p, truth = _slow_truth(sim, config, frame)
    np.testing.assert_allclose(p.reindex(sim.sessions["session_key"]).to_numpy(), sim.sessions["p_convert"], rtol=1e-10)
    fast = sim.truth.set_index("intervention").sort_index()
    slow = truth.set_index("intervention").sort_index()
    assert list(fast.index) == list(slow.index)
    assert (fast["n_journeys"] == slow["n_journeys"]).all()
    np.testing.assert_allclose(fast["true_effect"], slow["true_effect"], rtol=1e-9, atol=1e-12)
    assert "ad_experiment_exposed" in fast.index


def test_truth_sign_follows_the_structural_effects(sim):
    truth = sim.truth.set_index("intervention")["true_effect"]
    effects = sim.event_effects
    assert truth["remove_ad_events"] > 0
    for event, beta in effects.groupby("event")["log_odds_effect"].max().items():
        if abs(beta) >= 0.1:  # near-zero effects are swamped by the re-ranking of the rest
            assert np.sign(truth[f"remove_event:{event}"]) == np.sign(beta), event
    assert truth["remove_event:m_card_click"] == truth.max()
    assert truth["remove_event:m_select_tab_orders"] < 0
    assert not any(name.removeprefix("remove_event:") in FUNNEL_EVENTS for name in truth.index)
    assert (sim.truth["n_journeys"] > 0).all()


def test_position_weights_decay_from_one_to_the_floor(sim):
    weights = sim.position_weights
    assert list(weights["position"]) == list(range(1, 81))
    assert weights["weight"].iloc[0] == pytest.approx(1.0)
    assert weights["weight"].is_monotonic_decreasing
    assert weights["weight"].iloc[-1] > 0.3


def test_sigmoid_of_the_structural_logit_is_p(sim):
    assert np.all((sim.sessions["p_convert"] > 0) & (sim.sessions["p_convert"] < 1))
    assert sigmoid(np.array([0.0]))[0] == 0.5


def test_invalid_configs_are_refused():
    with pytest.raises(ValueError):
        SimulationConfig(null_session_id_share=1.5)
    with pytest.raises(ValueError):
        SimulationConfig(max_seconds_between_events=1800)
    with pytest.raises(ValueError):
        SimulationConfig(mean_sessions_per_user=0.5)
    with pytest.raises(ValueError):
        SimulationConfig(holdout_share=1.0)


def test_a_million_events():
    """Size sanity at the scale the benchmarks use (a few seconds)."""
    sim = simulate_sessions(SimulationConfig(n_users=40_000, seed=0))
    assert len(sim.events) > 1_000_000
    assert sim.events["event_id"].is_unique
    assert sim.events["event_id"].is_monotonic_increasing
    assert 0.25 < sim.sessions["converted"].mean() < 0.35


# --- the randomized ad holdout ---------------------------------------------------------------


def _with_arm_and_session(sim) -> pd.DataFrame:
    """Events with their true session, the user's arm and whether they are browsing events."""
    frame = sim.events.copy()
    sessions = sim.sessions
    frame["session_key"] = np.repeat(sessions["session_key"].to_numpy(), sessions["n_events"].to_numpy())
    frame["arm"] = frame["user_id"].map(sim.ad_experiment.set_index("user_id")["arm"])
    rank = frame.groupby("session_key", sort=False).cumcount()
    frame["is_browsing"] = rank < frame["session_key"].map(sessions.set_index("session_key")["n_browsing_events"])
    return frame


def test_every_user_has_one_arm_in_the_configured_shares(sim):
    experiment = sim.ad_experiment
    assert experiment["user_id"].is_unique
    assert set(experiment["user_id"]) == set(sim.events["user_id"])
    assert len(experiment) == 2000
    assert set(experiment["arm"]) == {"treatment", "holdout"}
    assert (experiment["arm"] == "holdout").sum() == 200  # round(0.1 * 2000)
    wider = simulate_sessions(SimulationConfig(n_users=1000, seed=7, holdout_share=0.35))
    assert (wider.ad_experiment["arm"] == "holdout").sum() == 350
    # the sessions frame carries the same arm
    arm = sim.sessions["user_id"].map(experiment.set_index("user_id")["arm"])
    assert (arm == sim.sessions["arm"]).all()


def test_arms_are_independent_of_intent():
    sim = simulate_sessions(SimulationConfig(n_users=20_000, seed=5, holdout_share=0.5))
    sessions = sim.sessions
    first = sessions.drop_duplicates("user_id")  # the user part of intent shows in every session
    by_arm = first.groupby("arm")["intent"]
    difference = by_arm.mean()["treatment"] - by_arm.mean()["holdout"]
    standard_error = np.sqrt((by_arm.var() / by_arm.size()).sum())
    assert abs(difference) < 4 * standard_error
    # exposure (would-be ads) is equally likely in both arms: targeting does not depend on the arm
    exposed = (sessions["n_ad_slots"] > 0).groupby(sessions["arm"]).mean()
    assert abs(exposed["treatment"] - exposed["holdout"]) < 0.02


def test_holdout_users_see_no_sponsored_event(sim):
    events = _with_arm_and_session(sim)
    holdout = events[events["arm"] == "holdout"]
    assert len(holdout) > 0
    assert not holdout["is_sponsored"].fillna(False).any()
    assert not (holdout["discovery_feature"] == "Sponsored Carousel").any()
    assert events.loc[events["arm"] == "treatment", "is_sponsored"].fillna(False).any()


def test_ghost_ads_only_in_the_holdout_on_organic_cards(sim):
    events = _with_arm_and_session(sim)
    ghost = events["is_ghost_ad"].fillna(False).astype(bool)
    assert ghost.any()
    assert (events.loc[ghost, "arm"] == "holdout").all()
    assert events.loc[ghost, "event_type"].isin(["store_impression", "store_click"]).all()
    assert not events.loc[ghost, "is_sponsored"].any()
    assert not (events.loc[ghost, "discovery_feature"] == "Sponsored Carousel").any()
    assert events.loc[ghost, "store_id"].notna().all()
    # the flag is null exactly where sponsorship is (events that are never ad slots)
    assert (events["is_ghost_ad"].isna() == events["is_sponsored"].isna()).all()
    # in the holdout, ghost cards are about as common as sponsored cards in treatment
    cards = events[events["event_type"].isin(["store_impression", "store_click"]) & events["is_browsing"]]
    ghost_share = cards.loc[cards["arm"] == "holdout", "is_ghost_ad"].astype(bool).mean()
    sponsored_share = cards.loc[cards["arm"] == "treatment", "is_sponsored"].astype(bool).mean()
    assert abs(ghost_share - sponsored_share) < 0.03


def test_ghost_slots_are_where_the_sponsored_cards_would_have_been():
    """Same seed with and without the experiment: browsing is drawn identically, so the holdout's
    ghost slots are exactly the slots that carry a sponsored card when nobody is held out."""
    with_holdout = simulate_sessions(SimulationConfig(n_users=1500, seed=9, holdout_share=0.3))
    without = simulate_sessions(SimulationConfig(n_users=1500, seed=9, holdout_share=0.0))
    assert (with_holdout.sessions["n_browsing_events"] == without.sessions["n_browsing_events"]).all()
    first = _with_arm_and_session(with_holdout)
    first = first[first["is_browsing"]].reset_index(drop=True)
    second = _with_arm_and_session(without)
    second = second[second["is_browsing"]].reset_index(drop=True)
    assert (first["session_key"] == second["session_key"]).all()
    assert (first["event"] == second["event"]).all()

    holdout = first["arm"] == "holdout"
    assert holdout.any() and (~holdout).any()
    would_be_sponsored = second["is_sponsored"].fillna(False).astype(bool)
    ghost = first["is_ghost_ad"].fillna(False).astype(bool)
    assert (ghost[holdout] == would_be_sponsored[holdout]).all()
    assert not ghost[~holdout].any()
    # treatment users see exactly what they would have seen without the experiment
    for column in ("is_sponsored", "store_id", "discovery_feature"):
        pd.testing.assert_series_equal(first.loc[~holdout, column], second.loc[~holdout, column])
    # a ghost card takes the organic feature the slot would have had unsponsored
    organic = first.loc[ghost, "discovery_feature"]
    assert organic.isin(["Core Search", "Traditional Carousel", "Home Feed", "Cuisine Filter"]).all()


def test_a_ghost_ad_counts_as_the_organic_card_for_conversion():
    """p of a holdout session is the structural formula with is_sponsored false on its ghosts."""
    config = SimulationConfig(n_users=80, seed=2, holdout_share=0.5)
    sim = simulate_sessions(config)
    frame = sim.events.copy()
    frame["session_key"] = np.repeat(sim.sessions["session_key"].to_numpy(), sim.sessions["n_events"].to_numpy())
    conversion_ts = frame["session_key"].map(sim.sessions.set_index("session_key")["conversion_ts"])
    frame["before_conversion"] = ~(frame["event_ts"] >= conversion_ts)
    assert frame["is_ghost_ad"].fillna(False).any()
    p, _ = _slow_truth(sim, config, frame)
    np.testing.assert_allclose(p.reindex(sim.sessions["session_key"]).to_numpy(), sim.sessions["p_convert"], rtol=1e-10)


def test_experimental_truth_is_the_swap_effect_and_below_removal(sim):
    truth = sim.truth.set_index("intervention")
    swap, removal = truth.loc["ad_experiment_exposed"], truth.loc["remove_ad_events"]
    # both over the exposed treatment sessions (holdout sessions hold no sponsored event)
    assert swap["n_journeys"] == removal["n_journeys"]
    exposed_treatment = (sim.sessions["arm"] == "treatment") & (sim.sessions["n_ad_slots"] > 0)
    assert swap["n_journeys"] == exposed_treatment.sum()
    # sponsorship raises conversion, but less than the whole card does
    assert 0 < swap["true_effect"] < removal["true_effect"]


def test_the_experiment_recovers_the_truth_at_scale():
    """Exposed treatment minus ghost-exposed holdout, in expected conversion, estimates the truth."""
    sim = simulate_sessions(SimulationConfig(n_users=60_000, seed=4, holdout_share=0.5))
    sessions = sim.sessions[sim.sessions["n_ad_slots"] > 0]
    by_arm = sessions.groupby("arm")["p_convert"].mean()
    truth = sim.truth.set_index("intervention").loc["ad_experiment_exposed", "true_effect"]
    assert by_arm["treatment"] - by_arm["holdout"] == pytest.approx(truth, rel=0.15)


def test_no_holdout_no_experiment():
    sim = simulate_sessions(SimulationConfig(n_users=300, seed=3, holdout_share=0.0))
    assert sim.ad_experiment.empty
    assert list(sim.ad_experiment.columns) == ["user_id", "arm"]
    assert not sim.events["is_ghost_ad"].fillna(False).any()
    assert "ad_experiment_exposed" not in set(sim.truth["intervention"])
    assert (sim.sessions["arm"] == "treatment").all()


def test_no_holdout_reproduces_the_simulation_from_before_the_experiment():
    """Pinned from the simulator as it was before the ad experiment existed (n_users=300, seed=3):
    the experiment's own random stream leaves every earlier table and column as it was."""
    sim = simulate_sessions(SimulationConfig(n_users=300, seed=3, holdout_share=0.0))
    events = sim.events.drop(columns="is_ghost_ad")
    assert len(events) == 8809
    assert int(pd.util.hash_pandas_object(events, index=False).sum()) == 1179301270268429428
    earlier_sessions = sim.sessions.drop(columns=["arm", "n_ad_slots"])
    assert int(pd.util.hash_pandas_object(earlier_sessions, index=False).sum()) == 14150174031091663058
    np.testing.assert_allclose(
        sim.truth["true_effect"],
        [0.04681026856106938, 0.0016771195816123615, 0.08152435116048701, 0.04384086056661166,
         0.019820847578556972, -0.005094958395983607, -0.026264139955299786, -0.0021399396115029906],
        rtol=1e-12,
    )


# --- violations of the latent-intent model's assumptions (issue 18) ---------------------------

VIOLATION_COLUMNS = ("intent_2", "intent_end", "intent_2_end", "retargeting")


def test_defaults_reproduce_the_simulation_from_before_the_violation_switches():
    """Pinned from the simulator as it was before the switches existed (n_users=300, seed=3, the
    default holdout): with every switch off, each table is what it was, byte for byte."""
    sim = simulate_sessions(SimulationConfig(n_users=300, seed=3))
    digests = {
        "events": 700326357806042880,
        "truth": 2273254865927498247,
        "sessions": 12172379808781826168,
        "ad_experiment": 7258823636335401529,
    }
    for name, digest in digests.items():
        assert int(pd.util.hash_pandas_object(getattr(sim, name), index=False).sum()) == digest, name
    assert sim.intent_path is None
    assert not set(VIOLATION_COLUMNS) & set(sim.sessions.columns)


def test_switches_set_to_their_off_values_change_nothing():
    off = {"intent_dimensions": 1, "intent_event_interaction": 0.0, "intent_drift_sd": 0.0, "retargeting_effect": 0.0}
    default = simulate_sessions(SimulationConfig(n_users=200, seed=8))
    explicit = simulate_sessions(SimulationConfig(n_users=200, seed=8, **off))
    for name in ("events", "truth", "sessions", "ad_experiment"):
        pd.testing.assert_frame_equal(getattr(default, name), getattr(explicit, name))


def _browsing(sim) -> pd.DataFrame:
    """The browsing events (before any funnel event) with their session's latents."""
    events = _with_arm_and_session(sim)
    events = events[events["is_browsing"]].reset_index(drop=True)
    events["position"] = events.groupby("session_key", sort=False).cumcount() + 1
    latents = [c for c in ("intent", *VIOLATION_COLUMNS) if c in sim.sessions]
    return events.join(sim.sessions.set_index("session_key")[latents], on="session_key")


def _card_sponsorship_by_session(events: pd.DataFrame) -> pd.Series:
    cards = events[events["event_type"].isin(["store_impression", "store_click"]) & (events["arm"] == "treatment")]
    return cards.groupby("session_key")["is_sponsored"].agg(lambda s: s.astype(bool).mean())


def test_two_intent_dimensions_target_ads_on_the_second_only():
    sim = simulate_sessions(SimulationConfig(n_users=2000, seed=7, **SCENARIOS["two_dimensional_intent"]))
    sessions = sim.sessions.set_index("session_key")
    assert abs(np.corrcoef(sessions["intent"], sessions["intent_2"])[0, 1]) < 0.05  # independent dimensions
    assert sessions["intent_2"].std() == pytest.approx(np.hypot(0.8, 0.6), rel=0.05)
    events = _browsing(sim)
    sponsored_share = _card_sponsorship_by_session(events)
    latents = sessions.reindex(sponsored_share.index)
    assert np.corrcoef(latents["intent_2"], sponsored_share)[0, 1] > 0.15
    assert abs(np.corrcoef(latents["intent"], sponsored_share)[0, 1]) < 0.05
    # card views load on z2, clicks (and the length) on z1
    per_session = events.groupby("session_key").agg(
        n=("event", "size"), view_share=("event", lambda e: (e == "m_card_view").mean()),
        click_share=("event", lambda e: (e == "m_card_click").mean()),
    )
    latents = sessions.reindex(per_session.index)
    assert np.corrcoef(latents["intent_2"], per_session["view_share"])[0, 1] < -0.05
    assert np.corrcoef(latents["intent"], per_session["click_share"])[0, 1] > 0.1
    assert abs(np.corrcoef(latents["intent_2"], per_session["n"])[0, 1]) < 0.05
    # the length is drawn exactly as without the switch; conversion sees z1 + z2
    default = simulate_sessions(SimulationConfig(n_users=2000, seed=7))
    assert (sim.sessions["n_browsing_events"] == default.sessions["n_browsing_events"]).all()
    assert (sim.sessions["intent"] == default.sessions["intent"]).all()
    assert np.corrcoef(sessions["intent_2"], sessions["p_convert"])[0, 1] > 0.2


def test_retargeting_confounds_ads_and_conversion_and_nothing_else():
    config = SimulationConfig(n_users=2000, seed=7, **SCENARIOS["retargeting"])
    sim, default = simulate_sessions(config), simulate_sessions(SimulationConfig(n_users=2000, seed=7))
    sessions = sim.sessions.set_index("session_key")
    assert sessions.groupby("user_id")["retargeting"].nunique().eq(1).all()  # a user's, in every session
    events, default_events = _browsing(sim), _browsing(default)
    # the browsing mix and the length are drawn exactly as without it: the same events in the same slots
    assert (sim.sessions["n_browsing_events"] == default.sessions["n_browsing_events"]).all()
    assert (events["event"] == default_events["event"]).all()
    # while sponsorship follows r_u, and so does conversion beyond what intent explains
    sponsored_share = _card_sponsorship_by_session(events)
    assert np.corrcoef(sessions["retargeting"].reindex(sponsored_share.index), sponsored_share)[0, 1] > 0.15
    logit = np.log(sessions["p_convert"] / (1 - sessions["p_convert"]))
    default_logit = np.log(default.sessions["p_convert"] / (1 - default.sessions["p_convert"])).to_numpy()
    held_out = sim.sessions["arm"].eq("holdout").to_numpy()  # no sponsored events: only r_u differs
    np.testing.assert_allclose(
        (logit.to_numpy() - default_logit)[held_out], config.retargeting_effect * sessions["retargeting"].to_numpy()[held_out],
        rtol=1e-9, atol=1e-12,
    )


def test_drifting_intent_varies_within_a_session_and_drives_its_events():
    config = SimulationConfig(n_users=2000, seed=7, **SCENARIOS["drifting_intent"])
    sim = simulate_sessions(config)
    path = sim.intent_path
    sessions = sim.sessions.set_index("session_key")
    assert len(path) == sim.sessions["n_browsing_events"].sum()
    first, last = path.groupby("session_key", sort=False).first(), path.groupby("session_key", sort=False).last()
    assert (first["position"] == 1).all()
    np.testing.assert_array_equal(first["intent"], sessions.loc[first.index, "intent"])  # z_1 = z_s
    np.testing.assert_array_equal(last["intent"], sessions.loc[last.index, "intent_end"])  # conversion's intent
    assert (path.groupby("session_key")["intent"].std().dropna() > 0).all()
    steps = path.groupby("session_key", sort=False)["intent"].diff().dropna()
    assert steps.std() == pytest.approx(config.intent_drift_sd / np.sqrt(config.mean_events_per_session), rel=0.05)
    # event t is drawn with z_t: clicks follow the drift within the session
    events = _browsing(sim)
    drift = path["intent"].to_numpy() - events["intent"].to_numpy()
    assert np.corrcoef(drift, events["event"].eq("m_card_click"))[0, 1] > 0.05
    # the length stays drawn from z_s
    default = simulate_sessions(SimulationConfig(n_users=2000, seed=7))
    assert (sim.sessions["n_browsing_events"] == default.sessions["n_browsing_events"]).all()


def test_intent_x_event_changes_the_truth_not_the_events():
    config = SimulationConfig(n_users=2000, seed=7, **SCENARIOS["intent_x_event"])
    sim, default = simulate_sessions(config), simulate_sessions(SimulationConfig(n_users=2000, seed=7))
    events, default_events = _browsing(sim), _browsing(default)
    for column in ("session_key", "event", "is_sponsored", "is_ghost_ad", "store_id"):
        pd.testing.assert_series_equal(events[column], default_events[column])
    assert not np.allclose(sim.sessions["p_convert"], default.sessions["p_convert"])
    truth = sim.truth.set_index("intervention")["true_effect"]
    default_truth = default.truth.set_index("intervention")["true_effect"]
    # the events sit mostly in high-intent sessions, where their effects are larger
    assert truth["remove_event:m_card_click"] > 1.05 * default_truth["remove_event:m_card_click"]
    assert truth["remove_ad_events"] > 1.05 * default_truth["remove_ad_events"]
    assert sim.intent_path is None and not set(VIOLATION_COLUMNS) & set(sim.sessions.columns)


def test_no_targeting_leaves_sponsorship_independent_of_intent():
    sim = simulate_sessions(SimulationConfig(n_users=2000, seed=7, **SCENARIOS["no_targeting"]))
    sponsored_share = _card_sponsorship_by_session(_browsing(sim))
    intent = sim.sessions.set_index("session_key")["intent"].reindex(sponsored_share.index)
    assert abs(np.corrcoef(intent, sponsored_share)[0, 1]) < 0.05


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_converts_in_a_sensible_range(name):
    sim = simulate_sessions(SimulationConfig(n_users=1500, seed=2, **SCENARIOS[name]))
    assert 0.2 < sim.sessions["converted"].mean() < 0.45
    assert (sim.truth["n_journeys"] > 0).all()


def test_scenarios_name_each_switch():
    assert set(SCENARIOS) == {
        "default", "two_dimensional_intent", "intent_x_event", "drifting_intent", "retargeting", "no_targeting",
    }
    assert SCENARIOS["default"] == {}
    assert SCENARIOS["no_targeting"] == {"sponsored_intent_slope": 0.0}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"intent_dimensions": 3}, "intent_dimensions must be 1 or 2"),
        ({"intent_dimensions": 0}, "intent_dimensions must be 1 or 2"),
        ({"intent_drift_sd": -0.1}, "intent_drift_sd is a standard deviation"),
        ({"intent_drift_sd": float("nan")}, "intent_drift_sd is a standard deviation"),
        ({"retargeting_effect": -1.0}, "retargeting_effect must be finite and >= 0"),
        ({"intent_event_interaction": float("inf")}, "intent_event_interaction must be a finite number"),
        ({"user_intent_sd": -0.5}, "must be >= 0"),
    ],
)
def test_invalid_violation_switches_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        SimulationConfig(**overrides)
