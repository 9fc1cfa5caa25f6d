{#-
    One row per store, plus the NO_STORE member that sequence events without a
    store point to.
-#}

with

stores as (

    select * from {{ ref('stg_sessions__stores') }}

),

no_store as (

    select
        'NO_STORE' as store_id,
        'NO_STORE' as store_name,
        'NO_STORE' as primary_tag_name,
        'NO_STORE' as primary_category_name,
        false as is_nv

),

unioned as (

    select store_id, store_name, primary_tag_name, primary_category_name, is_nv
    from stores

    union all

    select store_id, store_name, primary_tag_name, primary_category_name, is_nv
    from no_store

),

final as (

    select
        cast(store_id as {{ dbt.type_string() }}) as store_id,
        cast(store_name as {{ dbt.type_string() }}) as store_name,
        cast(primary_tag_name as {{ dbt.type_string() }}) as primary_tag_name,
        cast(primary_category_name as {{ dbt.type_string() }}) as primary_category_name,
        cast(coalesce(is_nv, false) as {{ dbt.type_boolean() }}) as is_nv

    from unioned

)

select * from final
