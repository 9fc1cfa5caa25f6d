{#-
    Users pinned to a split, optional in the raw contract and serving either
    domain: where raw.user_splits does not exist, an empty relation with the
    same columns, so every user is split by the hash.
-#}

{%- set raw_user_splits = source('raw', 'user_splits') -%}

with

source as (

    {{ source_or_empty(raw_user_splits, ['user_id', 'split']) }}

),

renamed as (

    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        lower(trim(cast(split as {{ dbt.type_string() }}))) as split

    from source

)

select * from renamed
