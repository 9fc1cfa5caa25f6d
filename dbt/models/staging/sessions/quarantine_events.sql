{#-
    The raw events that break the contract row by row, never silently dropped:
    the raw table it came from (source_table: events, impressions, clicks or
    purchases), every raw column as text (ad-funnel rows in their canonical
    event form, see stg_ad_funnel__events), the reason (see stg_sessions__events_screened
    for the rules) and event_at, the parsed event time (null when event_ts is null
    or does not parse): its date is the partition that screened the row. Raw events
    = accepted (stg_sessions__events) + these rows. A view, so it follows the
    incremental screen and reads the same on every re-run.
-#}

{{ config(materialized='view') }}

with

screened as (

    select * from {{ ref('stg_sessions__events_screened') }}

),

final as (

    select
        source_table,
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
        event_at

    from screened
    where quarantine_reason is not null

)

select * from final
