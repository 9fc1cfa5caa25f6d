{#-
    Each event's rank in its journey and the seconds since the journey's
    previous event. Incremental: a partitioned run re-ranks every journey with
    an event in the window, whole (macros/partition_window.sql).
-#}

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='event_id',
    full_refresh=not is_partitioned_run(),
    pre_hook="{{ delete_partition_rows(this, 'event_at') }}"
) }}

with

events as (

    {{ select_journeys_in_partition(ref('int_events_sessionized')) }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by journey_id
            order by event_at, event_id
        ) as event_rank,
        lag(event_at) over (
            partition by journey_id
            order by event_at, event_id
        ) as prev_event_at

    from events

),

final as (

    select
        event_id,
        journey_id,
        user_id,
        session_id,
        cast(event_rank as {{ dbt.type_int() }}) as event_rank,
        event_at,
        coalesce({{ seconds_between('prev_event_at', 'event_at') }}, 0) as seconds_since_prev,
        event_type,
        event,
        discovery_feature,
        store_id,
        is_sponsored,
        is_ghost_ad

    from ranked

)

select * from final
