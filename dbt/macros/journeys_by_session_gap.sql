{#-
    The journey of every event, written once: its session_id where the app
    recorded one. An event without session_id (logging drops a few of every
    session) joins the same user's recorded session whose span, widened by
    `session_gap_minutes` on both sides, holds it (the nearest such span, then
    the smallest session_id, when several do), so a converted session keeps its
    order event and its post-order browsing. Only the session-less events that
    fall in no session are split by `session_gap_minutes` of inactivity (a gap
    strictly longer starts a new journey) and numbered per user (<user_id>-auto-1,
    -auto-2, ...), deterministically. `events` names a CTE with unique event_id,
    user_id, session_id and event_at; renders a select of its every column plus
    journey_id and is_session_reattached (true for an event without session_id
    that joined a recorded session). Carrying the columns spares callers a join
    back on event_id, the costliest step at 10M events.
-#}
{% macro journeys_by_session_gap(events) -%}
with recorded_sessions as (

    select
        user_id,
        session_id,
        {{ dbt.dateadd('minute', -var('session_gap_minutes'), 'min(event_at)') }} as reach_from,
        {{ dbt.dateadd('minute', var('session_gap_minutes'), 'max(event_at)') }} as reach_to,
        min(event_at) as started_at,
        max(event_at) as ended_at

    from {{ events }}
    where session_id is not null
    group by user_id, session_id

),

orphan_matches as (

    select
        orphans.event_id,
        recorded_sessions.session_id,
        row_number() over (
            partition by orphans.event_id
            order by
                case
                    when orphans.event_at < recorded_sessions.started_at
                        then {{ seconds_between('orphans.event_at', 'recorded_sessions.started_at') }}
                    when orphans.event_at > recorded_sessions.ended_at
                        then {{ seconds_between('recorded_sessions.ended_at', 'orphans.event_at') }}
                    else 0
                end,
                recorded_sessions.session_id
        ) as match_rank

    from {{ events }} as orphans
    inner join recorded_sessions
        on orphans.user_id = recorded_sessions.user_id
        and orphans.event_at >= recorded_sessions.reach_from
        and orphans.event_at <= recorded_sessions.reach_to
    where orphans.session_id is null

),

reattached as (

    select event_id, session_id as reattached_session_id
    from orphan_matches
    where match_rank = 1

),

session_less_events as (

    select
        events_without_session.event_id,
        events_without_session.user_id,
        events_without_session.event_at,
        lag(events_without_session.event_at) over (
            partition by events_without_session.user_id
            order by events_without_session.event_at, events_without_session.event_id
        ) as prev_event_at

    from {{ events }} as events_without_session
    left join reattached
        on events_without_session.event_id = reattached.event_id
    where events_without_session.session_id is null
        and reattached.event_id is null

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
    coalesce(
        {{ events }}.session_id, reattached.reattached_session_id, auto_journeys.auto_journey_id
    ) as journey_id,
    reattached.event_id is not null as is_session_reattached

from {{ events }}
left join reattached
    on {{ events }}.event_id = reattached.event_id
left join auto_journeys
    on {{ events }}.event_id = auto_journeys.event_id
{%- endmacro %}
