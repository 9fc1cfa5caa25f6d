"""Holding intent fixed, grounded by the randomized holdout (when `latent_intent` is trained): the
strength of intent fitted to the experiment's ad effect, every event's effect re-read with it, and
the falsification check on the negative controls."""

import dagster as dg
import pandas as pd

from dagster_project.defs.dbt.assets import dbt_model_key, sequences_model
from dagster_project.defs.ml.figures import save_figure
from dagster_project.defs.ml.training import model_key, tensors_key
from dagster_project.settings import OUTPUT_SCHEMA, Source
from dagster_project.warehouse import WAREHOUSE_POOL
from ml.contract import SESSIONS
from ml.counterfactual import (
    AD_EXPERIMENT_EXPOSED,
    EXPERIMENT_MODEL,
    NEGATIVE_CONTROL_TOLERANCE,
    ground_intent_strength,
    model_effects,
    negative_control_departures,
)
from ml.data import HONEST_VARIANT, SequenceData
from ml.estimands import ABDUCTION_ESTIMATOR, ESTIMATOR_ASSUMPTIONS, GROUNDED_ABDUCTION_ESTIMATOR, REMOVE_EVENT_PREFIX
from ml.models import LatentIntentClassifier
from ml.reporting import grounding_figure
from ml.training import TrainedModel

LATENT_INTENT = LatentIntentClassifier.name  # the family's registered name
GROUNDING_KEY = dg.AssetKey([OUTPUT_SCHEMA, "intent_grounding"])
NO_HOLDOUT_NOTE = ("no randomized holdout: the strength of intent, and so every effect below, rests on the "
                   "latent-intent model's functional form alone")


class IntentGroundingConfig(dg.Config):
    """The 95% intervals: `n_refits` refits of the head on resampled train journeys, each averaged
    over resampled test journeys (so a rare event's interval carries the fit's uncertainty), and
    their seed; the split the effects average over; the negative controls: events known to do
    nothing (empty: the source's own, the simulator's inert navigation tabs; none for real data
    unless named here)."""

    n_refits: int = 20
    n_boot: int = 200
    seed: int = 0
    split: str = "test"
    negative_controls: list[str] = []


def default_negative_controls(source: Source) -> list[str]:
    """The events a source knows to be inert: the sessions simulator's by construction, else none."""
    if source.kind == "simulator" and source.domain == SESSIONS:
        from ml.simulate import NEGATIVE_CONTROL_EVENTS

        return list(NEGATIVE_CONTROL_EVENTS)
    return []


def build_intent_grounding(source: Source) -> tuple[dg.AssetsDefinition, dg.AssetChecksDefinition]:
    source_controls = default_negative_controls(source)

    @dg.asset(
        pool=WAREHOUSE_POOL,
        key=GROUNDING_KEY,
        ins={
            "latent_intent": dg.AssetIn(model_key(LATENT_INTENT, HONEST_VARIANT)),
            "data": dg.AssetIn(tensors_key(HONEST_VARIANT)),
            "sequences": dg.AssetIn(dbt_model_key(sequences_model(HONEST_VARIANT))),
            "ad_effects": dg.AssetIn([OUTPUT_SCHEMA, "ad_effects"]),
        },
        group_name="attribution",
        metadata={"preview_rows": 12},
    )
    def intent_grounding(
        context: dg.AssetExecutionContext, config: IntentGroundingConfig, latent_intent: TrainedModel,
        data: SequenceData, sequences: pd.DataFrame, ad_effects: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        """Every event's effect with intent held (abduction), the strength of intent grounded by the
        randomized holdout: the head of `latent_intent` refitted at the strength that makes its ad
        effect (ads shown as organic cards, intent held) equal the experiment's, with that
        strength's interval from the experiment's. Without a holdout the rows rest on the model's
        functional form alone, and say so. `negative_control` marks the events known to do nothing:
        the check `negative_controls_near_zero` warns when one comes out away from zero."""
        experiment = ad_effects[(ad_effects["model"] == EXPERIMENT_MODEL)
                                & (ad_effects["intervention"] == AD_EXPERIMENT_EXPOSED)]
        measured = experiment["effect"].notna().any()
        model, metadata = latent_intent.model, {}
        if measured:
            row = experiment.iloc[0]
            model, grounding = ground_intent_strength(model, data, float(row["effect"]),
                                                      (float(row["ci_low"]), float(row["ci_high"])))
            estimator = GROUNDED_ABDUCTION_ESTIMATOR
            strength = (grounding.intent_strength, grounding.intent_strength_low, grounding.intent_strength_high)
            context.log.info(
                f"intent strength: {grounding.intent_strength:.3f} (95% interval {grounding.intent_strength_low:.3f} "
                f"to {grounding.intent_strength_high:.3f}) from the journeys and the holdout's ad effect "
                f"{100 * row['effect']:+.1f} points together; {grounding.intent_strength_fitted:.3f} from the journeys alone")
            metadata = {
                "intent_strength": round(grounding.intent_strength, 3),
                "intent_strength_interval": f"{grounding.intent_strength_low:.3f} to {grounding.intent_strength_high:.3f}",
                "intent_strength_fitted": round(grounding.intent_strength_fitted, 3),
                "at_boundary": grounding.at_boundary,
                "curve": dg.MetadataValue.md(grounding.curve.round(4).to_markdown(index=False)),
                "figure": save_figure(grounding_figure(grounding.curve, row, grounding.intent_strength,
                                                       grounding.intent_strength_fitted,
                                                       "The strength of intent: the journeys and the randomized holdout"),
                                      "intent_grounding.png").metadata,
            }
        else:
            estimator = ABDUCTION_ESTIMATOR
            fitted = float(model.intent_strength.detach().abs()[0])
            strength = (fitted, float("nan"), float("nan"))
            context.log.warning(NO_HOLDOUT_NOTE)
            metadata = {"warning": NO_HOLDOUT_NOTE, "intent_strength_fitted": round(fitted, 3)}
        effects = model_effects(model, data, sequences, split=config.split, n_boot=config.n_boot, seed=config.seed,
                                n_refits=config.n_refits)
        controls = config.negative_controls or source_controls
        table = latent_intent.keyed(effects.assign(estimator=estimator))
        table["intent_strength"], table["intent_strength_low"], table["intent_strength_high"] = strength
        table["negative_control"] = table["intervention"].isin([f"{REMOVE_EVENT_PREFIX}{event}" for event in controls])
        table["assumption"] = ESTIMATOR_ASSUMPTIONS[estimator]
        table.insert(0, "run_id", context.run_id)
        metadata["assumption"] = ESTIMATOR_ASSUMPTIONS[estimator]
        metadata["negative_controls"] = ", ".join(controls) or "none named"
        return dg.Output(table, metadata=metadata)

    @dg.asset_check(asset=GROUNDING_KEY, pool=WAREHOUSE_POOL, name="negative_controls_near_zero")
    def negative_controls_near_zero(intent_grounding: pd.DataFrame) -> dg.AssetCheckResult:
        """Falsification: an event known to do nothing must come out near zero when intent is held.
        Warns when a negative control's whole 95% interval lies more than one probability point
        from zero: the model is misspecified (intent has more than one dimension, changes within
        the journey, or a confounder it cannot see acts) or fitted on too few journeys."""
        controls = intent_grounding[intent_grounding["negative_control"]]
        failures = negative_control_departures(intent_grounding, controls["intervention"].str.removeprefix(REMOVE_EVENT_PREFIX))
        return dg.AssetCheckResult(
            passed=failures.empty,
            severity=dg.AssetCheckSeverity.WARN,
            description=None if failures.empty else (
                f"{len(failures)} negative control(s) away from zero: the latent-intent model's assumptions do not "
                "hold here or its fit is too poor, so its effects are not to be believed"),
            metadata={
                "tolerance_points": 100 * NEGATIVE_CONTROL_TOLERANCE,
                "controls": dg.MetadataValue.md(
                    controls[["intervention", "effect", "ci_low", "ci_high"]].round(4).to_markdown(index=False)
                    if len(controls) else "none named"),
            },
        )

    return intent_grounding, negative_controls_near_zero
