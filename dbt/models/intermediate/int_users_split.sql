{#-
    Users, never events or journeys, are split: every journey of a user lands in
    the same split. A user the optional user_splits table names keeps that
    split (a published split to compare against); every other user's bucket =
    hash_to_bucket(user_id, 100): the last split_test_pct buckets are test, the
    split_validation_pct before them validation, the rest train.
-#}

{%- set test_from = 100 - var('split_test_pct') -%}
{%- set validation_from = test_from - var('split_validation_pct') -%}

with

events as (

    select * from {{ ref('stg_sessions__events') }}

),

pinned_splits as (

    select * from {{ ref('stg_sessions__user_splits') }}

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
        bucketed.user_id,
        cast(bucketed.split_bucket as {{ dbt.type_int() }}) as split_bucket,
        pinned_splits.split is not null as is_split_pinned,
        case
            when pinned_splits.split is not null then pinned_splits.split
            when bucketed.split_bucket >= {{ test_from }} then 'test'
            when bucketed.split_bucket >= {{ validation_from }} then 'validation'
            else 'train'
        end as split

    from bucketed
    left join pinned_splits
        on bucketed.user_id = pinned_splits.user_id

)

select * from final
