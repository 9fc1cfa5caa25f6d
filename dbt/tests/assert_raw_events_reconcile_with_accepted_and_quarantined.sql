{#-
    No raw event is lost: raw events (raw.events plus the ad-funnel domain's
    impressions, clicks and purchases) = accepted (stg_sessions__events) +
    quarantined (quarantine_events), and every accepted event reaches the
    canonical journey events (int_events_enriched). Returns a row per broken
    equation. On a partitioned run it reconciles the run's dates (and the
    undated rows, which every run re-screens): raw rows whose event time parses
    into the window, as the screen parses it.
-#}

{%- set raw_tables = [
    (source('raw', 'events'), 'event_ts'),
    (source('raw_ad_funnel', 'impressions'), 'impression_ts'),
    (source('raw_ad_funnel', 'clicks'), 'click_ts'),
    (source('raw_ad_funnel', 'purchases'), 'purchase_ts'),
] -%}

with

raw_events as (

    select 0
    {%- for table, timestamp_column in raw_tables if relation_exists(table) %}
        + (select count(*) from {{ table }}
        {%- if is_partitioned_run() %}
            where {{ in_partition_window(
                safe_cast_timestamp('cast(' ~ timestamp_column ~ ' as ' ~ dbt.type_string() ~ ')'),
                or_undated=true
            ) }}
        {%- endif %})
    {%- endfor %} as n_rows

),

accepted as (

    select count(*) as n_rows from {{ ref('stg_sessions__events') }}
    where {{ in_partition_window('event_at') }}

),

quarantined as (

    select count(*) as n_rows from {{ ref('quarantine_events') }}
    where {{ in_partition_window('event_at', or_undated=true) }}

),

enriched as (

    select count(*) as n_rows from {{ ref('int_events_enriched') }}
    where {{ in_partition_window('event_at') }}

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
