{#-
    The honest training sequences: each journey cut at its conversion moment
    (cut_at_conversion) and every funnel event removed, positions re-ranked
    1..n and time deltas recomputed over the events kept.
-#}

with

events as (

    select * from {{ ref('int_events_enriched') }}

),

labels as (

    select * from {{ ref('int_journeys_labeled') }}

),

events_before_conversion as (

    {{ cut_at_conversion('events', 'labels') }}

),

sequence_events as (

    select * from events_before_conversion
    where not is_funnel_event

),

final as (

    {{ journey_sequence('sequence_events', 'non_funnel') }}

)

select * from final
