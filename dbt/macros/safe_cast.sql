{#-
    Casts that yield null instead of failing on a value that does not parse,
    so a bad raw value is quarantined rather than stopping the build. DuckDB
    and Snowflake have try_cast (Snowflake's takes text only, hence the cast
    to varchar); other adapters fall back to dbt's safe_cast.
-#}

{#-
    A raw timestamp as a naive UTC timestamp, whatever the warehouse session's
    time zone: a value written with a UTC offset (`+02:00`, `+0200`, `+02`), `Z`
    or a zone name (`Europe/Berlin`, DuckDB only) is converted to UTC; a value
    without one is taken as UTC. A time-zone-aware column reaches this cast as
    text with its offset, so it is converted too. A plain cast to timestamp would
    keep the clock time and drop the offset: an event two hours late, and events
    out of order across a daylight-saving switch. `expression` is text.
-#}
{% macro safe_cast_timestamp(expression) -%}
    {{ return(adapter.dispatch('safe_cast_timestamp', 'journeylift')(expression)) }}
{%- endmacro %}

{#- The whole value matches when it ends in a time followed by an offset, Z or a zone name. -#}
{% macro timestamp_zone_pattern() -%}
    .*[0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)? ?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?|[A-Za-z_]+(/[A-Za-z0-9_+-]+)*)
{%- endmacro %}

{% macro duckdb__safe_cast_timestamp(expression) -%}
    case
        when regexp_full_match({{ expression }}, '{{ timestamp_zone_pattern() }}')
            then timezone('UTC', try_cast({{ expression }} as timestamptz))
        else try_cast({{ expression }} as timestamp)
    end
{%- endmacro %}

{% macro snowflake__safe_cast_timestamp(expression) -%}
    case
        when regexp_like(cast({{ expression }} as varchar), '{{ timestamp_zone_pattern() }}')
            then cast(convert_timezone('UTC', try_cast(cast({{ expression }} as varchar) as timestamp_tz)) as timestamp_ntz)
        else try_cast(cast({{ expression }} as varchar) as timestamp_ntz)
    end
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
