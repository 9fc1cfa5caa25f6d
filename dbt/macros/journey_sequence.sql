{#-
    The sequence marts' shape, written once: `kept_events` names a CTE of the
    events a variant keeps (from int_events_enriched). Positions run 1..n over
    the kept events and the time deltas are measured between them, so a
    dropped event leaves no trace in the gaps.

    `ranked_among` says which events the variant keeps, and with it which
    ranks of int_events_ranked are the positions, so no mart sorts its rows
    again: 'journey' (a prefix of the journey in event_rank order, which is
    what cut_at_conversion keeps): event_rank and seconds_since_prev;
    'non_funnel' (the non-funnel events of such a prefix, the whole journey
    included): non_funnel_rank and seconds_since_prev_non_funnel. Any other
    selection of events would need its own ranking.

    The training sample and the minimum history live here too, once for
    every variant: only users whose md5 bucket of 'sample-' || user_id falls
    under var sample_users_pct (all their journeys, whole), and only journeys
    keeping at least var min_journey_events events. Both are off by default
    (100, 1), and the bucket is salted so the sample is independent of the
    train/validation/test split.

    So does the training window: with var training_window_days = N, only
    journeys starting within the last N days of the data (the day of the
    latest journey start and the N - 1 before it, whole days: N daily
    partitions); null, the default, keeps every date.
-#}
{% macro journey_sequence(kept_events, ranked_among) -%}
{%- set rank_columns = {
    'journey': ['event_rank', 'seconds_since_prev'],
    'non_funnel': ['non_funnel_rank', 'seconds_since_prev_non_funnel'],
} -%}
{%- if ranked_among not in rank_columns -%}
    {{ exceptions.raise_compiler_error("journey_sequence: ranked_among must be 'journey' or 'non_funnel', got " ~ ranked_among) }}
{%- endif -%}
{%- set position_column, seconds_column = rank_columns[ranked_among] -%}
{%- set sample_users_pct = var('sample_users_pct') | int -%}
{%- set min_journey_events = var('min_journey_events') | int -%}
{%- set training_window_days = var('training_window_days', none) or 0 -%}
{%- if training_window_days | int < 0 -%}
    {{ exceptions.raise_compiler_error("var training_window_days must be a number of days or null (every date)") }}
{%- endif %}
with
{%- if training_window_days | int > 0 %} journey_starts as (

    select
        journey_id,
        event_at as journey_started_at

    from {{ ref('int_events_enriched') }}
    where event_rank = 1

),

journeys_in_training_window as (

    select journey_id
    from journey_starts
    where journey_started_at >= (
        select {{ dbt.dateadd('day', 1 - (training_window_days | int), dbt.date_trunc('day', 'max(journey_started_at)')) }}
        from journey_starts
    )

),
{%- endif %}

sampled as (

    select * from {{ kept_events }}
    {%- if sample_users_pct < 100 %}
    where {{ hash_to_bucket(dbt.concat(["'sample-'", 'user_id']), 100) }} < {{ sample_users_pct }}
    {%- endif %}
    {%- if training_window_days | int > 0 %}
    {{ 'and' if sample_users_pct < 100 else 'where' }} journey_id in (select journey_id from journeys_in_training_window)
    {%- endif %}

),

positioned as (

    select
        *,
        {{ position_column }} as position,
        {{ seconds_column }} as seconds_since_prev_kept
        {%- if min_journey_events > 1 %},
        count(*) over (partition by journey_id) as n_kept_events
        {%- endif %}

    from sampled

)

select
    cast(journey_id as {{ dbt.type_string() }}) as journey_id,
    cast(user_id as {{ dbt.type_string() }}) as user_id,
    cast(split as {{ dbt.type_string() }}) as split,
    cast(position as {{ dbt.type_int() }}) as position,
    cast(event_id as {{ dbt.type_string() }}) as event_id,
    cast(event_at as {{ dbt.type_timestamp() }}) as event_at,
    cast(event_type as {{ dbt.type_string() }}) as event_type,
    cast(event as {{ dbt.type_string() }}) as event,
    cast(discovery_feature as {{ dbt.type_string() }}) as discovery_feature,
    cast(store_id as {{ dbt.type_string() }}) as store_id,
    cast(store_name as {{ dbt.type_string() }}) as store_name,
    cast(primary_tag_name as {{ dbt.type_string() }}) as primary_tag_name,
    cast(primary_category_name as {{ dbt.type_string() }}) as primary_category_name,
    cast(is_nv as {{ dbt.type_boolean() }}) as is_nv,
    cast(is_sponsored as {{ dbt.type_boolean() }}) as is_sponsored,
    cast(seconds_since_prev_kept as {{ type_double() }}) as seconds_since_prev

from positioned
{%- if min_journey_events > 1 %}
where n_kept_events >= {{ min_journey_events }}
{%- endif %}
{%- endmacro %}
