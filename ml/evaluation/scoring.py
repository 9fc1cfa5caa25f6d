"""Scoring new journeys with a registered model, and the champion/challenger rule.

A registered model carries its encoding (the vocabularies it was trained with and its max_len,
:func:`encoding_dict`), so it scores journeys of any later day: tokens it never saw map to the
unknown bucket. The champion keeps scoring until a challenger beats it on the same journeys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.data import SequenceData, build_sequence_data
from ml.data.vocabulary import Vocabulary
from ml.evaluation.metrics import predict_proba, score_predictions

#: The MLflow aliases of the registered model that scores (champion) and the newest candidate.
CHAMPION, CHALLENGER = "champion", "challenger"


def encoding_dict(vocabularies: dict[str, Vocabulary], max_len: int) -> dict:
    """What a model needs besides its weights to read journeys, as plain JSON."""
    return {"max_len": int(max_len), "vocabularies": {name: list(v.tokens) for name, v in vocabularies.items()}}


def encoding_from_dict(encoding: dict) -> tuple[dict[str, Vocabulary], int]:
    return {name: Vocabulary(tokens) for name, tokens in encoding["vocabularies"].items()}, int(encoding["max_len"])


def encode_journeys(sequences: pd.DataFrame, labels: pd.DataFrame, encoding: dict, journey_ids=None) -> SequenceData:
    """`sequences` (the marts' long format) as a model with `encoding` reads them."""
    vocabularies, max_len = encoding_from_dict(encoding)
    return build_sequence_data(sequences, labels, max_len=max_len, vocabularies=vocabularies, journey_ids=journey_ids)


def score_journeys(model, sequences: pd.DataFrame, labels: pd.DataFrame, encoding: dict, journey_ids) -> np.ndarray:
    """p(convert) of each of `journey_ids` (in that order) by `model` read with its `encoding`."""
    if len(journey_ids) == 0:
        return np.zeros(0)
    return predict_proba(model, encode_journeys(sequences, labels, encoding, journey_ids=journey_ids))


def journeys_to_score(sequences: pd.DataFrame, labels: pd.DataFrame, open_minutes: int) -> pd.DataFrame:
    """The journeys a daily run scores: every journey with an event on the newest event date of
    `sequences`, and every open one (not converted, its last event less than `open_minutes`
    before the newest event: a conversion may still come). One row per journey: journey_id,
    user_id, last_event_at, converted, on_newest_day, is_open, scoring_date."""
    if sequences.empty:
        return pd.DataFrame(columns=["journey_id", "user_id", "last_event_at", "converted", "on_newest_day",
                                     "is_open", "scoring_date"])
    newest = pd.Timestamp(sequences["event_at"].max())
    last = sequences.groupby("journey_id", sort=True)["event_at"].max().rename("last_event_at").reset_index()
    journeys = last.merge(labels[["journey_id", "user_id", "converted"]], on="journey_id", how="left")
    journeys["converted"] = journeys["converted"].fillna(False).astype(bool)
    journeys["on_newest_day"] = journeys["last_event_at"].dt.normalize() == newest.normalize()
    journeys["is_open"] = ~journeys["converted"] & (journeys["last_event_at"] > newest - pd.Timedelta(minutes=open_minutes))
    journeys["scoring_date"] = newest.normalize().date()
    chosen = journeys[journeys["on_newest_day"] | journeys["is_open"]]
    return chosen[["journey_id", "user_id", "last_event_at", "converted", "on_newest_day", "is_open",
                   "scoring_date"]].reset_index(drop=True)


def recent_test_journeys(labels: pd.DataFrame, days: int, minimum: int = 50) -> np.ndarray:
    """The test-split journeys that started in the last `days` days of the labels (all test
    journeys when fewer than `minimum` did): the window a champion and a challenger share."""
    test = labels[labels["split"] == "test"]
    recent = test[test["journey_started_at"] > test["journey_started_at"].max() - pd.Timedelta(days=days)]
    chosen = recent if len(recent) >= minimum else test
    return np.sort(chosen["journey_id"].astype(str).to_numpy())


def window_auc(p_convert: np.ndarray, converted: np.ndarray) -> float:
    """ROC AUC on a window (NaN when it holds one class)."""
    return float(score_predictions(np.asarray(converted, dtype=np.float32), p_convert)["auc"])


@dataclass(frozen=True)
class ChampionDecision:
    promote: bool
    reason: str


def champion_decision(guard_passed: bool, challenger: str | None, challenger_auc: float,
                      champion: str | None, champion_auc: float) -> ChampionDecision:
    """A challenger (a newly registered honest model) becomes champion only when the leakage
    guard passed and it beats the champion's AUC on the same recent test journeys (or there is
    no champion yet). Otherwise the champion keeps scoring; the reason says why."""
    if challenger is None:
        return ChampionDecision(False, "no challenger: no model was registered this run")
    if not guard_passed:
        return ChampionDecision(False, "the leakage guard has not passed on the honest sequences")
    if champion is None:
        return ChampionDecision(True, f"{challenger} becomes the first champion (AUC {challenger_auc:.4f})")
    if np.isnan(challenger_auc) or np.isnan(champion_auc):
        return ChampionDecision(False, "the recent test window holds one class: AUC undefined, champion kept")
    if challenger_auc > champion_auc:
        return ChampionDecision(True, f"{challenger} (AUC {challenger_auc:.4f}) beats the champion {champion} "
                                      f"({champion_auc:.4f}) on the same recent test journeys")
    return ChampionDecision(False, f"{challenger} (AUC {challenger_auc:.4f}) does not beat the champion {champion} "
                                   f"({champion_auc:.4f}) on the same recent test journeys: champion kept")
