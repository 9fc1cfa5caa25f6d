{#-
    A deterministic bucket in [0, n_buckets) from a string: the first 8 hex
    digits of md5(expression) read as an integer, modulo n_buckets. md5 (not
    the warehouse's own hash()) gives the same bucket on DuckDB, Snowflake and
    in Python: int(hashlib.md5(s.encode()).hexdigest()[:8], 16) % n_buckets.
-#}
{% macro hash_to_bucket(expression, n_buckets) -%}
    {{ return(adapter.dispatch('hash_to_bucket', 'journeylift')(expression, n_buckets)) }}
{%- endmacro %}

{% macro duckdb__hash_to_bucket(expression, n_buckets) -%}
    (cast(('0x' || left({{ dbt.hash(expression) }}, 8)) as bigint) % {{ n_buckets }})
{%- endmacro %}

{% macro snowflake__hash_to_bucket(expression, n_buckets) -%}
    mod(to_number(left({{ dbt.hash(expression) }}, 8), 'XXXXXXXX'), {{ n_buckets }})
{%- endmacro %}

{% macro default__hash_to_bucket(expression, n_buckets) -%}
    {{ exceptions.raise_compiler_error(
        "hash_to_bucket has no implementation for adapter '" ~ adapter.type() ~ "'"
    ) }}
{%- endmacro %}
