{#-
    The journey of every event, written once: its session_id where the app
    recorded one; otherwise the user's session-less events are split by
    `session_gap_minutes` of inactivity (a gap strictly longer starts a new
    journey) and numbered per user (<user_id>-auto-1, -auto-2, ...),
    deterministically. `events` names a CTE with unique event_id, user_id,
    session_id and event_at; renders a select of its every column plus
    journey_id (carrying the columns spares callers a join back on event_id,
    the costliest step at 10M events).
-#}
{% macro journeys_by_session_gap(events) -%}
with session_less_events as (

    select
        event_id,
        user_id,
        event_at,
        lag(event_at) over (
            partition by user_id
            order by event_at, event_id
        ) as prev_event_at

    from {{ events }}
    where session_id is null

),

session_starts_flagged as (

    select
        event_id,
        user_id,
        event_at,
        case
            when prev_event_at is null then 1
            when event_at > {{ dbt.dateadd('minute', var('session_gap_minutes'), 'prev_event_at') }} then 1
            else 0
        end as starts_session

    from session_less_events

),

sessions_numbered as (

    select
        event_id,
        user_id,
        sum(starts_session) over (
            partition by user_id
            order by event_at, event_id
            rows between unbounded preceding and current row
        ) as auto_session_index

    from session_starts_flagged

),

auto_journeys as (

    select
        event_id,
        {{ dbt.concat([
            'user_id',
            "'-auto-'",
            'cast(auto_session_index as ' ~ dbt.type_string() ~ ')'
        ]) }} as auto_journey_id

    from sessions_numbered

)

select
    {{ events }}.*,
    coalesce({{ events }}.session_id, auto_journeys.auto_journey_id) as journey_id

from {{ events }}
left join auto_journeys
    on {{ events }}.event_id = auto_journeys.event_id
{%- endmacro %}
