{#-
    The randomized ad holdout, optional in the raw contract: where the
    raw.ad_experiment table does not exist, an empty relation with the same
    columns, so everything downstream builds (and holds no experiment).
-#}

{%- set raw_ad_experiment = source('raw', 'ad_experiment') -%}

with

{% if relation_exists(raw_ad_experiment) -%}

source as (

    select * from {{ raw_ad_experiment }}

),

{%- else -%}

source as (

    select
        cast(null as {{ dbt.type_string() }}) as user_id,
        cast(null as {{ dbt.type_string() }}) as arm

    from (select 1 as placeholder) as no_rows
    where 1 = 0

),

{%- endif %}

renamed as (

    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(arm as {{ dbt.type_string() }}) as arm

    from source

)

select * from renamed
