with

source as (

    select * from {{ source('raw', 'dimension_store') }}

),

renamed as (

    select
        cast(store_id as {{ dbt.type_string() }}) as store_id,
        cast(store_name as {{ dbt.type_string() }}) as store_name,
        cast(primary_tag_name as {{ dbt.type_string() }}) as primary_tag_name,
        cast(primary_category_name as {{ dbt.type_string() }}) as primary_category_name,
        cast(is_nv as {{ dbt.type_boolean() }}) as is_nv

    from source

)

select * from renamed
