{#-
    Users, never events or journeys, are split: every journey of a user lands in
    the same split. Bucket = hash_to_bucket(user_id, 100); the last
    split_test_pct buckets are test, the split_validation_pct before them
    validation, the rest train.
-#}

{%- set test_from = 100 - var('split_test_pct') -%}
{%- set validation_from = test_from - var('split_validation_pct') -%}

with

events as (

    select * from {{ ref('stg_sessions__events') }}

),

users as (

    select distinct user_id
    from events

),

bucketed as (

    select
        user_id,
        {{ hash_to_bucket('user_id', 100) }} as split_bucket

    from users

),

final as (

    select
        user_id,
        cast(split_bucket as {{ dbt.type_int() }}) as split_bucket,
        case
            when split_bucket >= {{ test_from }} then 'test'
            when split_bucket >= {{ validation_from }} then 'validation'
            else 'train'
        end as split

    from bucketed

)

select * from final
