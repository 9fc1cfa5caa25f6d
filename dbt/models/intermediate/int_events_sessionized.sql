{#-
    Every event gets a journey_id (macro journeys_by_session_gap): its
    session_id where the app recorded one; otherwise the user's session-less
    events are split by `session_gap_minutes` of inactivity and numbered per
    user (<user_id>-auto-1, -auto-2, ...), deterministically.
-#}

with

events as (

    select * from {{ ref('stg_sessions__events') }}

),

journeys as (

    {{ journeys_by_session_gap('events') }}

),

final as (

    select
        events.event_id,
        journeys.journey_id,
        events.user_id,
        events.session_id,
        events.event_at,
        events.event_type,
        events.event,
        events.discovery_feature,
        events.store_id,
        events.is_sponsored,
        events.is_ghost_ad

    from events
    inner join journeys
        on events.event_id = journeys.event_id

)

select * from final
