{#-
    The raw events that break the contract row by row, never silently dropped:
    every raw column as text, the reason (see stg_sessions__events_screened
    for the rules) and when the build quarantined it. Raw events = accepted
    (stg_sessions__events) + these rows.
-#}

{{ config(materialized='table') }}

with

screened as (

    select * from {{ ref('stg_sessions__events_screened') }}

),

final as (

    select
        event_id,
        user_id,
        session_id,
        event_ts,
        event_type,
        event,
        discovery_feature,
        store_id,
        is_sponsored,
        is_ghost_ad,
        cast(quarantine_reason as {{ dbt.type_string() }}) as reason,
        {{ utc_now() }} as quarantined_at

    from screened
    where quarantine_reason is not null

)

select * from final
