"""journeylift's test figures next to published ones on the same data.

``CAUSALMTA_CRITEO`` is Table 3 of Yao et al., "CausalMTA: Eliminating the User Confounding Bias
for Causal Multi-touch Attribution", KDD 2022 (doi 10.1145/3534678.3539108): conversion
prediction on their preprocessing of the Criteo Attribution Modeling for Bidding dataset
(196,560 journeys of 10 campaigns, split into train and test by journey), mean and spread
over runs as printed. ``causalmta_comparison`` sets journeylift's models beside it, scored on
every test journey and, because that preprocessing cut non-converted touches into groups of at
most 72 hours while converted journeys stay whole, also on the test journeys no longer than
the longest non-converted one, where a journey's duration cannot give its label away.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.evaluation.metrics import score_predictions
from ml.importers.criteo import no_longer_than_non_converted

PAPER = "CausalMTA (KDD 2022), Table 3"
# method, family (SL statistical, DL deep, CL causal learning; CausalMTA and its two ablations),
# AUC, its spread, log loss, its spread.
CAUSALMTA_CRITEO = pd.DataFrame(
    [
        ("LR", "SL", 0.8370, 0.03, 0.191, 0.01),
        ("SP", "SL", 0.7616, 0.0, 0.317, 0.0),
        ("AH", "SL", 0.7264, 0.03, 0.286, 0.01),
        ("DNAMTA", "DL", 0.9127, 0.02, 0.1360, 0.013),
        ("DARNN", "DL", 0.8726, 0.02, 0.165, 0.006),
        ("DeepMTA", "DL", 0.9104, 0.03, 0.112, 0.012),
        ("JDMTA", "CL", 0.9127, 0.01, 0.0838, 0.007),
        ("CAMTA", "CL", 0.9347, 0.02, 0.0715, 0.007),
        ("CausalMTA", "CausalMTA", 0.9659, 0.01, 0.0517, 0.003),
        ("CM-rw", "CausalMTA", 0.9539, 0.01, 0.0560, 0.003),
        ("CM-causal", "CausalMTA", 0.9517, 0.01, 0.0534, 0.002),
    ],
    columns=["method", "family", "auc", "auc_spread", "log_loss", "log_loss_spread"],
)
COMPARISON_COLUMNS = [
    "source", "method", "auc", "auc_spread", "log_loss", "n_journeys", "auc_short_journeys", "n_short_journeys",
]


def short_journeys(journeys: pd.DataFrame) -> pd.Series:
    """The journey keys lasting no longer than the longest non-converted journey (hours from the
    first to the last impression), from the criteo importer's journey side file."""
    return journeys.loc[no_longer_than_non_converted(journeys), "journey_key"]


def causalmta_comparison(predictions: pd.DataFrame, journeys: pd.DataFrame, source: str = "journeylift") -> pd.DataFrame:
    """One row per journeylift model (test AUC and log loss from ``predictions``: model,
    journey_id, converted, p_convert of one variant and split), then the paper's rows.

    journeylift's journey ids are `<user_id>|<journey_key>` (the ad-funnel domain with given
    journey ids), matched to ``journeys`` by the part after the last `|`. The paper reports
    no short-journey AUC: its rows leave those columns empty; journeylift's rows are one run
    (no spread).
    """
    short = set(short_journeys(journeys))
    keys = predictions["journey_id"].astype(str).str.rsplit("|", n=1).str[-1]
    rows = []
    for model, scored in predictions.assign(is_short=keys.isin(short)).groupby("model", sort=True):
        labels, p = scored["converted"].to_numpy(dtype=float), scored["p_convert"].to_numpy(dtype=float)
        on_short = scored["is_short"].to_numpy()
        everything = score_predictions(labels, p)
        rows.append({
            "source": source, "method": model, "auc": everything["auc"], "auc_spread": np.nan,
            "log_loss": everything["log_loss"],
            "n_journeys": len(scored), "auc_short_journeys": score_predictions(labels[on_short], p[on_short])["auc"],
            "n_short_journeys": int(on_short.sum()),
        })
    paper = CAUSALMTA_CRITEO.assign(source=PAPER, n_journeys=np.nan, auc_short_journeys=np.nan, n_short_journeys=np.nan)
    return pd.concat([pd.DataFrame(rows, columns=COMPARISON_COLUMNS), paper[COMPARISON_COLUMNS]], ignore_index=True)
