{#-
    Every raw event once, with the reason it is quarantined (null when it is
    accepted): the one place the row-level rules of the raw contract live.
    Both domains are screened here: raw.events (sessions domain) and the
    ad-funnel tables as canonical events (stg_ad_funnel__events); either may be
    absent. source_table names the raw table a row came from.
    Raw columns are kept as text (what quarantine_events shows); event_ts and
    the booleans are parsed with a safe cast, so a value that does not parse
    is quarantined instead of failing the build.

    Rules, first match wins (a row gets one reason, so raw rows = accepted +
    quarantined):
      null_key                      event_id or user_id is null
      null_product_id               an ad-funnel row (impression, click, purchase) without product_id
      null_event                    event_type or event is null
      null_event_ts                 event_ts is null
      unparseable_event_ts          event_ts does not parse as a timestamp
      future_event_ts               event_ts later than the build time (UTC)
      unknown_auction_id            an impression whose auction_id is not in auctions_users
      unknown_impression_id         a click whose impression_id is not in impressions
      unparseable_is_sponsored      is_sponsored not boolean-like (null is fine: false)
      unparseable_is_ghost_ad       the same for the optional is_ghost_ad
      event_not_in_allow_list       event outside var event_allow_list (when not empty)
      event_type_not_in_allow_list  event_type outside var event_type_allow_list (when not empty)
      unknown_store_id              store_id not null and missing from dimension_store (and not
                                    an ad-funnel product)
      duplicate_event_id            a later copy of an event_id among the rows passing the
                                    rules above (the first by event_at, then by its other
                                    values, is kept)
      session_too_long              the event's journey (session_id, or the session-gap
                                    sessionization of session-less events) holds more than
                                    var max_session_events of the rows passing the rules above

    Incremental by event date (macros/partition_window.sql): a partitioned run
    deletes and re-screens the raw rows dated in its window plus every undated
    row (null or unparseable event_ts: they belong to no date). The set rules
    then also read what earlier runs screened on other dates, never rewriting
    it: an event_id already accepted on another date wins over a copy in the
    window (processed in date order, that is the earliest copy, as in a full
    build), and a session crossing midnight is counted whole for the cap (its
    earlier days' rows stay as screened then: only the window's rows of an
    over-long session are quarantined). Without partition vars the table is
    rebuilt whole, every rule over every row.
-#}

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=not is_partitioned_run(),
    pre_hook="{{ delete_partition_rows(this, 'event_at', or_undated=true) }}"
) }}

{%- set raw_events = source('raw', 'events') -%}
{%- set raw_stores = source('raw', 'dimension_store') -%}
{%- set event_allow_list = var('event_allow_list') or [] -%}
{%- set event_type_allow_list = var('event_type_allow_list') or [] -%}
{%- set text = dbt.type_string() -%}

with

sessions_events as (

    {% if relation_exists(raw_events) -%}
    select
        'events' as source_table,
        cast(event_id as {{ text }}) as event_id,
        cast(user_id as {{ text }}) as user_id,
        cast(session_id as {{ text }}) as session_id,
        cast(event_ts as {{ text }}) as event_ts,
        cast(event_type as {{ text }}) as event_type,
        cast(event as {{ text }}) as event,
        cast(discovery_feature as {{ text }}) as discovery_feature,
        cast(store_id as {{ text }}) as store_id,
        cast(is_sponsored as {{ text }}) as is_sponsored,
        cast({{ column_or_default(raw_events, 'is_ghost_ad', 'null') }} as {{ text }}) as is_ghost_ad,
        cast(null as {{ text }}) as broken_reference
    from {{ raw_events }}
    {%- else -%}
    select * from {{ ref('stg_ad_funnel__events') }}
    where 1 = 0
    {%- endif %}

),

source as (

    select * from sessions_events
    union all
    select * from {{ ref('stg_ad_funnel__events') }}

),

stores as (

    {% if relation_exists(raw_stores) -%}
    select distinct cast(store_id as {{ text }}) as store_id
    from {{ raw_stores }}
    where store_id is not null

    union

    {% endif -%}
    select store_id from {{ ref('stg_ad_funnel__products') }}

),

as_text as (

    select
        source_table,
        event_id,
        user_id,
        session_id,
        event_ts,
        event_type,
        event,
        discovery_feature,
        store_id,
        is_sponsored,
        is_ghost_ad,
        broken_reference,
        {{ safe_cast_timestamp('event_ts') }} as event_at,
        {{ safe_cast_boolean('is_sponsored') }} as parsed_is_sponsored,
        {{ safe_cast_boolean('is_ghost_ad') }} as parsed_is_ghost_ad,
        0 as is_screened_before

    from source

),

row_checked as (

    select
        as_text.*,
        case
            when as_text.event_id is null or as_text.user_id is null then 'null_key'
            when as_text.source_table <> 'events' and as_text.store_id is null then 'null_product_id'
            when as_text.event_type is null or as_text.event is null then 'null_event'
            when as_text.event_ts is null then 'null_event_ts'
            when as_text.event_at is null then 'unparseable_event_ts'
            when as_text.event_at > {{ utc_now() }} then 'future_event_ts'
            when as_text.broken_reference is not null then as_text.broken_reference
            when as_text.is_sponsored is not null and as_text.parsed_is_sponsored is null
                then 'unparseable_is_sponsored'
            when as_text.is_ghost_ad is not null and as_text.parsed_is_ghost_ad is null
                then 'unparseable_is_ghost_ad'
            {%- if event_allow_list %}
            when as_text.event not in ({{ sql_string_list(event_allow_list) }}) then 'event_not_in_allow_list'
            {%- endif %}
            {%- if event_type_allow_list %}
            when as_text.event_type not in ({{ sql_string_list(event_type_allow_list) }})
                then 'event_type_not_in_allow_list'
            {%- endif %}
            when as_text.store_id is not null and stores.store_id is null then 'unknown_store_id'
        end as row_reason

    from as_text
    left join stores
        on as_text.store_id = stores.store_id
    {%- if is_partitioned_run() %}
    where {{ in_partition_window('as_text.event_at', or_undated=true) }}
    {%- endif %}

),

{%- set columns = [
    'source_table', 'event_id', 'user_id', 'session_id', 'event_ts', 'event_type', 'event', 'discovery_feature',
    'store_id', 'is_sponsored', 'is_ghost_ad', 'event_at', 'parsed_is_sponsored', 'parsed_is_ghost_ad'
] %}

rows_to_check as {{ cte_not_materialized() }} (

    select {{ columns | join(', ') }}, is_screened_before
    from row_checked
    where row_reason is null
    {%- if is_partitioned_run() and is_incremental() %}

    union all

    -- Rows of other dates that earlier runs accepted (or quarantined only for their
    -- session's length), of the window's users or event_ids: they take part in the set
    -- rules below but are not written again.
    select {{ columns | join(', ') }}, 1 as is_screened_before
    from {{ this }}
    where (quarantine_reason is null or quarantine_reason = 'session_too_long')
        and not {{ in_partition_window('event_at') }}
        and (
            user_id in (select user_id from row_checked where row_reason is null)
            or event_id in (select event_id from row_checked where row_reason is null)
        )
    {%- endif %}

),

duplicated_event_ids as (

    select event_id
    from rows_to_check
    group by event_id
    having count(*) > 1

),

{#- Copies are ranked only where an event_id repeats (a unique one is its own first
    copy): a window over every event_id was the costliest step at 10M events. #}
rows_passing as {{ cte_not_materialized() }} (

    select
        rows_to_check.*,
        1 as event_id_occurrence

    from rows_to_check
    left join duplicated_event_ids
        on rows_to_check.event_id = duplicated_event_ids.event_id
    where duplicated_event_ids.event_id is null

    union all

    select
        rows_to_check.*,
        row_number() over (
            partition by rows_to_check.event_id
            order by is_screened_before desc, event_at, user_id, session_id, event_type, event,
                discovery_feature, store_id, is_sponsored, is_ghost_ad
        ) as event_id_occurrence

    from rows_to_check
    inner join duplicated_event_ids
        on rows_to_check.event_id = duplicated_event_ids.event_id

),

first_occurrences as (

    select event_id, user_id, session_id, event_at
    from rows_passing
    where event_id_occurrence = 1

),

journeys as (

    {{ journeys_by_session_gap('first_occurrences') }}

),

{#- The cap is checked on the narrow keys above; the rows it hits (usually none) are
    matched back, so the wide rows are never carried through the sessionization. #}
events_of_long_journeys as (

    select journeys.event_id
    from journeys
    where journeys.journey_id in (
        select journey_id
        from journeys
        group by journey_id
        having count(*) > {{ var('max_session_events') }}
    )

),

set_checked as (

    select
        rows_passing.*,
        case
            when rows_passing.event_id_occurrence > 1 then 'duplicate_event_id'
            when events_of_long_journeys.event_id is not null then 'session_too_long'
        end as quarantine_reason

    from rows_passing
    left join events_of_long_journeys
        on rows_passing.event_id = events_of_long_journeys.event_id
        and rows_passing.event_id_occurrence = 1
    where rows_passing.is_screened_before = 0

),

final as (

    select {{ columns | join(', ') }}, row_reason as quarantine_reason
    from row_checked
    where row_reason is not null

    union all

    select {{ columns | join(', ') }}, quarantine_reason
    from set_checked

)

select * from final
