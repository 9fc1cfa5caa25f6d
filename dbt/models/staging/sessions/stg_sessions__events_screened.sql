{#-
    Every raw event once, with the reason it is quarantined (null when it is
    accepted): the one place the row-level rules of the raw contract live.
    Raw columns are kept as text (what quarantine_events shows); event_ts and
    the booleans are parsed with a safe cast, so a value that does not parse
    is quarantined instead of failing the build.

    Rules, first match wins (a row gets one reason, so raw rows = accepted +
    quarantined):
      null_key                      event_id or user_id is null
      null_event                    event_type or event is null
      null_event_ts                 event_ts is null
      unparseable_event_ts          event_ts does not parse as a timestamp
      future_event_ts               event_ts later than the build time (UTC)
      unparseable_is_sponsored      is_sponsored not boolean-like (null is fine: false)
      unparseable_is_ghost_ad       the same for the optional is_ghost_ad
      event_not_in_allow_list       event outside var event_allow_list (when not empty)
      event_type_not_in_allow_list  event_type outside var event_type_allow_list (when not empty)
      unknown_store_id              store_id not null and missing from dimension_store
      duplicate_event_id            a later copy of an event_id among the rows passing the
                                    rules above (the first by event_at, then by its other
                                    values, is kept)
      session_too_long              the event's journey (session_id, or the session-gap
                                    sessionization of session-less events) holds more than
                                    var max_session_events of the rows passing the rules above
-#}

{{ config(materialized='table') }}

{%- set raw_events = source('raw', 'events') -%}
{%- set event_allow_list = var('event_allow_list') or [] -%}
{%- set event_type_allow_list = var('event_type_allow_list') or [] -%}
{%- set text = dbt.type_string() -%}

with

source as (

    select * from {{ raw_events }}

),

stores as (

    select distinct cast(store_id as {{ text }}) as store_id
    from {{ source('raw', 'dimension_store') }}
    where store_id is not null

),

as_text as (

    select
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
        {{ safe_cast_timestamp('event_ts') }} as event_at,
        {{ safe_cast_boolean('is_sponsored') }} as parsed_is_sponsored,
        {{ safe_cast_boolean(column_or_default(raw_events, 'is_ghost_ad', 'null')) }} as parsed_is_ghost_ad

    from source

),

row_checked as (

    select
        as_text.*,
        case
            when as_text.event_id is null or as_text.user_id is null then 'null_key'
            when as_text.event_type is null or as_text.event is null then 'null_event'
            when as_text.event_ts is null then 'null_event_ts'
            when as_text.event_at is null then 'unparseable_event_ts'
            when as_text.event_at > {{ utc_now() }} then 'future_event_ts'
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

),

rows_passing as (

    select
        *,
        row_number() over (
            partition by event_id
            order by event_at, user_id, session_id, event_type, event, discovery_feature, store_id,
                is_sponsored, is_ghost_ad
        ) as event_id_occurrence

    from row_checked
    where row_reason is null

),

first_occurrences as (

    select * from rows_passing
    where event_id_occurrence = 1

),

journeys as (

    {{ journeys_by_session_gap('first_occurrences') }}

),

journey_sizes as (

    select
        event_id,
        count(*) over (partition by journey_id) as journey_events

    from journeys

),

set_checked as (

    select
        rows_passing.*,
        case
            when rows_passing.event_id_occurrence > 1 then 'duplicate_event_id'
            when journey_sizes.journey_events > {{ var('max_session_events') }} then 'session_too_long'
        end as quarantine_reason

    from rows_passing
    left join journey_sizes
        on rows_passing.event_id = journey_sizes.event_id
        and rows_passing.event_id_occurrence = 1

),

{%- set columns = [
    'event_id', 'user_id', 'session_id', 'event_ts', 'event_type', 'event', 'discovery_feature',
    'store_id', 'is_sponsored', 'is_ghost_ad', 'event_at', 'parsed_is_sponsored', 'parsed_is_ghost_ad'
] %}

final as (

    select {{ columns | join(', ') }}, row_reason as quarantine_reason
    from row_checked
    where row_reason is not null

    union all

    select {{ columns | join(', ') }}, quarantine_reason
    from set_checked

)

select * from final
