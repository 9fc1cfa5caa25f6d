{#-
    The seeds' way, kept to show what it misses: funnel events removed but NO
    cut at the conversion moment, so what a user does after ordering (opening
    the orders tab, browsing on) stays in the sequence and looks like a driver.
    A leakage comparison; never promoted.
-#}

with

events as (

    select * from {{ ref('int_events_enriched') }}

),

sequence_events as (

    select * from events
    where not is_funnel_event

),

final as (

    {{ journey_sequence('sequence_events', 'non_funnel') }}

)

select * from final
