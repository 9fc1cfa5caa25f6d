{#-
    is_ghost_ad is optional in the raw contract: where raw.events lacks the
    column, every event reads as no ghost ad (false).
-#}

{%- set raw_events = source('raw', 'events') -%}

with

source as (

    select * from {{ raw_events }}

),

renamed as (

    select
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(session_id as {{ dbt.type_string() }}) as session_id,
        cast(event_ts as {{ dbt.type_timestamp() }}) as event_at,
        cast(event_type as {{ dbt.type_string() }}) as event_type,
        cast(event as {{ dbt.type_string() }}) as event,
        cast(discovery_feature as {{ dbt.type_string() }}) as discovery_feature,
        cast(store_id as {{ dbt.type_string() }}) as store_id,
        coalesce(cast(is_sponsored as {{ dbt.type_boolean() }}), false) as is_sponsored,
        coalesce(
            cast({{ column_or_default(raw_events, 'is_ghost_ad', 'null') }} as {{ dbt.type_boolean() }}),
            false
        ) as is_ghost_ad

    from source

)

select * from renamed
