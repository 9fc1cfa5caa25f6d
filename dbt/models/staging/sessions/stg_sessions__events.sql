{#-
    The accepted raw events (stg_sessions__events_screened without a
    quarantine reason), renamed and typed; one row per event. A null
    is_sponsored or is_ghost_ad (or a raw table without the optional
    is_ghost_ad column) reads as false.
-#}

with

screened as (

    select * from {{ ref('stg_sessions__events_screened') }}

),

accepted as (

    select * from screened
    where quarantine_reason is null

),

renamed as (

    select
        event_id,
        user_id,
        session_id,
        event_at,
        event_type,
        event,
        discovery_feature,
        store_id,
        coalesce(parsed_is_sponsored, false) as is_sponsored,
        coalesce(parsed_is_ghost_ad, false) as is_ghost_ad

    from accepted

)

select * from renamed
