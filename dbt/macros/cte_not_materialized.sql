{#-
    `name as {{ cte_not_materialized() }} (...)`: asks the warehouse to inline a CTE into each
    reader instead of storing its rows first. DuckDB stores a CTE read more than once, and a
    stored CTE of every wide raw row spills past the memory limit at 10M events (the screen
    wrote 7 GB of temporary files); reading the rows again is cheaper. The same holds for
    int_events_sessionized's events, read four times by journeys_by_session_gap (about 12% less
    CPU at 10M events). Snowflake has no such hint and renders nothing.
-#}
{% macro cte_not_materialized() -%}
    {{ return(adapter.dispatch('cte_not_materialized', 'journeylift')()) }}
{%- endmacro %}

{% macro duckdb__cte_not_materialized() -%}
    not materialized
{%- endmacro %}

{% macro default__cte_not_materialized() -%}
{%- endmacro %}
