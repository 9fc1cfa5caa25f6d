{#-
    No raw event is lost: raw events = accepted (stg_sessions__events) +
    quarantined (quarantine_events), and every accepted event reaches the
    canonical journey events (int_events_enriched). Returns a row per broken
    equation.
-#}

with

raw_events as (

    select count(*) as n_rows from {{ source('raw', 'events') }}

),

accepted as (

    select count(*) as n_rows from {{ ref('stg_sessions__events') }}

),

quarantined as (

    select count(*) as n_rows from {{ ref('quarantine_events') }}

),

enriched as (

    select count(*) as n_rows from {{ ref('int_events_enriched') }}

),

counts as (

    select
        raw_events.n_rows as raw_rows,
        accepted.n_rows as accepted_rows,
        quarantined.n_rows as quarantined_rows,
        enriched.n_rows as enriched_rows

    from raw_events
    cross join accepted
    cross join quarantined
    cross join enriched

)

select 'raw <> accepted + quarantined' as broken, * from counts
where raw_rows <> accepted_rows + quarantined_rows

union all

select 'accepted <> int_events_enriched' as broken, * from counts
where accepted_rows <> enriched_rows
