"""Attribution over time: every run appends its estimates to `attribution_history` under its data
window's end date (replacing that date's rows: a day run again changes nothing), draws them over
the days, and a warning check says which estimate left the previous day's interval."""

import dagster as dg
import pandas as pd

from dagster_project.defs.dbt.assets import dbt_model_key, sequences_model
from dagster_project.defs.ml.figures import save_figure
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.warehouse import WAREHOUSE_POOL, Warehouse
from ml.data import HONEST_VARIANT
from ml.reporting import append_history, history_figure, history_rows, interval_departures, window_end

HISTORY_KEY = dg.AssetKey([OUTPUT_SCHEMA, "attribution_history"])


def figure_model(history: pd.DataFrame, promotion: pd.DataFrame) -> str:
    """The model the figure follows: the newest run's challenger, else its previous champion, else
    the first model with event rows."""
    for column in ("challenger_model", "previous_champion_model"):
        if len(promotion) and pd.notna(promotion[column].iloc[0]):
            return str(promotion[column].iloc[0])
    models = sorted(history.loc[history["kind"] == "event", "model"].unique())
    return models[0] if models else ""


@dg.asset(
    key=HISTORY_KEY,
    pool=WAREHOUSE_POOL,
    group_name="attribution",
    ins={
        "counterfactual_effects": dg.AssetIn([OUTPUT_SCHEMA, "counterfactual_effects"]),
        "ad_effects": dg.AssetIn([OUTPUT_SCHEMA, "ad_effects"]),
        "position_attribution": dg.AssetIn([OUTPUT_SCHEMA, "position_attribution"]),
        "model_promotion": dg.AssetIn([OUTPUT_SCHEMA, "model_promotion"]),
        "events": dg.AssetIn(dbt_model_key(sequences_model(HONEST_VARIANT)), metadata={"columns": ["event_at"]}),
    },
    metadata={"preview_rows": 20},
)
def attribution_history(
    context: dg.AssetExecutionContext, warehouse: Warehouse, counterfactual_effects: pd.DataFrame,
    ad_effects: pd.DataFrame, position_attribution: pd.DataFrame, model_promotion: pd.DataFrame,
    events: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """window_end, kind (event, ad, position), model, variant, method, item, estimate, ci_low,
    ci_high, n: the honest event effects (remove and re-predict), the ad effects (randomized
    holdout and models) and the position lifts of every run, keyed by the date of the newest
    event it saw. The figure draws each event's effect and the ad effect over the days."""
    end = window_end(events["event_at"])
    earlier = warehouse.read_table(*HISTORY_KEY.path) if warehouse.table_exists(*HISTORY_KEY.path) else None
    history = append_history(earlier, history_rows(end, counterfactual_effects, ad_effects, position_attribution))
    model = figure_model(history, model_promotion)
    windows = sorted(set(history["window_end"]))
    context.log.info(f"attribution history: {len(windows)} data windows, the newest ending {end}")
    return dg.Output(history, metadata={
        "window_end": str(end),
        "windows": len(windows),
        "figure_points": len(windows),
        "figure": save_figure(history_figure(history, model), "attribution_history.png").metadata,
    })


@dg.asset_check(asset=HISTORY_KEY, pool=WAREHOUSE_POOL, name="estimates_within_previous_interval")
def estimates_within_previous_interval(attribution_history: pd.DataFrame) -> dg.AssetCheckResult:
    """Warns when an estimate of the newest data window lies outside the previous window's 95%
    interval: a shift worth a look (new traffic, a changed page, a broken event), not a failure."""
    moved = interval_departures(attribution_history)
    return dg.AssetCheckResult(
        passed=moved.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "departures": len(moved),
            "moved": dg.MetadataValue.md(moved.round(4).to_markdown(index=False) if len(moved) else "none"),
        },
    )
