{#-
    The cut at the conversion moment, the one place it is written.

    `events` and `labels` name CTEs (or relations): events with journey_id and
    event_at, labels with journey_id and conversion_at (null when the journey
    did not convert). Keeps the events strictly before conversion_at: an event
    at the very moment of conversion is dropped with everything after it, and
    a journey that did not convert keeps all its events.
-#}
{% macro cut_at_conversion(events, labels) -%}
    select {{ events }}.*
    from {{ events }}
    inner join {{ labels }}
        on {{ events }}.journey_id = {{ labels }}.journey_id
    where {{ labels }}.conversion_at is null
        or {{ events }}.event_at < {{ labels }}.conversion_at
{%- endmacro %}
