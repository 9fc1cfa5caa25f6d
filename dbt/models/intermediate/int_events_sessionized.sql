{#-
    Every event gets a journey_id (macro journeys_by_session_gap): its
    session_id where the app recorded one; an event without one joins the
    user's recorded session whose span, widened by `session_gap_minutes`, holds
    it (is_session_reattached); the rest of the user's session-less events are
    split by `session_gap_minutes` of inactivity and numbered per user
    (<user_id>-auto-1, -auto-2, ...), deterministically.

    Incremental (macros/partition_window.sql): a partitioned run sessionizes
    the whole accepted history of the users active on its dates (a user's
    journeys are numbered over all of it) and writes every journey with an
    event in the window, whole, so a journey crossing midnight is re-derived
    with its earlier day's events.
-#}

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='event_id',
    full_refresh=not is_partitioned_run(),
    pre_hook="{{ delete_partition_rows(this, 'event_at') }}"
) }}

with

events as {{ cte_not_materialized() }} (

    select * from {{ ref('stg_sessions__events') }}
    {%- if is_partitioned_run() %}
    where user_id in (
        select user_id from {{ ref('stg_sessions__events') }}
        where {{ in_partition_window('event_at') }}
    )
    {%- endif %}

),

journeys as (

    {{ journeys_by_session_gap('events') }}

),

final as (

    select
        event_id,
        journey_id,
        user_id,
        session_id,
        event_at,
        event_type,
        event,
        discovery_feature,
        store_id,
        is_sponsored,
        is_ghost_ad,
        is_session_reattached

    from journeys

),

journeys_in_partition as (

    {{ select_journeys_in_partition('final') }}

)

select * from journeys_in_partition
