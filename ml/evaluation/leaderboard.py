"""The leaderboard over model families x variants, and which model may be promoted."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ml.data import HONEST_VARIANT

#: The count-based model every sequence model must beat to be promoted.
COUNT_BASELINE = "logreg_counts"
LEADERBOARD_COLUMNS = [
    "model", "variant", "test_auc", "test_log_loss", "test_ece", "validation_auc",
    "train_seconds", "events_per_s", "best_epoch",
]


def leaderboard_row(model: str, variant: str, metrics: pd.DataFrame, history: pd.DataFrame, train_seconds: float) -> dict:
    """One leaderboard row from a model's metrics (split, auc, log_loss, ece) and epoch history."""
    by_split = metrics.set_index("split")
    best_epoch = int(history.loc[history["val_auc"].idxmax(), "epoch"]) if history["val_auc"].notna().any() else 0
    return {
        "model": model,
        "variant": variant,
        "test_auc": float(by_split.loc["test", "auc"]),
        "test_log_loss": float(by_split.loc["test", "log_loss"]),
        "test_ece": float(by_split.loc["test", "ece"]),
        "validation_auc": float(by_split.loc["validation", "auc"]),
        "train_seconds": float(train_seconds),
        # Throughput while training: events seen per second, averaged over epochs.
        "events_per_s": float(history["events_per_second"].mean()) if len(history) else float("nan"),
        "best_epoch": best_epoch,
    }


def leaderboard(rows: list[dict]) -> pd.DataFrame:
    """Rows sorted by variant, then test AUC (best first)."""
    return (
        pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)
        .sort_values(["variant", "test_auc"], ascending=[True, False])
        .reset_index(drop=True)
    )


@dataclass(frozen=True)
class Promotion:
    model: str | None  # the model to register, or None
    reason: str


def scores_journeys(model_name: str) -> bool:
    """Whether the family ``model_name`` may become the model that scores journeys (unknown names may)."""
    from ml.models import MODEL_REGISTRY

    return bool(getattr(MODEL_REGISTRY.get(model_name), "scores_journeys", True))


def best_honest_model(board: pd.DataFrame, honest_variant: str = HONEST_VARIANT,
                      baseline: str = COUNT_BASELINE) -> str | None:
    """The promotion candidate: the honest sequence model (not the count baseline) with the best
    validation AUC; test AUC stays unseen for choosing. None when no sequence model was trained.
    A family built to estimate effects rather than to score journeys (``scores_journeys = False``:
    the latent-intent model, whose head is additive by design and whose intent is best read with
    the user's other journeys, which scoring one journey does not have) is never a candidate.

    ``board``: rows with model, variant and validation_auc (the leaderboard)."""
    contenders = board[(board["variant"] == honest_variant) & (board["model"] != baseline)
                       & board["model"].map(scores_journeys).astype(bool)]
    if contenders.empty:
        return None
    return str(contenders.sort_values("validation_auc", ascending=False, kind="stable")["model"].iloc[0])


def promotion_candidate(
    board: pd.DataFrame, guard_passed: bool, honest_variant: str = HONEST_VARIANT, baseline: str = COUNT_BASELINE
) -> Promotion:
    """The promotion rule, the one the registry and every report follow: the honest model with
    the best validation AUC (:func:`best_honest_model`) is promoted only when the leakage guard
    passed and it beats the count-based baseline on test AUC. Leaky variants are never candidates."""
    if not guard_passed:
        return Promotion(None, "the leakage guard has not passed on the honest sequences")
    honest = board[board["variant"] == honest_variant]
    if baseline not in set(honest["model"]):
        return Promotion(None, f"the baseline {baseline} was not trained, so no model can be shown to beat it")
    best_model = best_honest_model(board, honest_variant, baseline)
    if best_model is None:
        return Promotion(None, "no sequence model was trained")
    best = honest[honest["model"] == best_model].iloc[0]
    baseline_auc = float(honest.loc[honest["model"] == baseline, "test_auc"].iloc[0])
    if not best["test_auc"] > baseline_auc:
        return Promotion(
            None, f"best model {best['model']} (test AUC {best['test_auc']:.4f}) does not beat {baseline} ({baseline_auc:.4f})"
        )
    return Promotion(
        str(best["model"]),
        f"{best['model']}: best validation AUC on {honest_variant}, test AUC {best['test_auc']:.4f} "
        f"> {baseline} {baseline_auc:.4f}, leakage guard passed",
    )
