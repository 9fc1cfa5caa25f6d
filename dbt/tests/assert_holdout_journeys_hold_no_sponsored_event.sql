{#-
    The ad holdout is honest only if holdout users were shown no ad: fails on
    every sponsored event (anywhere in the journey, before or after
    conversion) of a user in the holdout arm of ad_experiment. Returns the
    offending events.

    It reads the events and the experiment; the meta below attaches it in
    Dagster as a check of fct_ad_experiment_journeys.
-#}

{{ config(
    severity='error',
    meta={'dagster': {'ref': {'name': 'fct_ad_experiment_journeys'}}}
) }}

with

journey_events as (

    select * from {{ ref('int_events_enriched') }}

),

experiment as (

    select * from {{ ref('stg_sessions__ad_experiment') }}

),

sponsored_events_in_holdout as (

    select
        journey_events.journey_id,
        journey_events.user_id,
        journey_events.event_id,
        journey_events.event_at,
        journey_events.event

    from journey_events
    inner join experiment
        on journey_events.user_id = experiment.user_id
    where experiment.arm = 'holdout'
        and journey_events.is_sponsored

)

select * from sponsored_events_in_holdout
