{#-
    The ad-funnel domain's products as rows of the store dimension: in that
    domain the advertised product plays the store (stg_ad_funnel__events maps
    product_id to store_id), so store attribution reads as product attribution.
-#}

with

events as (

    select * from {{ ref('stg_ad_funnel__events') }}

),

products as (

    select distinct store_id as product_id
    from events
    where store_id is not null

),

final as (

    select
        product_id as store_id,
        product_id as store_name,
        'sponsored_product' as primary_tag_name,
        'sponsored_product' as primary_category_name,
        false as is_nv

    from products

)

select * from final
