{#-
    One row per journey with its label: converted when it holds a conversion
    event; conversion_at is the first one. n_events counts every event of the
    journey, before any cut. Incremental: a partitioned run relabels every
    journey with an event in the window and drops journeys that no longer
    exist in int_events_enriched (macros/partition_window.sql).
-#}

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='journey_id',
    full_refresh=not is_partitioned_run(),
    pre_hook="{{ delete_rows_missing_upstream(this, 'journey_id', ref('int_events_enriched')) }}"
) }}

with

events as (

    {{ select_journeys_in_partition(ref('int_events_enriched')) }}

),

journeys as (

    select
        journey_id,
        user_id,
        split,
        min(event_at) as journey_started_at,
        max(case when is_conversion_event then 1 else 0 end) = 1 as converted,
        min(case when is_conversion_event then event_at end) as conversion_at,
        count(*) as n_events

    from events
    group by journey_id, user_id, split

),

final as (

    select
        journey_id,
        user_id,
        split,
        journey_started_at,
        converted,
        conversion_at,
        cast(n_events as {{ dbt.type_int() }}) as n_events

    from journeys

)

select * from final
