{#-
    What the Great Expectations leakage guard validates: every row of
    fct_journey_sequences_no_funnel (s.*, so a column anyone adds to the table
    shows up here) with its journey's conversion_at. A leak-free table has no
    row with event_at >= conversion_at and no funnel event.
-#}

{{ config(materialized='view') }}

with

sequences as (

    select * from {{ ref('fct_journey_sequences_no_funnel') }}

),

labels as (

    select * from {{ ref('fct_journey_labels') }}

),

final as (

    select
        s.*,
        labels.conversion_at

    from sequences as s
    left join labels
        on s.journey_id = labels.journey_id

)

select * from final
