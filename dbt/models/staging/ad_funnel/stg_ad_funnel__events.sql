{#-
    The ad-funnel domain (design.md) as canonical raw events, one row per raw
    impression, click and purchase, every column as text like raw.events, so
    stg_sessions__events_screened screens both domains with the same rules.

    Mapping:
      impression  event_type ad_impression, event impression:<placement>, sponsored
      click       event_type ad_click, event click:<placement> (the clicked
                  impression's placement), sponsored
      purchase    event_type funnel, event purchase (a conversion event)
      product_id  plays store_id (stg_ad_funnel__products is its dimension);
      the auction's placement is the discovery_feature. Auctions are not events:
      they only give impressions their placement (a lost auction shows nothing).

    Journeys (session_id): one user x product; a new journey starts at the
    pair's first event, after a purchase (a purchase closes its journey), and
    after a gap longer than var attribution_window_days. session_id is
    <user_id>|<product_id>|<journey number>; null where the row has no parseable
    time, user or product (the screening quarantines those rows anyway).
    Where the data already groups its rows into journeys (an attribution
    system's conversion id, a published preprocessing), impressions, clicks
    and purchases may carry the optional column journey_id: a row with one
    belongs to <user_id>|<journey_id>, as given, and the rows without one
    are grouped as above among themselves.

    broken_reference names a row's dangling id (a click whose impression_id, or
    an impression whose auction_id, is not in its table): the screening
    quarantines it with that reason.
-#}

{%- set text = dbt.type_string() -%}
{%- set window_seconds = var('attribution_window_days') * 86400 -%}
{%- set no_journey_id = 'cast(null as ' ~ text ~ ')' -%}
{%- set raw_impressions = source('raw_ad_funnel', 'impressions') -%}
{%- set raw_clicks = source('raw_ad_funnel', 'clicks') -%}
{%- set raw_purchases = source('raw_ad_funnel', 'purchases') -%}

with

auctions_source as (

    {{ source_or_empty(source('raw_ad_funnel', 'auctions_users'), ['auction_id', 'user_id', 'auction_ts', 'placement']) }}

),

impressions_source as (

    {{ source_or_empty(raw_impressions, ['impression_id', 'auction_id', 'user_id', 'product_id', 'impression_ts']) }}

),

clicks_source as (

    {{ source_or_empty(raw_clicks, ['click_id', 'impression_id', 'user_id', 'product_id', 'click_ts']) }}

),

purchases_source as (

    {{ source_or_empty(raw_purchases, ['purchase_id', 'user_id', 'product_id', 'purchase_ts', 'revenue']) }}

),

-- One placement per auction and per impression, so the joins below never fan out.
auction_placements as (

    select
        cast(auction_id as {{ text }}) as auction_id,
        min(cast(placement as {{ text }})) as placement

    from auctions_source
    group by 1

),

impression_placements as (

    select
        cast(impressions_source.impression_id as {{ text }}) as impression_id,
        min(auction_placements.placement) as placement

    from impressions_source
    left join auction_placements
        on cast(impressions_source.auction_id as {{ text }}) = auction_placements.auction_id
    group by 1

),

impressions as (

    select
        'impressions' as source_table,
        cast(impressions_source.impression_id as {{ text }}) as source_id,
        cast(impressions_source.user_id as {{ text }}) as user_id,
        cast(impressions_source.product_id as {{ text }}) as product_id,
        cast(impressions_source.impression_ts as {{ text }}) as event_ts,
        'ad_impression' as event_type,
        {{ dbt.concat(["'impression:'", "coalesce(auction_placements.placement, 'unknown')"]) }} as event,
        auction_placements.placement as discovery_feature,
        'true' as is_sponsored,
        case when auction_placements.auction_id is null then 'unknown_auction_id' end as broken_reference,
        cast({{ column_or_default(raw_impressions, 'journey_id', no_journey_id) }} as {{ text }}) as given_journey_id

    from impressions_source
    left join auction_placements
        on cast(impressions_source.auction_id as {{ text }}) = auction_placements.auction_id

),

clicks as (

    select
        'clicks' as source_table,
        cast(clicks_source.click_id as {{ text }}) as source_id,
        cast(clicks_source.user_id as {{ text }}) as user_id,
        cast(clicks_source.product_id as {{ text }}) as product_id,
        cast(clicks_source.click_ts as {{ text }}) as event_ts,
        'ad_click' as event_type,
        {{ dbt.concat(["'click:'", "coalesce(impression_placements.placement, 'unknown')"]) }} as event,
        impression_placements.placement as discovery_feature,
        'true' as is_sponsored,
        case when impression_placements.impression_id is null then 'unknown_impression_id' end as broken_reference,
        cast({{ column_or_default(raw_clicks, 'journey_id', no_journey_id) }} as {{ text }}) as given_journey_id

    from clicks_source
    left join impression_placements
        on cast(clicks_source.impression_id as {{ text }}) = impression_placements.impression_id

),

purchases as (

    select
        'purchases' as source_table,
        cast(purchase_id as {{ text }}) as source_id,
        cast(user_id as {{ text }}) as user_id,
        cast(product_id as {{ text }}) as product_id,
        cast(purchase_ts as {{ text }}) as event_ts,
        'funnel' as event_type,
        'purchase' as event,
        cast(null as {{ text }}) as discovery_feature,
        'false' as is_sponsored,
        cast(null as {{ text }}) as broken_reference,
        cast({{ column_or_default(raw_purchases, 'journey_id', no_journey_id) }} as {{ text }}) as given_journey_id

    from purchases_source

),

unioned as (

    select * from impressions
    union all
    select * from clicks
    union all
    select * from purchases

),

timed as (

    select
        *,
        {{ safe_cast_timestamp('event_ts') }} as event_at

    from unioned

),

-- Journey boundaries per user x product, among the rows without a given journey.
-- Rows that cannot have a derived journey (no parseable time, user or product, or
-- a journey_id of their own) sit in a partition of their own and get none here.
flagged as (

    select
        *,
        coalesce(
            given_journey_id is null and event_at is not null and user_id is not null and product_id is not null,
            false
        ) as has_journey

    from timed

),

ordered as (

    select
        *,
        lag(event_at) over (
            partition by has_journey, user_id, product_id
            order by event_at, source_table, source_id
        ) as prev_event_at,
        lag(event_type) over (
            partition by has_journey, user_id, product_id
            order by event_at, source_table, source_id
        ) as prev_event_type

    from flagged

),

journey_starts_flagged as (

    select
        *,
        case
            when prev_event_at is null then 1
            when prev_event_type = 'funnel' then 1
            when {{ seconds_between('prev_event_at', 'event_at') }} > {{ window_seconds }} then 1
            else 0
        end as starts_journey

    from ordered

),

journeys_numbered as (

    select
        *,
        sum(starts_journey) over (
            partition by has_journey, user_id, product_id
            order by event_at, source_table, source_id
            rows between unbounded preceding and current row
        ) as journey_number

    from journey_starts_flagged

),

final as (

    select
        source_table,
        {{ dbt.concat(["left(source_table, 1)", "'-'", "source_id"]) }} as event_id,
        user_id,
        case
            when given_journey_id is not null and user_id is not null then
                {{ dbt.concat(['user_id', "'|'", 'given_journey_id']) }}
            when has_journey then
                {{ dbt.concat([
                    'user_id', "'|'", 'product_id', "'|'", 'cast(journey_number as ' ~ text ~ ')'
                ]) }}
        end as session_id,
        event_ts,
        event_type,
        event,
        discovery_feature,
        product_id as store_id,
        is_sponsored,
        cast(null as {{ text }}) as is_ghost_ad,
        broken_reference

    from journeys_numbered

)

select * from final
