{#-
    The store dimension: raw.dimension_store (sessions domain; optional when
    the source brings only the ad-funnel domain) and the ad-funnel products,
    which play the store there (stg_ad_funnel__products).
-#}

{%- set raw_stores = source('raw', 'dimension_store') -%}

with

source as (

    {{ source_or_empty(raw_stores, ['store_id', 'store_name', 'primary_tag_name', 'primary_category_name', 'is_nv']) }}

),

products as (

    select * from {{ ref('stg_ad_funnel__products') }}

),

renamed as (

    select
        cast(store_id as {{ dbt.type_string() }}) as store_id,
        cast(store_name as {{ dbt.type_string() }}) as store_name,
        cast(primary_tag_name as {{ dbt.type_string() }}) as primary_tag_name,
        cast(primary_category_name as {{ dbt.type_string() }}) as primary_category_name,
        cast(is_nv as {{ dbt.type_boolean() }}) as is_nv

    from source

    union all

    select store_id, store_name, primary_tag_name, primary_category_name, is_nv
    from products

)

select * from renamed
