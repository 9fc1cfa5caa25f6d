"""The known-truth structural model of the sessions simulator: vocabulary, effects, truth.

Everything the simulator draws behaviour from, and everything the truth is
computed from, lives here, so a reader checks the maths in one place
(see ``ml/simulate/sessions.py`` for the whole model written out).

Browsing events (everything a session does before any funnel event) carry
integer codes into ``BROWSING_EVENTS``; a browsing event's *effect key* is
``2 * code + is_sponsored`` and indexes ``effect_table()``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd

from ml.estimands import AD_EXPERIMENT_EXPOSED, REMOVE_AD_EVENTS, REMOVE_EVENT_PREFIX


@dataclass(frozen=True)
class BrowsingEvent:
    """One browsing event: its names, how intent shifts its share, and its true effect."""

    event: str
    event_type: str
    mix_base_logit: float  # share of this event in a session of average intent (softmax logit)
    mix_intent_slope: float  # how much one unit of intent raises that logit
    effect: float  # beta: true log-odds effect on conversion at position weight 1
    sponsored_effect: float | None = None  # beta of the sponsored variant; None: never sponsored


# The browsing vocabulary. High intent -> more clicks, store pages and searches,
# fewer idle impressions and tab switches. Effects are clearly spread out: clicks
# and store pages drive conversion, impressions barely do, the explore tab is
# inert and opening past orders before buying is slightly negative.
BROWSING_EVENTS: tuple[BrowsingEvent, ...] = (
    BrowsingEvent("m_card_view", "store_impression", 1.7, -0.25, 0.02, sponsored_effect=0.10),
    BrowsingEvent("m_card_click", "store_click", -0.1, 0.55, 0.28, sponsored_effect=0.38),
    BrowsingEvent("store_page_load", "store_page", -0.35, 0.50, 0.21),
    BrowsingEvent("core_search", "search", -0.7, 0.40, 0.14),
    BrowsingEvent("m_select_tab_explore", "navigation", -0.8, -0.10, 0.00),
    BrowsingEvent("m_select_tab_orders", "navigation", -2.6, 0.10, -0.18),
    BrowsingEvent("m_select_tab_account", "navigation", -2.4, -0.20, 0.01),
)
#: Negative controls: browsing events that do nothing by construction (|beta| <= 0.01, never
#: sponsored), which an estimator that holds intent fixed must find near zero.
NEGATIVE_CONTROL_EVENTS: tuple[str, ...] = ("m_select_tab_explore", "m_select_tab_account")
BROWSING_EVENT_NAMES: tuple[str, ...] = tuple(e.event for e in BROWSING_EVENTS)
STORE_EVENT_TYPES: frozenset[str] = frozenset({"store_impression", "store_click", "store_page"})
AD_EVENT_TYPES: frozenset[str] = frozenset({"store_impression", "store_click"})

FUNNEL_EVENT_TYPE = "funnel"
FUNNEL_EVENTS: tuple[str, ...] = (
    "action_add_item",
    "cart_page_load",
    "checkout_page_load",
    "action_place_order",
    "system_checkout_success",
)
CONVERSION_EVENTS: tuple[str, ...] = ("action_place_order", "system_checkout_success")


def browsing_code(event: str) -> int:
    """Integer code of a browsing event name."""
    return BROWSING_EVENT_NAMES.index(event)


def effect_table() -> np.ndarray:
    """beta indexed by effect key ``2 * code + is_sponsored`` (0 for impossible sponsored variants)."""
    betas = np.zeros(2 * len(BROWSING_EVENTS))
    for code, spec in enumerate(BROWSING_EVENTS):
        betas[2 * code] = spec.effect
        betas[2 * code + 1] = spec.sponsored_effect if spec.sponsored_effect is not None else 0.0
    return betas


def event_effects_frame() -> pd.DataFrame:
    """The structural coefficients: event, is_sponsored (null for non-store events), log_odds_effect."""
    rows = []
    for spec in BROWSING_EVENTS:
        is_store = spec.event_type in STORE_EVENT_TYPES
        rows.append((spec.event, False if is_store else None, spec.effect))
        if spec.sponsored_effect is not None:
            rows.append((spec.event, True, spec.sponsored_effect))
    frame = pd.DataFrame(rows, columns=["event", "is_sponsored", "log_odds_effect"])
    frame["event"] = frame["event"].astype("str")
    frame["is_sponsored"] = frame["is_sponsored"].astype("boolean")
    return frame


def position_weight(position: np.ndarray, floor: float, decay: float) -> np.ndarray:
    """w(pos) = floor + (1 - floor) * exp(-(pos - 1) / decay): early events count most."""
    return floor + (1.0 - floor) * np.exp(-(np.asarray(position, dtype=float) - 1.0) / decay)


def position_weights_frame(max_position: int, floor: float, decay: float) -> pd.DataFrame:
    """position 1..max_position and its weight w(position)."""
    positions = np.arange(1, max_position + 1, dtype=np.int64)
    return pd.DataFrame({"position": positions, "weight": position_weight(positions, floor, decay)})


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class BrowsingSequences:
    """All sessions' browsing events, ordered by session then position (1-based, no gaps).

    ``session`` indexes sessions 0..n_sessions-1; sessions with no rows are allowed.
    """

    session: np.ndarray  # int, per event
    code: np.ndarray  # int, browsing event code, per event
    is_sponsored: np.ndarray  # bool, per event
    n_sessions: int

    @property
    def effect_key(self) -> np.ndarray:
        return 2 * self.code + self.is_sponsored.astype(np.int64)

    @cached_property
    def session_first_row(self) -> np.ndarray:
        """Per event: the row of its session's first event."""
        return np.searchsorted(self.session, self.session, side="left")

    def ranks(self, kept: np.ndarray) -> np.ndarray:
        """1-based position of each event among the kept events of its session (re-ranked)."""
        kept_so_far = np.cumsum(kept)
        first_row = self.session_first_row
        kept_before_session = kept_so_far[first_row] - kept[first_row]
        return kept_so_far - kept_before_session


@dataclass(frozen=True)
class ConversionLatents:
    """What the conversion logit holds fixed for each session besides its browsing events.

    ``intent`` is the intent in the logit's intent term: z_s, or z1 + z2 with two intent
    dimensions, taken at the end of browsing when intent drifts. ``event_intent`` is the intent
    each browsing event's effect is scaled by when effects interact with intent (None: its
    session's ``intent``; it differs only when intent drifts within the session). ``retargeting``
    is the user's retargeting confounder r_u per session (None: switched off). The truth holds all
    of them fixed and only re-ranks or re-labels events.
    """

    intent: np.ndarray  # per session
    event_intent: np.ndarray | None = None  # per browsing event, aligned with BrowsingSequences
    retargeting: np.ndarray | None = None  # per session


@dataclass(frozen=True)
class ConversionModel:
    """logit p = intercept + intent_effect * c + retargeting_effect * r
                 + sum_t beta[event_t, sponsored_t] * (1 + intent_event_interaction * c_t) * w(position_t).

    c is the session's conversion intent and c_t the intent at event t (``ConversionLatents``);
    with the defaults (no interaction, no retargeting) this is
    intercept + intent_effect * z + sum_t beta * w(t). The one home of the conversion formula:
    the simulation draws conversion from it and the truth recomputes it.
    """

    intercept: float
    intent_effect: float
    position_weight_floor: float
    position_weight_decay: float
    intent_event_interaction: float = 0.0
    retargeting_effect: float = 0.0

    def logits(
        self, latents: ConversionLatents | np.ndarray, browsing: BrowsingSequences, kept: np.ndarray | None = None
    ) -> np.ndarray:
        """Per-session logit over the kept browsing events (all when ``kept`` is None), re-ranked.

        ``latents`` may be a plain per-session intent array (no other latent).
        """
        if not isinstance(latents, ConversionLatents):
            latents = ConversionLatents(intent=np.asarray(latents))
        if kept is None:
            kept = np.ones(len(browsing.session), dtype=bool)
        positions = browsing.ranks(kept)
        terms = effect_table()[browsing.effect_key] * position_weight(
            positions, self.position_weight_floor, self.position_weight_decay
        )
        if self.intent_event_interaction != 0.0:
            event_intent = latents.intent[browsing.session] if latents.event_intent is None else latents.event_intent
            terms = terms * (1.0 + self.intent_event_interaction * event_intent)
        event_sum = np.bincount(browsing.session[kept], weights=terms[kept], minlength=browsing.n_sessions)
        logit = self.intercept + self.intent_effect * latents.intent + event_sum
        if self.retargeting_effect != 0.0:
            if latents.retargeting is None:
                raise ValueError("retargeting_effect is set but the latents carry no retargeting confounder")
            logit = logit + self.retargeting_effect * latents.retargeting
        return logit

    def probabilities(
        self, latents: ConversionLatents | np.ndarray, browsing: BrowsingSequences, kept: np.ndarray | None = None
    ) -> np.ndarray:
        return sigmoid(self.logits(latents, browsing, kept))


def removal_interventions(browsing: BrowsingSequences) -> dict[str, np.ndarray]:
    """Intervention name -> mask of the browsing events it removes.

    ``remove_ad_events`` removes every sponsored event; ``remove_event:<event>``
    every event of that name, for each name present among the browsing events.
    """
    interventions = {REMOVE_AD_EVENTS: browsing.is_sponsored.copy()}
    for code in np.unique(browsing.code):
        interventions[f"{REMOVE_EVENT_PREFIX}{BROWSING_EVENT_NAMES[code]}"] = browsing.code == code
    return interventions


def true_removal_effects(
    model: ConversionModel, latents: ConversionLatents | np.ndarray, browsing: BrowsingSequences
) -> pd.DataFrame:
    """The ``simulator_truth`` table: intervention, true_effect, n_journeys.

    For each intervention, over the sessions holding at least one removed event,
    the mean of p(session) - p(session without those events), both from the
    structural model with the session's own latents (intent, and under the violation switches
    its second intent, drift path and retargeting confounder) held fixed; positive when the
    events raise conversion.
    """
    factual = model.probabilities(latents, browsing)
    rows = []
    for name, removed in removal_interventions(browsing).items():
        touched = np.bincount(browsing.session[removed], minlength=browsing.n_sessions) > 0
        counterfactual = model.probabilities(latents, browsing, kept=~removed)
        n_touched = int(touched.sum())
        effect = float(np.mean(factual[touched] - counterfactual[touched])) if n_touched else float("nan")
        rows.append((name, effect, n_touched))
    truth = pd.DataFrame(rows, columns=["intervention", "true_effect", "n_journeys"])
    truth["intervention"] = truth["intervention"].astype("str")
    truth["n_journeys"] = truth["n_journeys"].astype(np.int64)
    return truth


def true_ad_experiment_effect(
    model: ConversionModel, latents: ConversionLatents | np.ndarray, browsing: BrowsingSequences, in_treatment: np.ndarray
) -> pd.DataFrame:
    """The experimental estimand as one ``simulator_truth`` row: ``ad_experiment_exposed``.

    Over the treatment sessions holding at least one sponsored event, the mean of
    p(session) - p(the same session with every sponsored event swapped for its organic
    counterpart): same event, same position, is_sponsored false (nothing removed, nothing
    re-ranked). This is what a randomized holdout identifies: the conversion rate of exposed
    treatment sessions minus that of ghost-exposed holdout sessions estimates it without bias.
    """
    exposed = in_treatment & (np.bincount(browsing.session[browsing.is_sponsored], minlength=browsing.n_sessions) > 0)
    factual = model.probabilities(latents, browsing)
    organic = model.probabilities(latents, replace(browsing, is_sponsored=np.zeros_like(browsing.is_sponsored)))
    n_exposed = int(exposed.sum())
    effect = float(np.mean(factual[exposed] - organic[exposed])) if n_exposed else float("nan")
    truth = pd.DataFrame({"intervention": [AD_EXPERIMENT_EXPOSED], "true_effect": [effect], "n_journeys": [n_exposed]})
    truth["intervention"] = truth["intervention"].astype("str")
    truth["n_journeys"] = truth["n_journeys"].astype(np.int64)
    return truth
