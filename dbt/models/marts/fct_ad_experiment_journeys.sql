{#-
    The randomized ad holdout at the journey grain: one row per journey of a
    user in the experiment (users outside ad_experiment have no rows; no rows
    at all when the optional table is absent). Exposure is read on the events
    strictly before the conversion moment (cut_at_conversion), the same cut
    the sequence marts use: a treatment journey is exposed when that cut holds
    a sponsored event, a holdout journey when it holds a ghost ad, the organic
    card shown where a sponsored one would have been. Exposed treatment vs
    ghost-exposed holdout journeys is the experiment's contrast.
-#}

with

events as (

    select * from {{ ref('int_events_enriched') }}

),

labels as (

    select * from {{ ref('int_journeys_labeled') }}

),

experiment as (

    select * from {{ ref('stg_sessions__ad_experiment') }}

),

events_before_conversion as (

    {{ cut_at_conversion('events', 'labels') }}

),

ad_slots_by_journey as (

    select
        journey_id,
        sum(case when is_sponsored then 1 else 0 end) as n_sponsored_events,
        sum(case when is_ghost_ad then 1 else 0 end) as n_ghost_ad_events

    from events_before_conversion
    group by journey_id

),

experiment_journeys as (

    select
        labels.journey_id,
        labels.user_id,
        labels.split,
        experiment.arm,
        case experiment.arm
            when 'treatment' then coalesce(ad_slots_by_journey.n_sponsored_events, 0)
            when 'holdout' then coalesce(ad_slots_by_journey.n_ghost_ad_events, 0)
        end as n_ad_slots,
        labels.converted

    from labels
    inner join experiment
        on labels.user_id = experiment.user_id
    left join ad_slots_by_journey
        on labels.journey_id = ad_slots_by_journey.journey_id

),

final as (

    select
        cast(journey_id as {{ dbt.type_string() }}) as journey_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(split as {{ dbt.type_string() }}) as split,
        cast(arm as {{ dbt.type_string() }}) as arm,
        cast(n_ad_slots > 0 as {{ dbt.type_boolean() }}) as is_exposed,
        cast(n_ad_slots as {{ dbt.type_int() }}) as n_ad_slots,
        cast(converted as {{ dbt.type_boolean() }}) as converted

    from experiment_journeys

)

select * from final
