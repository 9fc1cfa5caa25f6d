{#-
    Seconds (with millisecond precision, as a double) from start_at to end_at.
    Null when start_at is null; callers coalesce to 0 for a first event.
-#}
{% macro seconds_between(start_at, end_at) -%}
    (cast({{ dbt.datediff(start_at, end_at, 'millisecond') }} as {{ type_double() }}) / 1000)
{%- endmacro %}
