{#-
    The leakage comparison: each journey cut at its conversion moment
    (cut_at_conversion) but funnel events kept, positions re-ranked 1..n and
    time deltas recomputed over the events kept. Never promoted.
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

final as (

    {{ journey_sequence('events_before_conversion', 'journey') }}

)

select * from final
