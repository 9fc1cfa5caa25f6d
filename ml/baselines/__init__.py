"""Multi-touch attribution baselines on journey paths: rules, Markov removal effects, Shapley values.

Per-event rules (``last_touch``, ``first_touch``, ``linear``) return
``event_attribution`` rows; channel methods (``markov_removal``, ``shapley``)
return one row per event name, turned into ``event_type_attribution`` rows by
:func:`channel_event_type_attribution`; over stores (``state_column="store_id"``), into
``store_attribution`` rows by :func:`channel_store_attribution`.
"""

from ml.baselines.channels import CHANNEL_COLUMNS, channel_event_type_attribution, channel_store_attribution
from ml.baselines.markov import conversion_probability, markov_removal_effects, transition_counts
from ml.baselines.paths import journey_paths
from ml.baselines.rules import RULE_METHODS, rule_attribution
from ml.baselines.shapley import coalition_values, shapley_from_values, shapley_values

#: channel method name -> function(sequences, labels, split=, max_len=, state_column=)
CHANNEL_METHODS = {"markov_removal": markov_removal_effects, "shapley": shapley_values}
BASELINE_METHODS: tuple[str, ...] = (*RULE_METHODS, *CHANNEL_METHODS)


def channel_attribution(sequences, labels, method: str, **options):
    """The channel table of ``method`` (``markov_removal`` or ``shapley``); see CHANNEL_COLUMNS."""
    try:
        function = CHANNEL_METHODS[method]
    except KeyError:
        raise KeyError(f"unknown channel method {method!r}; known: {sorted(CHANNEL_METHODS)}") from None
    return function(sequences, labels, **options)


__all__ = [
    "BASELINE_METHODS",
    "CHANNEL_COLUMNS",
    "CHANNEL_METHODS",
    "RULE_METHODS",
    "channel_attribution",
    "channel_event_type_attribution",
    "channel_store_attribution",
    "coalition_values",
    "conversion_probability",
    "journey_paths",
    "markov_removal_effects",
    "rule_attribution",
    "shapley_from_values",
    "shapley_values",
    "transition_counts",
]
