{#-
    Leakage guard 4: users, not events or journeys, are split. Fails when a
    user's journeys sit in more than one of train / validation / test.
-#}

{{ config(severity='error') }}

with

journeys as (

    select * from {{ ref('fct_journey_labels') }}

),

users_in_several_splits as (

    select
        user_id,
        count(distinct split) as n_splits

    from journeys
    group by user_id
    having count(distinct split) > 1

)

select * from users_in_several_splits
