{#-
    The canonical journey events: sessionized and ranked events with their
    user's split, store metadata joined, NO_STORE / NO_FEATURE filled, and the
    funnel and conversion flags from the project vars. is_ghost_ad rides along
    for the ad experiment mart; it is not a feature (the sequence marts leave
    it out). Incremental: a partitioned run rewrites every journey with an
    event in the window, whole (macros/partition_window.sql).
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

    {{ select_journeys_in_partition(ref('int_events_ranked'), ref('int_events_sessionized')) }}

),

stores as (

    select * from {{ ref('stg_sessions__stores') }}

),

users_split as (

    select * from {{ ref('int_users_split') }}

),

joined as (

    select
        events.event_id,
        events.journey_id,
        events.user_id,
        users_split.split,
        events.session_id,
        events.event_rank,
        events.event_at,
        events.seconds_since_prev,
        events.non_funnel_rank,
        events.seconds_since_prev_non_funnel,
        events.event_type,
        events.event,
        events.discovery_feature,
        events.store_id,
        stores.store_name,
        stores.primary_tag_name,
        stores.primary_category_name,
        stores.is_nv,
        events.is_sponsored,
        events.is_ghost_ad

    from events
    left join stores
        on events.store_id = stores.store_id
    left join users_split
        on events.user_id = users_split.user_id

),

filled as (

    select
        event_id,
        journey_id,
        user_id,
        split,
        session_id,
        event_rank,
        event_at,
        seconds_since_prev,
        non_funnel_rank,
        seconds_since_prev_non_funnel,
        event_type,
        event,
        coalesce(discovery_feature, 'NO_FEATURE') as discovery_feature,
        coalesce(store_id, 'NO_STORE') as store_id,
        coalesce(store_name, 'NO_STORE') as store_name,
        coalesce(primary_tag_name, 'NO_STORE') as primary_tag_name,
        coalesce(primary_category_name, 'NO_STORE') as primary_category_name,
        coalesce(is_nv, false) as is_nv,
        is_sponsored,
        is_ghost_ad

    from joined

),

final as (

    select
        *,
        {{ is_funnel_event('event_type', 'event') }} as is_funnel_event,
        {{ is_conversion_event('event') }} as is_conversion_event

    from filled

)

select * from final
