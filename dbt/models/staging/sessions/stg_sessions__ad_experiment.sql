{#-
    The randomized ad holdout, optional in the raw contract: where the
    raw.ad_experiment table does not exist, an empty relation with the same
    columns, so everything downstream builds (and holds no experiment).
-#}

{%- set raw_ad_experiment = source('raw', 'ad_experiment') -%}

with

source as (

    {{ source_or_empty(raw_ad_experiment, ['user_id', 'arm']) }}

),

renamed as (

    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(arm as {{ dbt.type_string() }}) as arm

    from source

)

select * from renamed
