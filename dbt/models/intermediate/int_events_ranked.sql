{#-
    Each event's rank in its journey and the seconds since the journey's
    previous event; and, for a non-funnel event, its rank among the journey's
    non-funnel events and the seconds since the previous one (null on funnel
    events). All four come from one ordering of the journey, so the sequence
    marts need no window of their own: the cut at conversion keeps a prefix of
    this order, so with_funnel's positions are event_rank and the two funnel-free
    variants' are non_funnel_rank.

    A view: ranking is per journey, and int_events_sessionized holds whole
    journeys, so the view reads the same as a table re-ranked per partition,
    without writing every event once more (int_events_enriched reads it once).
-#}

{{ config(materialized='view') }}

with

events as (

    select * from {{ ref('int_events_sessionized') }}

),

flagged as (

    select
        *,
        {{ is_funnel_event('event_type', 'event') }} as is_funnel_event

    from events

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
        ) as prev_event_at,
        count(case when not is_funnel_event then 1 end) over (
            partition by journey_id
            order by event_at, event_id
            rows between unbounded preceding and current row
        ) as non_funnel_events_so_far,
        -- ordered by event_at: the latest earlier non-funnel time is the previous one's
        max(case when not is_funnel_event then event_at end) over (
            partition by journey_id
            order by event_at, event_id
            rows between unbounded preceding and 1 preceding
        ) as prev_non_funnel_event_at

    from flagged

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
        case
            when not is_funnel_event then cast(non_funnel_events_so_far as {{ dbt.type_int() }})
        end as non_funnel_rank,
        case
            when not is_funnel_event
                then coalesce({{ seconds_between('prev_non_funnel_event_at', 'event_at') }}, 0)
        end as seconds_since_prev_non_funnel,
        event_type,
        event,
        discovery_feature,
        store_id,
        is_sponsored,
        is_ghost_ad

    from ranked

)

select * from final
