{#-
    Casts that yield null instead of failing on a value that does not parse,
    so a bad raw value is quarantined rather than stopping the build. DuckDB
    and Snowflake have try_cast (Snowflake's takes text only, hence the cast
    to varchar); other adapters fall back to dbt's safe_cast.
-#}
{% macro safe_cast_timestamp(expression) -%}
    {{ return(adapter.dispatch('safe_cast_timestamp', 'journeylift')(expression)) }}
{%- endmacro %}

{% macro duckdb__safe_cast_timestamp(expression) -%}
    try_cast({{ expression }} as timestamp)
{%- endmacro %}

{% macro snowflake__safe_cast_timestamp(expression) -%}
    try_cast(cast({{ expression }} as varchar) as timestamp_ntz)
{%- endmacro %}

{% macro default__safe_cast_timestamp(expression) -%}
    {{ dbt.safe_cast(expression, dbt.type_timestamp()) }}
{%- endmacro %}


{% macro safe_cast_boolean(expression) -%}
    {{ return(adapter.dispatch('safe_cast_boolean', 'journeylift')(expression)) }}
{%- endmacro %}

{% macro duckdb__safe_cast_boolean(expression) -%}
    try_cast({{ expression }} as boolean)
{%- endmacro %}

{% macro snowflake__safe_cast_boolean(expression) -%}
    try_cast(cast({{ expression }} as varchar) as boolean)
{%- endmacro %}

{% macro default__safe_cast_boolean(expression) -%}
    {{ dbt.safe_cast(expression, dbt.type_boolean()) }}
{%- endmacro %}


{#- The current time in UTC as a naive timestamp, like the raw contract's event_ts. -#}
{% macro utc_now() -%}
    {{ return(adapter.dispatch('utc_now', 'journeylift')()) }}
{%- endmacro %}

{% macro duckdb__utc_now() -%}
    cast(timezone('UTC', now()) as timestamp)
{%- endmacro %}

{% macro snowflake__utc_now() -%}
    sysdate()
{%- endmacro %}

{% macro default__utc_now() -%}
    {{ dbt.current_timestamp() }}
{%- endmacro %}
