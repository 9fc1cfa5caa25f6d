{#-
    Leakage guard 2 (temporal): no event of fct_journey_sequences_no_funnel at
    or after its journey's conversion moment, recomputed here from the journey
    events' conversion flags rather than read from the labels, so the check
    does not trust the model it guards. Returns the offending rows.

    It reads two models; the meta below attaches it in Dagster as a check of
    fct_journey_sequences_no_funnel.
-#}

{{ config(
    severity='error',
    meta={'dagster': {'ref': {'name': 'fct_journey_sequences_no_funnel'}}}
) }}

with

sequences as (

    select * from {{ ref('fct_journey_sequences_no_funnel') }}

),

journey_events as (

    select * from {{ ref('int_events_enriched') }}

),

conversions as (

    select
        journey_id,
        min(event_at) as conversion_at

    from journey_events
    where event in ({{ sql_string_list(var('conversion_events')) }})
    group by journey_id

),

events_at_or_after_conversion as (

    select
        sequences.journey_id,
        sequences.position,
        sequences.event_id,
        sequences.event_at,
        sequences.event,
        conversions.conversion_at

    from sequences
    inner join conversions
        on sequences.journey_id = conversions.journey_id
    where sequences.event_at >= conversions.conversion_at

)

select * from events_at_or_after_conversion
