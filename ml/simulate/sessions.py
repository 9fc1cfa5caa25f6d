r"""Seeded simulator of the sessions domain, with a known structural model.

It writes the raw contract tables of design.md (``events``, ``dimension_store``,
and the optional ``ad_experiment``) and the truth every estimate downstream is
scored against (``simulator_truth``).

The structural model
--------------------
Users u = 1..U, each with ``1 + Poisson(mean_sessions_per_user - 1)`` sessions.

Intent. Session s of user u has a latent intent

    z_s = v_u + e_s,   v_u ~ N(0, user_intent_sd^2),   e_s ~ N(0, session_intent_sd^2),

and z drives *both* behaviour and conversion, so behaviour is confounded with
conversion (a model that reads behaviour partly reads intent).

Behaviour. The number of browsing events (events before any funnel event) is

    L_s = min(1 + NegBin(shape=length_dispersion, mean=m_s - 1), max_events_per_session),
    m_s = mean_events_per_session * exp(length_intent_slope * z_s - length_intent_slope^2 Var(z) / 2)

(the last term keeps the mean over sessions at ``mean_events_per_session``).
Each browsing event is drawn independently from a softmax over the browsing
vocabulary (``structural.BROWSING_EVENTS``),

    P(event = k | z) ∝ exp(mix_base_logit_k + mix_intent_slope_k * z),

so high intent brings more clicks, store pages and searches. A store
impression is sponsored (a paid ad) with probability

    P(sponsored | z) = sigmoid(sponsored_base_logit + sponsored_intent_slope * z):

ads are targeted at high-intent users. A click inherits the store, sponsorship
and discovery feature of the session's latest impression (an independent draw
when there is none); a store page shows the store of the latest click or
impression. Stores are drawn with Zipf-like popularity and have no effect of
their own on conversion.

Conversion. With t = 1..L_s the browsing events of the session, in order,

    logit p_s = intercept + intent_effect * z_s + sum_t beta[event_t, sponsored_t] * w(t),
    w(t) = position_weight_floor + (1 - position_weight_floor) * exp(-(t - 1) / position_weight_decay),

and the session converts with probability p_s. beta is ``event_effects``, w is
``position_weights``. Only browsing events enter p: funnel events are a
*consequence* of the decision to buy, not a cause.

What happens next.
- A converted session continues with a funnel: 1-3 ``action_add_item``,
  ``cart_page_load``, ``checkout_page_load``, ``action_place_order`` (the
  conversion moment), ``system_checkout_success`` 1-3 s later, then 1-4
  post-conversion events (mostly ``m_select_tab_orders``: the classic leak,
  plus ordinary impressions and explore tabs).
- A share ``abandoned_funnel_share`` of non-converted sessions ends with an
  abandoned funnel: 1-2 ``action_add_item``, then ``cart_page_load`` for a share
  ``abandoned_cart_share`` of them and ``cart_page_load`` + ``checkout_page_load``
  for a share ``abandoned_checkout_share``; never a conversion event.
So a model that sees funnel events separates the classes almost perfectly,
while one that sees only the browsing events reaches a test AUC near 0.7.

Time. Consecutive events of a session are ``clip(round(Exp(mean_seconds_between_events)), 1,
max_seconds_between_events)`` seconds apart (strictly increasing, always under the
30-minute session gap); ``system_checkout_success`` follows the order 1-3 s later.
A user's sessions are laid out in [start, start + days) in order, at least
``min_hours_between_sessions`` apart (end of one to start of the next), with
the free time split at uniformly drawn points. For a share
``null_session_id_share`` of sessions every event carries session_id = null;
re-sessionizing those by 30 minutes of inactivity recovers exactly those sessions.

Truth. For an intervention that removes a set of browsing events (``remove_ad_events``:
every sponsored event; ``remove_event:<event>``: every event of that name), the
true effect is, over the sessions holding at least one removed event,

    mean_s [ p_s - p_s(without the removed events) ],

both from the formula above with the session's own z_s, the remaining events
re-ranked 1..k as a model would see the shortened sequence.

Violations of a one-dimensional, additive, fixed intent (all off by default)
---------------------------------------------------------------------------
A latent-intent model (an encoder q(u | journey), a decoder p(event | u), a conversion head
g(u) + sum of per-event effects) assumes exactly the model above: ONE intent, acting additively
on the logit, fixed within a session, and the only confounder of ads. Four switches each break
one assumption (``SCENARIOS`` names them with the strengths picked); with every switch off the
simulation is the one above, byte for byte, for every seed.

``intent_dimensions = 2``: a second intent per session, drawn like the first and independently
of it, z2_s = v2_u + e2_s (v2_u ~ N(0, user_intent_sd^2), e2_s ~ N(0, session_intent_sd^2)).
``m_card_view``'s mix slope loads on z2, every other event's mix slope and the length on z1:

    P(event = k | z1, z2) ∝ exp(mix_base_logit_k + mix_intent_slope_k * (z2 if k is m_card_view else z1)),

ads are targeted on z2 (P(sponsored) = sigmoid(sponsored_base_logit + sponsored_intent_slope * z2),
browsing and post-conversion cards alike), and conversion sees both, equally:

    logit p_s = intercept + intent_effect * (z1_s + z2_s) + sum_t beta * w(t).

(The sum rather than, say, z1 alone: so z2 is a genuine confounder of ads, and the two
dimensions weigh the same in conversion, so neither is a nuisance a model could ignore.) Ads and
card views then carry intent that the other events cannot reveal.

``intent_event_interaction = a``: effects grow with intent, not additive on the logit,

    logit p_s = intercept + intent_effect * c_s + sum_t beta[event_t, sponsored_t] * (1 + a * c_t) * w(t),

with c the conversion intent (z, or z1 + z2 with two dimensions; c_t = c_s unless intent drifts,
then the intent at event t). For c_t < -1/a an event's effect changes sign. Behaviour is drawn
exactly as without the switch: only conversion (and what follows it) and the truth change.

``intent_drift_sd = d``: intent random-walks over the session's browsing events. With m =
``mean_events_per_session`` and eta_1, eta_2, ... ~ N(0, 1) of the session's own,

    z_t = z_s + d * (eta_1 + ... + eta_{t-1}) / sqrt(m),   t = 1..L_s

(z_1 = z_s; after a typical length the walk has sd about d). With two dimensions each walks on its
own. Event t is drawn with z_t (its mix and its sponsorship); the length stays drawn from z_s; the
conversion intent is the intent at the end of browsing, c_s = z_{L_s} (z1 + z2 there), and with the
interaction each event's effect is scaled by c_t = z_t; post-conversion cards are targeted on the
ad intent at the end of browsing.

``retargeting_effect = g``: a per-user confounder r_u ~ N(0, 1) (the user sits in a retargeting
audience from an earlier visit) that raises the sponsored logit of every card and the conversion
logit alike,

    P(sponsored) = sigmoid(sponsored_base_logit + sponsored_intent_slope * z + g * r_u),
    logit p_s = ... + g * r_u,

and touches nothing else (not the mix, not the length): it confounds ads only.

No targeting at all is ``sponsored_intent_slope = 0`` (the ``no_targeting`` scenario): ads are then
not confounded by intent.

The truth under every switch holds each session's latents fixed (z, z2, the drift path, r_u) and
recomputes p_s with the removed events re-ranked (or the sponsored ones swapped), so it stays
exact; ``structural.ConversionModel`` (with ``ConversionLatents``) is the one home of the formula.
The ``sessions`` frame gains ``intent_2`` (z2_s), ``intent_end``/``intent_2_end`` (under drift) and
``retargeting`` (r_u) only when the switch is on; under drift, ``intent_path`` holds z_t per
browsing event. Each switch draws from its own stream (spawn keys ``_SECOND_INTENT_STREAM``,
``_DRIFT_STREAM``, ``_RETARGETING_STREAM``), so switching one on leaves the main stream's draws as
they were; what changes is only what the switch makes depend on the new latents (the events drawn
from them, then conversion and what follows it).

The ad experiment (a randomized holdout)
----------------------------------------
Exactly round(holdout_share * U) users, drawn at random and independently of
intent, are in the ``holdout`` arm, the rest in ``treatment`` (the
``ad_experiment`` table: user_id, arm; no rows when holdout_share = 0, which
disables the experiment). Behaviour and targeting are drawn the same way in
both arms: every card (impression, or click with no impression before it) gets
its sponsored draw P(sponsored | z) as above. For a holdout user, a card drawn
as sponsored is *not* shown as an ad: the slot shows an organic card instead
(is_sponsored false; the discovery feature it would have had unsponsored, i.e.
Core Search after a search, else a feed feature; a store drawn by popularity)
marked ``is_ghost_ad = true``; a click on it inherits the flag, as a click
inherits sponsorship. In p_s a ghost card counts with its organic beta
(beta[event, False]). This holds for post-conversion cards too (they do not
enter p_s). ``is_ghost_ad`` is null where ``is_sponsored`` is (events that are
never ad slots), false on every other event.

The experimental estimand (``ad_experiment_exposed``): over the *treatment*
sessions holding at least one sponsored browsing event (the exposed ones),

    mean_s [ p_s - p_s(every sponsored event swapped for its organic counterpart) ],

where the swap keeps each event in its slot and position and only sets
is_sponsored false: the logit changes by
sum_{t sponsored} (beta[event_t, True] - beta[event_t, False]) * w(t).
Because the arms are randomized and the ghost slots are the would-be sponsored
slots, E[converted | treatment, exposed] - E[converted | holdout, ghost-exposed]
equals this estimand: the experiment identifies it.

How it relates to ``remove_ad_events``: both are over the same sessions (the
treatment sessions with >= 1 sponsored event; holdout sessions hold no
sponsored event, so ``remove_ad_events`` is defined over treatment sessions
only), but removal *drops* the sponsored events (the slot disappears, its
organic effect with it, and the later events move up to heavier position
weights), whereas the experiment *swaps* sponsored for organic (the slot
stays). Removal measures "the card and its sponsorship" (logit change
beta[e, True] * w(t) plus re-ranking), the experiment only "the sponsorship"
(beta[e, True] - beta[e, False]); so with the default effects the experimental
effect is smaller (about 0.03 against 0.05 at the default simulation).

Random streams: the arms and the ghost cards' stores come from a stream of
their own (the seed's spawn key ``_EXPERIMENT_STREAM``); so with
holdout_share = 0 every pre-existing table and column is exactly what it was
before the experiment existed, for the same seed. With holdout_share > 0 the
browsing events are drawn identically (the ghost slots are exactly the
would-be sponsored slots), but holdout sessions' conversion probabilities
change, and the draws after conversion shift with them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.simulate.stores import simulate_stores, store_popularity
from ml.simulate.structural import (
    AD_EVENT_TYPES,
    BROWSING_EVENTS,
    FUNNEL_EVENT_TYPE,
    FUNNEL_EVENTS,
    STORE_EVENT_TYPES,
    BrowsingSequences,
    ConversionLatents,
    ConversionModel,
    browsing_code,
    event_effects_frame,
    position_weights_frame,
    sigmoid,
    true_ad_experiment_effect,
    true_removal_effects,
)

logger = logging.getLogger("journeylift.simulate")

SESSION_GAP_SECONDS = 30 * 60  # dbt's session_gap_minutes: within-session gaps stay below it
TREATMENT, HOLDOUT = "treatment", "holdout"  # the arms of the ad experiment
_EXPERIMENT_STREAM = 1  # spawn key of the experiment's random stream (the main stream is the seed's root)
# spawn keys of the violation switches' streams: switching one on leaves every other draw as it was
_SECOND_INTENT_STREAM = 2
_DRIFT_STREAM = 3
_RETARGETING_STREAM = 4


@dataclass(frozen=True)
class SimulationConfig:
    """Size, seed and structural parameters of a simulation (defaults: ~30% conversion, AUC ~0.7)."""

    n_users: int = 5000
    seed: int = 0
    start: str = "2026-10-01"  # first day of activity (UTC)
    days: int = 28  # length of the activity window
    mean_sessions_per_user: float = 2.0  # sessions per user: 1 + Poisson(mean - 1)
    mean_events_per_session: float = 12.0  # mean browsing events per session (funnel and post-conversion events come on top)
    max_events_per_session: int = 80  # cap on browsing events per session (= the longest position weight)
    n_stores: int = 200
    null_session_id_share: float = 0.1  # share of sessions whose events all carry session_id = null
    holdout_share: float = 0.1  # share of users in the ad holdout (no sponsored cards; ghost ads); 0 disables the experiment

    # intent z = user part + session part
    user_intent_sd: float = 0.8  # sd of the user's lasting intent
    session_intent_sd: float = 0.6  # sd of the session's own intent noise
    # behaviour
    length_intent_slope: float = 0.3  # log-change of the mean browsing length per unit of intent
    length_dispersion: float = 2.0  # negative-binomial shape of browsing lengths (smaller: more spread)
    sponsored_base_logit: float = -1.6  # logit of an impression being sponsored at average intent
    sponsored_intent_slope: float = 0.9  # ad targeting: rise of that logit per unit of intent
    store_zipf_exponent: float = 1.1  # store popularity ∝ rank^-exponent
    # conversion: logit p = intercept + intent_effect * z + sum_t beta * w(t)
    intercept: float = -1.5
    intent_effect: float = 0.5
    position_weight_floor: float = 0.3  # weight of late events relative to the first
    position_weight_decay: float = 5.0  # positions over which the weight falls by 1/e toward the floor
    # violations of a one-dimensional, additive, fixed intent that alone confounds ads (all off by default;
    # see the module docstring and SCENARIOS)
    intent_dimensions: int = 1  # 2: a second intent z2 drives card views and ad targeting; conversion sees z1 + z2
    intent_event_interaction: float = 0.0  # each browsing event's effect is beta * (1 + interaction * intent)
    intent_drift_sd: float = 0.0  # intent random-walks over a session's browsing events (sd after a typical length)
    retargeting_effect: float = 0.0  # per-user confounder r_u ~ N(0, 1) raising both the sponsored and conversion logits
    # funnel of non-converted sessions
    abandoned_funnel_share: float = 0.4  # share of non-converted sessions that add an item and leave
    abandoned_cart_share: float = 0.45  # of those: reach the cart page only
    abandoned_checkout_share: float = 0.05  # of those: reach cart and checkout pages
    # time
    mean_seconds_between_events: float = 40.0
    max_seconds_between_events: int = 600  # under the 30-minute session gap
    min_hours_between_sessions: float = 2.0  # from a session's last event to the user's next session

    def __post_init__(self) -> None:
        if self.n_users < 1 or self.n_stores < 1 or self.days < 1:
            raise ValueError("n_users, n_stores and days must be at least 1")
        if self.mean_sessions_per_user < 1 or self.mean_events_per_session < 1:
            raise ValueError("mean_sessions_per_user and mean_events_per_session must be at least 1")
        if self.max_events_per_session < 1:
            raise ValueError("max_events_per_session must be at least 1")
        if not 0 <= self.null_session_id_share <= 1:
            raise ValueError("null_session_id_share must lie in [0, 1]")
        if not 0 <= self.holdout_share < 1:
            raise ValueError("holdout_share must lie in [0, 1)")
        if not 1 <= self.max_seconds_between_events < SESSION_GAP_SECONDS:
            raise ValueError("max_seconds_between_events must lie in [1, 1800)")
        if self.min_hours_between_sessions * 3600 <= SESSION_GAP_SECONDS:
            raise ValueError("min_hours_between_sessions must exceed the 30-minute session gap")
        if self.abandoned_cart_share + self.abandoned_checkout_share > 1:
            raise ValueError("abandoned_cart_share + abandoned_checkout_share must not exceed 1")
        if self.user_intent_sd < 0 or self.session_intent_sd < 0:
            raise ValueError("user_intent_sd and session_intent_sd are standard deviations: they must be >= 0")
        if self.intent_dimensions not in (1, 2):
            raise ValueError(f"intent_dimensions must be 1 or 2, not {self.intent_dimensions!r}")
        if not np.isfinite(self.intent_event_interaction):
            raise ValueError("intent_event_interaction must be a finite number")
        if not (np.isfinite(self.intent_drift_sd) and self.intent_drift_sd >= 0):
            raise ValueError(f"intent_drift_sd is a standard deviation: it must be finite and >= 0, not {self.intent_drift_sd!r}")
        if not (np.isfinite(self.retargeting_effect) and self.retargeting_effect >= 0):
            raise ValueError(
                f"retargeting_effect must be finite and >= 0 (r_u is symmetric, so a negative effect is the same model), "
                f"not {self.retargeting_effect!r}"
            )

    @property
    def conversion_model(self) -> ConversionModel:
        return ConversionModel(
            intercept=self.intercept,
            intent_effect=self.intent_effect,
            position_weight_floor=self.position_weight_floor,
            position_weight_decay=self.position_weight_decay,
            intent_event_interaction=self.intent_event_interaction,
            retargeting_effect=self.retargeting_effect,
        )


#: Named violation scenarios: config overrides of SimulationConfig (``SimulationConfig(**SCENARIOS[name], ...)``).
#: Strengths (n_users = 5000, seed 0; default: conversion 0.31, oracle AUC 0.73):
#: - ``two_dimensional_intent``: z2 drives card views and ad targeting, conversion sees z1 + z2
#:   (conversion 0.31; remove_ad_events 0.040 against 0.050).
#: - ``intent_x_event``: a = 0.5, so an event's effect at intent +1 sd is three times that at -1 sd
#:   (1.5 beta against 0.5 beta); the truth rises 10-15% (high-intent sessions hold more of the
#:   events), conversion 0.34.
#: - ``drifting_intent``: d = 1.0, as large as the sd of intent itself (sqrt(0.8^2 + 0.6^2) = 1):
#:   after a typical session the intent at the end correlates only about 0.7 with the intent at
#:   the start; conversion 0.31.
#: - ``retargeting``: g = 1.0: r_u moves the sponsored logit about as much as one sd of intent
#:   does (0.9) and the conversion logit twice as much (intent: 0.5 per sd); conversion 0.34.
#: - ``no_targeting``: sponsored_intent_slope = 0: ads placed at random, not confounded.
SCENARIOS: dict[str, dict[str, float | int]] = {
    "default": {},
    "two_dimensional_intent": {"intent_dimensions": 2},
    "intent_x_event": {"intent_event_interaction": 0.5},
    "drifting_intent": {"intent_drift_sd": 1.0},
    "retargeting": {"retargeting_effect": 1.0},
    "no_targeting": {"sponsored_intent_slope": 0.0},
}


@dataclass
class SessionsSimulation:
    """The raw contract tables, the truth, and the latents behind them."""

    events: pd.DataFrame  # raw `events` contract table
    dimension_store: pd.DataFrame  # raw `dimension_store` contract table
    truth: pd.DataFrame  # simulator_truth: intervention, true_effect, n_journeys
    sessions: pd.DataFrame  # one row per session: latents, label and counts
    event_effects: pd.DataFrame  # beta: event, is_sponsored, log_odds_effect
    position_weights: pd.DataFrame  # w: position, weight
    ad_experiment: pd.DataFrame  # raw `ad_experiment` table: user_id, arm (no rows when holdout_share = 0)
    # with intent drift only: per browsing event, session_key, position, intent (z1_t) [, intent_2 (z2_t)]
    intent_path: pd.DataFrame | None = None

    def browsing_journeys(self, split_seed: int = 0, shares: tuple[float, float] = (0.7, 0.15)
                          ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(sequences, labels) of the honest journeys straight from the simulation, for studies and
        tests that need no warehouse: one journey per session (journey_id = session_key), its
        browsing events in order (the events before any funnel event, which is what
        fct_journey_sequences_no_funnel keeps of a session), with the store's attributes; labels
        with converted and a split drawn per user (train/validation/test in ``shares``, seeded).
        The columns are those ml.data.build_sequence_data reads, plus user_id and event_at."""
        sessions = self.sessions
        session_key = np.repeat(sessions["session_key"].to_numpy(dtype=object), sessions["n_events"].to_numpy())
        rank = _rank_within(sessions["n_events"].to_numpy())
        browsing = rank < np.repeat(sessions["n_browsing_events"].to_numpy(), sessions["n_events"].to_numpy())
        events = self.events.assign(journey_id=session_key, position=rank + 1)[browsing]
        events = events.merge(self.dimension_store, on="store_id", how="left")
        gaps = events.groupby("journey_id", sort=False)["event_ts"].diff().dt.total_seconds().fillna(0.0)
        sequences = events.assign(event_at=events["event_ts"], seconds_since_prev=gaps.to_numpy())
        users = pd.unique(sessions["user_id"])
        draw = np.random.default_rng(split_seed).random(len(users))
        user_split = pd.Series(np.where(draw < shares[0], "train", np.where(draw < shares[0] + shares[1], "validation",
                                                                             "test")), index=users)
        labels = pd.DataFrame({"journey_id": sessions["session_key"].to_numpy(dtype=object),
                               "user_id": sessions["user_id"].to_numpy(dtype=object),
                               "converted": sessions["converted"].to_numpy(),
                               "split": user_split.reindex(sessions["user_id"]).to_numpy()})
        sequences = sequences.merge(labels[["journey_id", "split"]], on="journey_id")
        return sequences.reset_index(drop=True), labels

    def experiment_journeys(self) -> pd.DataFrame:
        """What fct_ad_experiment_journeys holds, straight from the simulation (the journeys of
        :meth:`browsing_journeys`): journey_id, user_id, arm, is_exposed (the session holds a
        sponsored browsing event in treatment, a ghost ad in the holdout) and converted."""
        s = self.sessions
        return pd.DataFrame({"journey_id": s["session_key"], "user_id": s["user_id"], "arm": s["arm"],
                             "is_exposed": s["n_ad_slots"] > 0, "converted": s["converted"]})


# ---------------------------------------------------------------- vocabulary
# One code space for every event: the browsing events, then the funnel events.
EVENT_NAMES = np.array([e.event for e in BROWSING_EVENTS] + list(FUNNEL_EVENTS), dtype=object)
EVENT_TYPES = np.array([e.event_type for e in BROWSING_EVENTS] + [FUNNEL_EVENT_TYPE] * len(FUNNEL_EVENTS), dtype=object)
_N_BROWSING = len(BROWSING_EVENTS)
ADD_ITEM, CART, CHECKOUT, PLACE_ORDER, CHECKOUT_SUCCESS = (_N_BROWSING + i for i in range(len(FUNNEL_EVENTS)))
CARD_VIEW = browsing_code("m_card_view")
CARD_CLICK = browsing_code("m_card_click")
STORE_PAGE = browsing_code("store_page_load")
SEARCH = browsing_code("core_search")
TAB_EXPLORE = browsing_code("m_select_tab_explore")
TAB_ORDERS = browsing_code("m_select_tab_orders")
_IS_STORE_EVENT = np.isin(EVENT_TYPES, list(STORE_EVENT_TYPES))
_IS_NAVIGATION = EVENT_TYPES == "navigation"
_IS_AD_SLOT = np.isin(EVENT_TYPES, list(AD_EVENT_TYPES))  # impressions and clicks may be sponsored

FEATURES = np.array(["Core Search", "Traditional Carousel", "Home Feed", "Cuisine Filter", "Sponsored Carousel"], dtype=object)
CORE_SEARCH, SPONSORED_CAROUSEL = 0, 4
ORGANIC_FEED_FEATURES = np.array([1, 2, 3])  # shown where no search led to the card
ORGANIC_FEED_SHARES = np.array([0.6, 0.25, 0.15])
NO_VALUE = -1  # null store / feature / sponsorship in the integer arrays

# Funnel of each session, by outcome: the events after the add-item events.
NO_FUNNEL, CONVERTED, ABANDONED_AT_ITEMS, ABANDONED_AT_CART, ABANDONED_AT_CHECKOUT = range(5)
_FUNNEL_TAIL = np.array(
    [
        [NO_VALUE] * 4,
        [CART, CHECKOUT, PLACE_ORDER, CHECKOUT_SUCCESS],
        [NO_VALUE] * 4,
        [CART, NO_VALUE, NO_VALUE, NO_VALUE],
        [CART, CHECKOUT, NO_VALUE, NO_VALUE],
    ]
)
_FUNNEL_TAIL_LENGTH = (_FUNNEL_TAIL != NO_VALUE).sum(axis=1)
# Post-conversion events: the first one opens the orders tab most of the time.
_FIRST_POST_ORDERS_SHARE = 0.8
_POST_EVENTS = np.array([CARD_VIEW, TAB_ORDERS, TAB_EXPLORE])
_POST_SHARES = np.array([0.5, 0.2, 0.3])


# ---------------------------------------------------------------- ragged helpers
def _row_offsets(lengths: np.ndarray) -> np.ndarray:
    """First row of each group when groups of ``lengths`` rows are laid end to end."""
    return np.cumsum(lengths) - lengths


def _rank_within(lengths: np.ndarray) -> np.ndarray:
    """0-based rank of each row within its group, for groups laid end to end."""
    return np.arange(lengths.sum()) - np.repeat(_row_offsets(lengths), lengths)


def _latest_earlier(flag: np.ndarray, group_first_row: np.ndarray) -> np.ndarray:
    """Per row: index of the latest earlier row of the same group with ``flag``, or -1."""
    rows = np.arange(len(flag))
    latest_so_far = np.maximum.accumulate(np.where(flag, rows, -1))
    latest_before = np.concatenate([[-1], latest_so_far[:-1]])
    return np.where(latest_before >= group_first_row, latest_before, -1)


def _draw_categorical(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One draw per row of a (rows, categories) probability matrix."""
    cumulative = np.cumsum(probabilities, axis=1)
    draws = (rng.random(len(probabilities))[:, None] > cumulative).sum(axis=1)
    return np.minimum(draws, probabilities.shape[1] - 1)  # guards float round-off in the last bin


# ---------------------------------------------------------------- the ad experiment
def _assign_holdout(config: SimulationConfig, experiment_rng: np.random.Generator) -> np.ndarray:
    """Per user: in the holdout. Exactly round(holdout_share * n_users) users, drawn at random."""
    n_holdout = int(round(config.holdout_share * config.n_users))
    in_holdout = np.zeros(config.n_users, dtype=bool)
    in_holdout[experiment_rng.permutation(config.n_users)[:n_holdout]] = True
    return in_holdout


@dataclass
class _Ghosting:
    """Turns a holdout user's would-be sponsored cards into ghost ads, on the experiment's stream."""

    session_in_holdout: np.ndarray  # bool per session
    experiment_rng: np.random.Generator
    popularity: np.ndarray

    def ghost_slots(self, session: np.ndarray, drawn_sponsored: np.ndarray, is_card: np.ndarray) -> np.ndarray:
        """0/1 per event: a card drawn as sponsored for a holdout user."""
        return (drawn_sponsored & is_card & self.session_in_holdout[session]).astype(np.int8)

    def swap_in_organic_cards(
        self, ghost: np.ndarray, store: np.ndarray, sponsored: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """In each ghost slot an organic card: not sponsored, a store drawn by popularity.

        Draws nothing (and so leaves every stream as it was) when there is no ghost slot.
        """
        is_ghost = ghost == 1
        store, sponsored = store.copy(), sponsored.copy()
        n_ghosts = int(is_ghost.sum())
        if n_ghosts:
            store[is_ghost] = self.experiment_rng.choice(len(self.popularity), size=n_ghosts, p=self.popularity)
        sponsored[is_ghost] = 0
        return store, sponsored


# ---------------------------------------------------------------- the intent latents
@dataclass(frozen=True)
class _Latents:
    """The latents behaviour and conversion are drawn with (see the module docstring).

    Per session: z1_s (``intent``), z2_s (``second``; None with one dimension) and the user's
    retargeting confounder r_u (``retargeting``; None when off). Per browsing event, in the
    browsing rows' order: z1_t and z2_t (``event_intent``, ``event_second``), the session's own
    values when intent does not drift. ``last_event``: per session, the row of its last browsing event.
    """

    intent: np.ndarray
    second: np.ndarray | None
    retargeting: np.ndarray | None
    event_intent: np.ndarray
    event_second: np.ndarray | None
    last_event: np.ndarray
    drifts: bool

    @property
    def event_ad_intent(self) -> np.ndarray:
        """Per browsing event: the intent ads are targeted on (z2_t with two dimensions, else z1_t)."""
        return self.event_intent if self.event_second is None else self.event_second

    def end(self, per_event: np.ndarray | None) -> np.ndarray | None:
        """Per session: the value at its last browsing event (the end of browsing)."""
        return None if per_event is None else per_event[self.last_event]

    @property
    def intent_end(self) -> np.ndarray:
        return self.end(self.event_intent) if self.drifts else self.intent

    @property
    def second_end(self) -> np.ndarray | None:
        return self.end(self.event_second) if self.drifts else self.second

    @property
    def ad_intent_end(self) -> np.ndarray:
        """Per session: the ad intent at the end of browsing (post-conversion cards are targeted on it)."""
        return self.intent_end if self.second is None else self.second_end

    def sponsored_logit(self, config: SimulationConfig, ad_intent: np.ndarray, session: np.ndarray) -> np.ndarray:
        """sponsored_base_logit + sponsored_intent_slope * ad intent (+ retargeting_effect * r_u)."""
        logit = config.sponsored_base_logit + config.sponsored_intent_slope * ad_intent
        if self.retargeting is not None:
            logit = logit + config.retargeting_effect * self.retargeting[session]
        return logit

    def conversion(self) -> ConversionLatents:
        """What the conversion logit holds fixed: c = z1 (+ z2) at the end of browsing, c_t, r_u."""
        intent = self.intent_end if self.second is None else self.intent_end + self.second_end
        event_intent = None
        if self.drifts:
            event_intent = self.event_intent if self.event_second is None else self.event_intent + self.event_second
        return ConversionLatents(intent=intent, event_intent=event_intent, retargeting=self.retargeting)


def _stream(config: SimulationConfig, spawn_key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(spawn_key,)))


def _draw_latents(
    config: SimulationConfig, intent: np.ndarray, session_user: np.ndarray, browsing_lengths: np.ndarray
) -> _Latents:
    """z2, the drift paths and r_u, each from its own stream (nothing drawn for a switch that is off).

    z2_s = v2_u + e2_s like z1; r_u ~ N(0, 1); z_t = z_s + intent_drift_sd * (sum of t - 1 N(0, 1)
    steps) / sqrt(mean_events_per_session), one walk per intent dimension.
    """
    n_users, n_sessions = config.n_users, len(session_user)
    second = retargeting = None
    if config.intent_dimensions == 2:
        rng = _stream(config, _SECOND_INTENT_STREAM)
        user_second = rng.normal(0.0, config.user_intent_sd, size=n_users)
        second = user_second[session_user] + rng.normal(0.0, config.session_intent_sd, size=n_sessions)
    if config.retargeting_effect > 0:
        retargeting = _stream(config, _RETARGETING_STREAM).standard_normal(n_users)[session_user]

    session = np.repeat(np.arange(n_sessions), browsing_lengths)
    event_intent = intent[session]
    event_second = None if second is None else second[session]
    drifts = config.intent_drift_sd > 0
    if drifts:
        first_row = _row_offsets(browsing_lengths)
        steps = _stream(config, _DRIFT_STREAM).standard_normal((len(session), config.intent_dimensions))
        steps[first_row] = 0.0  # event t has taken t - 1 steps
        walked = np.cumsum(steps, axis=0)
        walk = (walked - walked[first_row][session]) * (config.intent_drift_sd / np.sqrt(config.mean_events_per_session))
        event_intent = event_intent + walk[:, 0]
        if event_second is not None:
            event_second = event_second + walk[:, 1]
    return _Latents(
        intent=intent, second=second, retargeting=retargeting, event_intent=event_intent, event_second=event_second,
        last_event=np.cumsum(browsing_lengths) - 1, drifts=drifts,
    )


# ---------------------------------------------------------------- the simulation
def simulate_sessions(config: SimulationConfig = SimulationConfig()) -> SessionsSimulation:
    """Simulate users' sessions from the structural model (see the module docstring)."""
    started = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    # the experiment draws from its own stream, so the main stream is the same with or without it
    experiment_rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(_EXPERIMENT_STREAM,)))
    dimension_store = simulate_stores(config.n_stores, rng)
    popularity = store_popularity(config.n_stores, config.store_zipf_exponent, rng)

    # users and sessions, with intent; users randomized to the ad holdout, independently of intent
    sessions_per_user = 1 + rng.poisson(config.mean_sessions_per_user - 1, size=config.n_users)
    session_user = np.repeat(np.arange(config.n_users), sessions_per_user)
    n_sessions = len(session_user)
    user_intent = rng.normal(0.0, config.user_intent_sd, size=config.n_users)
    intent = user_intent[session_user] + rng.normal(0.0, config.session_intent_sd, size=n_sessions)
    user_in_holdout = _assign_holdout(config, experiment_rng)
    ghosting = _Ghosting(user_in_holdout[session_user], experiment_rng, popularity)

    # browsing events, then the conversion they (and intent) drive
    browsing_lengths = _draw_browsing_lengths(config, rng, intent)
    latents = _draw_latents(config, intent, session_user, browsing_lengths)
    browsing = _draw_browsing_events(config, rng, latents, browsing_lengths, popularity, ghosting)
    sequences = BrowsingSequences(
        session=browsing["session"], code=browsing["code"], is_sponsored=browsing["sponsored"] == 1, n_sessions=n_sessions
    )
    conversion_latents = latents.conversion()
    p_convert = config.conversion_model.probabilities(conversion_latents, sequences)
    converted = rng.random(n_sessions) < p_convert

    # what follows the browsing: funnel, then post-conversion events
    funnel_kind = _draw_funnel_kind(config, rng, converted)
    funnel = _draw_funnel_events(rng, funnel_kind, browsing, browsing_lengths, popularity)
    post_lengths = np.where(converted, rng.integers(1, 5, size=n_sessions), 0)
    post_sponsored_logit = latents.sponsored_logit(config, latents.ad_intent_end, np.arange(n_sessions))
    post = _draw_post_conversion_events(rng, post_sponsored_logit, post_lengths, popularity, ghosting)

    log = _interleave_sessions([browsing, funnel, post], [browsing_lengths, funnel["lengths"], post_lengths])
    session_lengths = browsing_lengths + funnel["lengths"] + post_lengths
    seconds_into_session = _seconds_into_session(config, rng, log["code"], session_lengths)
    session_start_seconds = _schedule_sessions(config, rng, session_user, sessions_per_user, seconds_into_session, session_lengths)
    event_seconds = np.repeat(session_start_seconds, session_lengths) + seconds_into_session

    null_session = rng.random(n_sessions) < config.null_session_id_share
    ids = _Identifiers(config.n_users, n_sessions, len(log["code"]))
    events = _events_frame(config, ids, log, session_user, null_session, event_seconds, dimension_store)
    sessions = _sessions_frame(
        config, ids, session_user, null_session, latents, p_convert, converted, log, session_lengths,
        browsing_lengths, funnel, event_seconds, user_in_holdout,
    )
    truth = true_removal_effects(config.conversion_model, conversion_latents, sequences)
    if config.holdout_share > 0:
        in_treatment = ~user_in_holdout[session_user]
        truth = pd.concat(
            [truth, true_ad_experiment_effect(config.conversion_model, conversion_latents, sequences, in_treatment)], ignore_index=True
        )
    simulation = SessionsSimulation(
        events=events,
        dimension_store=dimension_store,
        truth=truth,
        sessions=sessions,
        event_effects=event_effects_frame(),
        position_weights=position_weights_frame(
            config.max_events_per_session, config.position_weight_floor, config.position_weight_decay
        ),
        ad_experiment=_ad_experiment_frame(config, ids, user_in_holdout),
        intent_path=_intent_path_frame(ids, latents, browsing_lengths) if latents.drifts else None,
    )
    logger.info(
        "simulated %d users (%d in the ad holdout), %d sessions, %d events (conversion rate %.3f, %d stores) in %.2fs",
        config.n_users, int(user_in_holdout.sum()), n_sessions, len(events), converted.mean(), config.n_stores,
        time.perf_counter() - started,
    )
    return simulation


def _draw_browsing_lengths(config: SimulationConfig, rng: np.random.Generator, intent: np.ndarray) -> np.ndarray:
    """L = min(1 + NegBin(shape, mean m - 1), max), m rising with intent, mean over sessions kept."""
    intent_variance = config.user_intent_sd**2 + config.session_intent_sd**2
    slope = config.length_intent_slope
    mean_length = config.mean_events_per_session * np.exp(slope * intent - slope**2 * intent_variance / 2)
    extra_mean = np.maximum(mean_length - 1.0, 1e-9)
    shape = config.length_dispersion
    extra = rng.negative_binomial(shape, shape / (shape + extra_mean))
    return np.minimum(1 + extra, config.max_events_per_session).astype(np.int64)


def _draw_browsing_events(
    config: SimulationConfig,
    rng: np.random.Generator,
    latents: _Latents,
    lengths: np.ndarray,
    popularity: np.ndarray,
    ghosting: _Ghosting,
) -> dict[str, np.ndarray]:
    """Per browsing event: session, code, store, sponsored and ghost (-1/0/1) and discovery feature.

    A holdout user's card drawn as sponsored becomes a ghost: an organic card (the feature it
    would have had unsponsored, a store of its own) in the same slot, before any click inherits it.
    Event t is drawn with the intent at t: z1_t for the mix, z2_t (two dimensions) for the card-view
    share and the sponsorship.
    """
    session = np.repeat(np.arange(len(lengths)), lengths)
    first_row = np.repeat(_row_offsets(lengths), lengths)
    base = np.array([e.mix_base_logit for e in BROWSING_EVENTS])
    slope = np.array([e.mix_intent_slope for e in BROWSING_EVENTS])
    mix_logits = base[None, :] + slope[None, :] * latents.event_intent[:, None]
    if latents.event_second is not None:  # card views load on the second intent
        mix_logits[:, CARD_VIEW] = base[CARD_VIEW] + slope[CARD_VIEW] * latents.event_second
    mix = np.exp(mix_logits - mix_logits.max(axis=1, keepdims=True))
    code = _draw_categorical(rng, mix / mix.sum(axis=1, keepdims=True))

    # every impression (and a click with no impression before it) is shown on its own draw
    n = len(code)
    store = rng.choice(len(popularity), size=n, p=popularity)
    sponsored = (rng.random(n) < sigmoid(latents.sponsored_logit(config, latents.event_ad_intent, session))).astype(np.int8)
    latest_search = _latest_earlier(code == SEARCH, first_row)
    latest_navigation = _latest_earlier(_IS_NAVIGATION[code], first_row)
    after_search = latest_search > latest_navigation  # the card sits in search results
    feed_feature = ORGANIC_FEED_FEATURES[_draw_categorical(rng, np.broadcast_to(ORGANIC_FEED_SHARES, (n, 3)))]
    organic_feature = np.where(after_search, CORE_SEARCH, feed_feature)
    ghost = ghosting.ghost_slots(session, sponsored == 1, _IS_AD_SLOT[code])
    store, sponsored = ghosting.swap_in_organic_cards(ghost, store, sponsored)
    feature = np.where(sponsored == 1, SPONSORED_CAROUSEL, organic_feature)

    # a click opens the latest card the session saw
    latest_view = _latest_earlier(code == CARD_VIEW, first_row)
    click_on_view = (code == CARD_CLICK) & (latest_view >= 0)
    source = latest_view[click_on_view]
    store[click_on_view], sponsored[click_on_view], feature[click_on_view] = store[source], sponsored[source], feature[source]
    ghost[click_on_view] = ghost[source]

    # a store page shows the store of the latest click, else of the latest card
    latest_click = _latest_earlier(code == CARD_CLICK, first_row)
    page_source = np.where(latest_click >= 0, latest_click, latest_view)
    page_from_card = (code == STORE_PAGE) & (page_source >= 0)
    store[page_from_card] = store[page_source[page_from_card]]

    is_ad_slot = _IS_AD_SLOT[code]
    sponsored = np.where(is_ad_slot, sponsored, np.where(code == STORE_PAGE, 0, NO_VALUE)).astype(np.int8)
    ghost = np.where(sponsored == NO_VALUE, NO_VALUE, ghost).astype(np.int8)
    feature = np.where(is_ad_slot, feature, np.where(code == SEARCH, CORE_SEARCH, NO_VALUE))
    store = np.where(_IS_STORE_EVENT[code], store, NO_VALUE)
    return {"session": session, "code": code, "store": store, "sponsored": sponsored, "ghost": ghost, "feature": feature}


def _draw_funnel_kind(config: SimulationConfig, rng: np.random.Generator, converted: np.ndarray) -> np.ndarray:
    """CONVERTED, or for a non-converted session: no funnel or the step where it was abandoned."""
    abandoned = ~converted & (rng.random(len(converted)) < config.abandoned_funnel_share)
    step = rng.random(len(converted))
    checkout_from = 1.0 - config.abandoned_checkout_share
    cart_from = checkout_from - config.abandoned_cart_share
    abandoned_kind = np.where(
        step >= checkout_from, ABANDONED_AT_CHECKOUT, np.where(step >= cart_from, ABANDONED_AT_CART, ABANDONED_AT_ITEMS)
    )
    return np.where(converted, CONVERTED, np.where(abandoned, abandoned_kind, NO_FUNNEL))


def _draw_funnel_events(
    rng: np.random.Generator,
    funnel_kind: np.ndarray,
    browsing: dict[str, np.ndarray],
    browsing_lengths: np.ndarray,
    popularity: np.ndarray,
) -> dict[str, np.ndarray]:
    """Add-item events, then the tail of the session's funnel kind; the store is the last one browsed."""
    n_sessions = len(funnel_kind)
    n_add = np.where(
        funnel_kind == CONVERTED,
        rng.choice([1, 2, 3], size=n_sessions, p=[0.6, 0.3, 0.1]),
        rng.choice([1, 2], size=n_sessions, p=[0.7, 0.3]),
    )
    n_add = np.where(funnel_kind == NO_FUNNEL, 0, n_add)
    lengths = n_add + _FUNNEL_TAIL_LENGTH[funnel_kind]

    session = np.repeat(np.arange(n_sessions), lengths)
    rank = _rank_within(lengths)
    adds = n_add[session]
    tail = _FUNNEL_TAIL[funnel_kind[session], np.maximum(rank - adds, 0)]
    code = np.where(rank < adds, ADD_ITEM, tail)

    # every session has browsing events, so reduceat sees no empty group
    store_rows = np.where(browsing["store"] != NO_VALUE, np.arange(len(browsing["store"])), -1)
    last_store_row = np.maximum.reduceat(store_rows, _row_offsets(browsing_lengths))
    session_store = np.where(
        last_store_row >= 0, browsing["store"][last_store_row], rng.choice(len(popularity), size=n_sessions, p=popularity)
    )
    n = len(code)
    return {
        "session": session,
        "code": code,
        "store": session_store[session],
        "sponsored": np.full(n, NO_VALUE, dtype=np.int8),
        "ghost": np.full(n, NO_VALUE, dtype=np.int8),
        "feature": np.full(n, NO_VALUE),
        "lengths": lengths,
    }


def _draw_post_conversion_events(
    rng: np.random.Generator,
    sponsored_logit: np.ndarray,
    lengths: np.ndarray,
    popularity: np.ndarray,
    ghosting: _Ghosting,
) -> dict[str, np.ndarray]:
    """After the order: mostly the orders tab first, then cards and tabs (a holdout user's ads ghosted).

    ``sponsored_logit``: per session, the sponsored logit at the end of browsing.
    """
    session = np.repeat(np.arange(len(lengths)), lengths)
    n = len(session)
    opens_orders = (_rank_within(lengths) == 0) & (rng.random(n) < _FIRST_POST_ORDERS_SHARE)
    code = np.where(opens_orders, TAB_ORDERS, _POST_EVENTS[_draw_categorical(rng, np.broadcast_to(_POST_SHARES, (n, 3)))])
    is_card = code == CARD_VIEW
    sponsored_chance = sigmoid(sponsored_logit[session])
    sponsored = np.where(is_card, rng.random(n) < sponsored_chance, NO_VALUE).astype(np.int8)
    feed_feature = ORGANIC_FEED_FEATURES[_draw_categorical(rng, np.broadcast_to(ORGANIC_FEED_SHARES, (n, 3)))]
    store = np.where(is_card, rng.choice(len(popularity), size=n, p=popularity), NO_VALUE)
    ghost = ghosting.ghost_slots(session, sponsored == 1, is_card)
    store, sponsored = ghosting.swap_in_organic_cards(ghost, store, sponsored)
    return {
        "session": session,
        "code": code,
        "store": store,
        "sponsored": sponsored,
        "ghost": np.where(is_card, ghost, NO_VALUE).astype(np.int8),
        "feature": np.where(is_card, np.where(sponsored == 1, SPONSORED_CAROUSEL, feed_feature), NO_VALUE),
    }


def _interleave_sessions(blocks: list[dict[str, np.ndarray]], block_lengths: list[np.ndarray]) -> dict[str, np.ndarray]:
    """One log ordered by session, each session's blocks (browsing, funnel, post) in turn."""
    session_lengths = np.sum(block_lengths, axis=0)
    n_rows = int(session_lengths.sum())
    session_first_row = _row_offsets(session_lengths)
    fields = ("code", "store", "sponsored", "ghost", "feature")
    log = {field: np.empty(n_rows, dtype=blocks[0][field].dtype) for field in fields}
    rows_before_block = np.zeros_like(session_lengths)
    for block, lengths in zip(blocks, block_lengths):
        destination = np.repeat(session_first_row + rows_before_block, lengths) + _rank_within(lengths)
        for field in fields:
            log[field][destination] = block[field]
        rows_before_block = rows_before_block + lengths
    log["session"] = np.repeat(np.arange(len(session_lengths)), session_lengths)
    return log


def _seconds_into_session(
    config: SimulationConfig, rng: np.random.Generator, code: np.ndarray, session_lengths: np.ndarray
) -> np.ndarray:
    """Seconds from the session's first event: gaps of 1..max s, 1-3 s before the checkout success."""
    n = len(code)
    gaps = np.clip(np.rint(rng.exponential(config.mean_seconds_between_events, size=n)), 1, config.max_seconds_between_events)
    gaps = np.where(code == CHECKOUT_SUCCESS, rng.integers(1, 4, size=n), gaps).astype(np.int64)
    first_rows = _row_offsets(session_lengths)
    gaps[first_rows] = 0
    elapsed = np.cumsum(gaps)
    return elapsed - np.repeat(elapsed[first_rows], session_lengths)


def _schedule_sessions(
    config: SimulationConfig,
    rng: np.random.Generator,
    session_user: np.ndarray,
    sessions_per_user: np.ndarray,
    seconds_into_session: np.ndarray,
    session_lengths: np.ndarray,
) -> np.ndarray:
    """Start second of each session (from ``start``): in order, at least the minimum apart.

    start_i = slack * u_(i) + (durations of the user's earlier sessions) + (i - 1) * min_gap,
    with u_(1) <= ... <= u_(k) sorted uniforms and slack the user's free time in the window,
    so consecutive sessions are min_gap + slack * (u_(i) - u_(i-1)) >= min_gap apart.
    A user too busy for the window (slack < 0) spills past its end rather than overlap.
    """
    durations = seconds_into_session[np.cumsum(session_lengths) - 1]
    min_gap = int(np.ceil(config.min_hours_between_sessions * 3600))
    user_first_session = _row_offsets(sessions_per_user)
    order_in_user = _rank_within(sessions_per_user)

    busy = np.bincount(session_user, weights=durations, minlength=config.n_users) + (sessions_per_user - 1) * min_gap
    slack = np.maximum(config.days * 86_400 - 1 - busy, 0)
    uniforms = rng.random(len(session_user))
    sorted_uniforms = uniforms[np.lexsort((uniforms, session_user))]
    elapsed_durations = np.cumsum(durations)
    earlier_durations = elapsed_durations - durations - np.repeat((elapsed_durations - durations)[user_first_session], sessions_per_user)
    return np.floor(sorted_uniforms * slack[session_user]).astype(np.int64) + earlier_durations + order_in_user * min_gap


class _Identifiers:
    """Zero-padded ids that sort in generation order: u000001, s0000001, e00000001."""

    def __init__(self, n_users: int, n_sessions: int, n_events: int):
        self.users = _padded("u", n_users, 6)
        self.sessions = _padded("s", n_sessions, 7)
        self.events = _padded("e", n_events, 8)


def _padded(prefix: str, count: int, min_width: int) -> np.ndarray:
    width = max(min_width, len(str(count)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, count + 1)], dtype=object)


def _take_or_null(values: np.ndarray, index: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """values[index] as a string column, null where index is NO_VALUE."""
    taken = np.where(index == NO_VALUE, None, values[np.maximum(index, 0)])
    return pd.array(taken, dtype="str")


def _events_frame(
    config: SimulationConfig,
    ids: _Identifiers,
    log: dict[str, np.ndarray],
    session_user: np.ndarray,
    null_session: np.ndarray,
    event_seconds: np.ndarray,
    dimension_store: pd.DataFrame,
) -> pd.DataFrame:
    session = log["session"]
    session_id = np.where(null_session, NO_VALUE, np.arange(len(null_session)))
    store_ids = dimension_store["store_id"].to_numpy(dtype=object)
    origin = np.datetime64(config.start, "s")
    return pd.DataFrame(
        {
            "event_id": pd.array(ids.events, dtype="str"),
            "user_id": pd.array(ids.users[session_user[session]], dtype="str"),
            "session_id": _take_or_null(ids.sessions, session_id[session]),
            "event_ts": (origin + event_seconds.astype("timedelta64[s]")).astype("datetime64[us]"),
            "event_type": pd.array(EVENT_TYPES[log["code"]], dtype="str"),
            "event": pd.array(EVENT_NAMES[log["code"]], dtype="str"),
            "discovery_feature": _take_or_null(FEATURES, log["feature"]),
            "store_id": _take_or_null(store_ids, log["store"]),
            "is_sponsored": pd.arrays.BooleanArray(log["sponsored"] == 1, log["sponsored"] == NO_VALUE),
            "is_ghost_ad": pd.arrays.BooleanArray(log["ghost"] == 1, log["ghost"] == NO_VALUE),
        }
    )


def _ad_experiment_frame(config: SimulationConfig, ids: _Identifiers, user_in_holdout: np.ndarray) -> pd.DataFrame:
    """The raw `ad_experiment` table: every user and its arm; no rows when the experiment is off."""
    users = ids.users if config.holdout_share > 0 else ids.users[:0]
    arms = np.where(user_in_holdout, HOLDOUT, TREATMENT)[: len(users)]
    return pd.DataFrame({"user_id": pd.array(users, dtype="str"), "arm": pd.array(arms.astype(object), dtype="str")})


def _intent_path_frame(ids: _Identifiers, latents: _Latents, browsing_lengths: np.ndarray) -> pd.DataFrame:
    """Per browsing event (in session and position order): the intent it was drawn with."""
    frame = pd.DataFrame(
        {
            "session_key": pd.array(ids.sessions[np.repeat(np.arange(len(browsing_lengths)), browsing_lengths)], dtype="str"),
            "position": _rank_within(browsing_lengths).astype(np.int64) + 1,
            "intent": latents.event_intent,
        }
    )
    if latents.event_second is not None:
        frame["intent_2"] = latents.event_second
    return frame


def _sessions_frame(
    config: SimulationConfig,
    ids: _Identifiers,
    session_user: np.ndarray,
    null_session: np.ndarray,
    latents: _Latents,
    p_convert: np.ndarray,
    converted: np.ndarray,
    log: dict[str, np.ndarray],
    session_lengths: np.ndarray,
    browsing_lengths: np.ndarray,
    funnel: dict[str, np.ndarray],
    event_seconds: np.ndarray,
    user_in_holdout: np.ndarray,
) -> pd.DataFrame:
    """Per-session latents and counts; session_key is the session's id even where the events carry null.

    ``arm`` is the user's experiment arm (treatment for everyone when the experiment is off);
    ``n_ad_slots`` counts the session's browsing events that are sponsored (treatment) or ghost
    ads (holdout), i.e. the ad slots before any conversion. ``intent`` is z1_s. Only when their
    switch is on, at the end: ``intent_2`` (z2_s), ``intent_end`` and ``intent_2_end`` (z1 and z2
    at the last browsing event, under drift) and ``retargeting`` (the user's r_u).
    """
    origin = np.datetime64(config.start, "s")
    first_rows = _row_offsets(session_lengths)
    order_rows = np.flatnonzero(log["code"] == PLACE_ORDER)  # one per converted session, the conversion moment
    conversion_seconds = np.full(len(session_lengths), -1, dtype=np.int64)
    conversion_seconds[log["session"][order_rows]] = event_seconds[order_rows]
    conversion_ts = (origin + conversion_seconds.astype("timedelta64[s]")).astype("datetime64[us]")
    conversion_ts[~converted] = np.datetime64("NaT")
    # before the order: browsing, add items, cart and checkout; a non-converted session: everything
    pre_conversion = np.where(converted, browsing_lengths + funnel["lengths"] - 2, session_lengths)
    is_browsing = _rank_within(session_lengths) < np.repeat(browsing_lengths, session_lengths)
    frame = pd.DataFrame(
        {
            "session_key": pd.array(ids.sessions, dtype="str"),
            "user_id": pd.array(ids.users[session_user], dtype="str"),
            "intent": latents.intent,
            "p_convert": p_convert,
            "converted": converted,
            "conversion_ts": conversion_ts,
            "n_pre_conversion_events": pre_conversion.astype(np.int64),
            "n_browsing_events": browsing_lengths.astype(np.int64),
            "n_events": session_lengths.astype(np.int64),
            "session_id": _take_or_null(ids.sessions, np.where(null_session, NO_VALUE, np.arange(len(null_session)))),
            "first_event_id": pd.array(ids.events[first_rows], dtype="str"),
            "started_at": (origin + event_seconds[first_rows].astype("timedelta64[s]")).astype("datetime64[us]"),
            "arm": pd.array(np.where(user_in_holdout[session_user], HOLDOUT, TREATMENT).astype(object), dtype="str"),
            "n_ad_slots": np.bincount(
                log["session"][is_browsing & ((log["sponsored"] == 1) | (log["ghost"] == 1))], minlength=len(session_lengths)
            ).astype(np.int64),
        }
    )
    if latents.second is not None:
        frame["intent_2"] = latents.second
    if latents.drifts:
        frame["intent_end"] = latents.intent_end
        if latents.second is not None:
            frame["intent_2_end"] = latents.second_end
    if latents.retargeting is not None:
        frame["retargeting"] = latents.retargeting
    return frame
