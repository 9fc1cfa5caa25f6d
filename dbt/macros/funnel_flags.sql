{#-
    The funnel and conversion rules as SQL predicates over an event's columns,
    written once from the project vars (funnel_event_type, funnel_events,
    conversion_events): int_events_enriched stores them as is_funnel_event and
    is_conversion_event, int_events_ranked ranks the non-funnel events with them.
-#}
{% macro is_funnel_event(event_type, event) -%}
    coalesce(
        {{ event_type }} = '{{ var("funnel_event_type") }}'
        or {{ event }} in ({{ sql_string_list(var('funnel_events')) }}),
        false
    )
{%- endmacro %}

{% macro is_conversion_event(event) -%}
    coalesce(
        {{ event }} in ({{ sql_string_list(var('conversion_events')) }}),
        false
    )
{%- endmacro %}
