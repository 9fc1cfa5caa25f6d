"""The names of the effects journeylift estimates, once: the simulators' truth, the models'
counterfactuals, the randomized experiment and every table that puts them side by side key their
rows by these. Torch-free, so the simulators can import it.

remove_ad_events         remove every sponsored event from a journey and re-predict
remove_event:<event>     remove every event named <event>
swap_ad_events[:<event>] show the ads as organic cards instead (nothing removed or re-ranked)
ad_experiment_exposed    the randomized holdout's estimand: exposed treatment journeys against
                         ghost-exposed holdout journeys
"""

REMOVE_AD_EVENTS = "remove_ad_events"
REMOVE_EVENT_PREFIX = "remove_event:"
SWAP_AD_EVENTS = "swap_ad_events"
SWAP_AD_EVENT_PREFIX = "swap_ad_events:"
AD_EXPERIMENT_EXPOSED = "ad_experiment_exposed"
#: The ``model`` and ``method`` of the randomized holdout's rows: no model read it.
EXPERIMENT_MODEL = "experiment"
EXPERIMENT_METHOD = "randomized_holdout"
#: The ``method`` of model-based remove-and-re-predict rows where a table has a method column.
COUNTERFACTUAL_METHOD = "counterfactual"
#: How a model-based effect was read (the ``estimator`` column of counterfactual_effects, and the
#: scorecard's ``method``): edit the journey and let the model read it again, intent included, or
#: infer intent from the full journey and hold it (latent-intent models: abduction); grounded:
#: with the strength of intent fitted to the randomized holdout's ad effect.
REPREDICT_ESTIMATOR = "remove_and_repredict"
ABDUCTION_ESTIMATOR = "abduction"
GROUNDED_ABDUCTION_ESTIMATOR = "abduction_grounded"
#: The assumption each estimator's numbers rest on, in a sentence a reader can check.
ESTIMATOR_ASSUMPTIONS: dict[str, str] = {
    REPREDICT_ESTIMATOR: "the model re-reads intent from the edited journey: confounded wherever intent drives "
                         "both the events and conversion",
    ABDUCTION_ESTIMATOR: "intent is one latent number per journey, revealed by the events, fixed within the journey "
                         "and acting additively on the logit; its strength rests on that functional form alone",
    GROUNDED_ABDUCTION_ESTIMATOR: "as abduction, with the strength of intent fitted to the journeys and the "
                                  "randomized holdout's ad effect together",
    EXPERIMENT_METHOD: "randomization: users assigned to the holdout independently of everything else",
}
#: What an attribution method's numbers rest on (every method that is not an estimator above).
ATTRIBUTION_ASSUMPTION = ("a share of the prediction given to each event (by the model's gradients or attention, or "
                          "by a rule): an association with conversion, not an effect of the events")


def assumption_of(method: str) -> str:
    """The assumption behind a method's or estimator's numbers (the scorecard's ``method``)."""
    if method == COUNTERFACTUAL_METHOD:
        return ESTIMATOR_ASSUMPTIONS[REPREDICT_ESTIMATOR]
    return ESTIMATOR_ASSUMPTIONS.get(method, ATTRIBUTION_ASSUMPTION)


#: The ad interventions whose estimates are scored against the truth of the same name.
AD_INTERVENTIONS: tuple[str, ...] = (REMOVE_AD_EVENTS, AD_EXPERIMENT_EXPOSED)
