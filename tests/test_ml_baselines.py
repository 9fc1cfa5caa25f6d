"""ml.baselines: rules, Markov removal effects and Shapley values on hand-made paths with known answers."""

from itertools import permutations

import numpy as np
import pandas as pd
import pytest

from ml.attribution import EVENT_ATTRIBUTION_COLUMNS, event_type_attribution, position_attribution
from ml.baselines import (
    CHANNEL_COLUMNS,
    channel_attribution,
    channel_event_type_attribution,
    channel_store_attribution,
    coalition_values,
    journey_paths,
    markov_removal_effects,
    rule_attribution,
    shapley_from_values,
    shapley_values,
)


def frames(paths, split="test"):
    """(sequences, labels) from {journey_id: ([events...], converted)}."""
    rows = [
        {"journey_id": j, "position": p, "event": e, "store_id": f"s_{e}", "split": split}
        for j, (events, _) in paths.items()
        for p, e in enumerate(events, start=1)
    ]
    labels = pd.DataFrame(
        {"journey_id": list(paths), "converted": [c for _, c in paths.values()], "split": split}
    )
    return pd.DataFrame(rows), labels


def test_rules_on_hand_made_paths():
    sequences, labels = frames({"j1": (["x", "y", "z"], True), "j2": (["y"], False)})
    expected = {
        "last_touch": [0.0, 0.0, 1.0, 1.0],
        "first_touch": [1.0, 0.0, 0.0, 1.0],
        "linear": [1 / 3, 1 / 3, 1 / 3, 1.0],
    }
    for method, scores in expected.items():
        table = rule_attribution(sequences, labels, method)
        assert list(table.columns) == EVENT_ATTRIBUTION_COLUMNS
        assert table["score"].tolist() == pytest.approx(scores)
        assert table["converted"].tolist() == [True, True, True, False]
        assert (table["method"] == method).all()
    # Same shape as the model methods: the aggregate tables take them as they are.
    last = rule_attribution(sequences, labels, "last_touch")
    assert event_type_attribution(last).set_index("event").loc["z", "mean_converted"] == pytest.approx(1.0)
    assert set(position_attribution(last)["position_bucket"]) == {"1-5"}
    with pytest.raises(KeyError):
        rule_attribution(sequences, labels, "time_decay")


def test_journey_paths_split_and_max_len():
    sequences, labels = frames({"j1": (["a", "b", "c", "d"], True), "j2": (["a"], False)})
    labels.loc[labels["journey_id"] == "j2", "split"] = "train"
    paths = journey_paths(sequences.sample(frac=1, random_state=0), labels, split="test", max_len=2)
    assert paths["event"].tolist() == ["c", "d"]  # the last max_len events, in order
    assert paths["converted"].all()
    assert len(journey_paths(sequences, labels, split=None)) == 5


def test_markov_removal_effects_by_hand():
    """Paths: (A, B) -> conversion, (A) -> null, (B) -> conversion.

    Transitions: start -> A 2/3, start -> B 1/3; A -> B 1/2, A -> null 1/2; B -> conversion 1.
    P(conversion) = 2/3 * 1/2 * 1 + 1/3 * 1 = 2/3.
    Without A (start -> A goes to null): P = 1/3 * 1 = 1/3, so RE_A = (2/3 - 1/3) / (2/3) = 1/2.
    Without B every conversion is lost: P = 0, RE_B = 1.
    Shares of the 2 conversions: A 1/2 / (3/2) = 1/3, B 2/3.
    Reach (journeys holding it): A 2 of 4 holdings, B 2 of 4, so lift_A = (1/3) / (1/2) = 2/3, lift_B = 4/3.
    """
    sequences, labels = frames({"j1": (["A", "B"], True), "j2": (["A"], False), "j3": (["B"], True)})
    table = markov_removal_effects(sequences, labels)
    assert list(table.columns) == CHANNEL_COLUMNS
    table = table.set_index("event")
    assert table.loc["A", "value"] == pytest.approx(0.5)
    assert table.loc["B", "value"] == pytest.approx(1.0)
    assert table["share"].to_dict() == pytest.approx({"A": 1 / 3, "B": 2 / 3})
    assert table["n_events"].to_dict() == {"A": 2, "B": 2}
    rows = channel_event_type_attribution(table.reset_index()).set_index("event")
    assert list(rows.reset_index().columns) == ["event", "method", "mean_converted", "mean_not_converted", "lift", "n_events"]
    assert rows["lift"].to_dict() == pytest.approx({"A": 2 / 3, "B": 4 / 3})
    assert rows["mean_not_converted"].isna().all()

    # A self-loop only delays absorption: (A, A, B) gives the same chain answer as (A, B).
    looped = frames({"j1": (["A", "A", "B"], True), "j2": (["A"], False), "j3": (["B"], True)})
    assert markov_removal_effects(*looped)["value"].tolist() == pytest.approx([0.5, 1.0])


def test_shapley_values_by_hand():
    """Journeys: {A} x4 (1 converts), {B} x2 (1 converts), {A, B} x2 (both convert).

    v(empty) = 0, v({A}) = 1/4, v({B}) = 1/2, v({A, B}) = 4/8 = 1/2 (every journey qualifies).
    phi_A = 1/2 [v(A) - v()] + 1/2 [v(AB) - v(B)] = 1/2 * 1/4 + 1/2 * 0 = 1/8
    phi_B = 1/2 [v(B) - v()] + 1/2 [v(AB) - v(A)] = 1/2 * 1/2 + 1/2 * 1/4 = 3/8
    Efficiency: 1/8 + 3/8 = 1/2 = v(N), the overall conversion rate.
    """
    paths = {}
    for i, converted in enumerate([True, False, False, False]):
        paths[f"a{i}"] = (["A"], converted)
    paths["b0"], paths["b1"] = (["B"], True), (["B", "B"], False)
    paths["ab0"], paths["ab1"] = (["A", "B"], True), (["B", "A", "A"], True)
    table = shapley_values(*frames(paths)).set_index("event")
    assert table["value"].to_dict() == pytest.approx({"A": 1 / 8, "B": 3 / 8})
    assert table["share"].to_dict() == pytest.approx({"A": 1 / 4, "B": 3 / 4})
    assert table["n_journeys"].to_dict() == {"A": 6, "B": 4}
    assert channel_attribution(*frames(paths), "shapley")["value"].sum() == pytest.approx(0.5)


def test_channel_methods_over_stores_give_store_attribution_rows():
    """The Shapley paths above, every event of a journey at one store: the stores are the players."""
    paths = {f"a{i}": (["A"], converted) for i, converted in enumerate([True, False, False, False])}
    paths |= {"b0": (["B"], True), "b1": (["B", "B"], False), "ab0": (["A", "B"], True), "ab1": (["B", "A", "A"], True)}
    sequences, labels = frames(paths)
    sequences["event"] = "impression"  # one event name: event-level channels cannot tell A from B
    assert len(shapley_values(sequences, labels)) == 1
    stores = pd.DataFrame({"store_id": ["s_A", "s_B"], "store_name": ["Store A", "Store B"]})
    for method in ("shapley", "markov_removal"):
        table = channel_attribution(sequences, labels, method, state_column="store_id")
        rows = channel_store_attribution(table, stores).set_index("store_id")
        assert list(rows.reset_index().columns) == ["store_id", "method", "store_name", "mean_score", "n_events"]
        assert rows["store_name"].to_dict() == {"s_A": "Store A", "s_B": "Store B"}
        assert rows["mean_score"].to_dict() == pytest.approx(table.set_index("event")["share"].to_dict())
    shapley = channel_store_attribution(channel_attribution(sequences, labels, "shapley", state_column="store_id"))
    assert shapley.set_index("store_id")["mean_score"].to_dict() == pytest.approx({"s_A": 1 / 4, "s_B": 3 / 4})
    assert (shapley["store_name"] == shapley["store_id"]).all()  # no dimension: the id names it


def test_shapley_matches_the_permutation_definition():
    rng = np.random.default_rng(0)
    n = 4
    masks = rng.integers(1, 1 << n, size=300)
    converted = rng.random(300) < 0.1 + 0.15 * (masks & 1) + 0.1 * ((masks >> 2) & 1)
    values = coalition_values(masks, converted, n)

    def v(players):
        subset = np.array([(m & ~sum(1 << p for p in players)) == 0 for m in masks])
        return converted[subset].mean() if subset.any() else 0.0

    brute = np.zeros(n)
    orders = list(permutations(range(n)))
    for order in orders:
        for k, player in enumerate(order):
            brute[player] += v(order[: k + 1]) - v(order[:k])
    brute /= len(orders)
    assert shapley_from_values(values, n) == pytest.approx(brute)
    assert brute.sum() == pytest.approx(converted.mean())


def test_shapley_refuses_too_many_states():
    sequences, labels = frames({f"j{i}": ([f"e{i}"], i % 2 == 0) for i in range(5)})
    with pytest.raises(ValueError, match="max_states"):
        shapley_values(sequences, labels, max_states=4)
