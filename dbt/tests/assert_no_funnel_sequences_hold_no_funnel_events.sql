{#-
    Leakage guard 1: fct_journey_sequences_no_funnel must hold no funnel event,
    by type (funnel_event_type var) or by name (funnel_events var).
    Returns the offending rows; any row fails the test.
-#}

{{ config(severity='error') }}

with

sequences as (

    select * from {{ ref('fct_journey_sequences_no_funnel') }}

),

funnel_events as (

    select
        journey_id,
        position,
        event_id,
        event_at,
        event_type,
        event

    from sequences
    where event_type = '{{ var("funnel_event_type") }}'
        or event in ({{ sql_string_list(var('funnel_events')) }})

)

select * from funnel_events
