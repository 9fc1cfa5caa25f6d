with

journeys as (

    select * from {{ ref('int_journeys_labeled') }}

),

final as (

    select
        cast(journey_id as {{ dbt.type_string() }}) as journey_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(split as {{ dbt.type_string() }}) as split,
        cast(journey_started_at as {{ dbt.type_timestamp() }}) as journey_started_at,
        cast(converted as {{ dbt.type_boolean() }}) as converted,
        cast(conversion_at as {{ dbt.type_timestamp() }}) as conversion_at,
        cast(n_events as {{ dbt.type_int() }}) as n_events

    from journeys

)

select * from final
