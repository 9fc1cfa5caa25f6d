{#-
    A 64-bit float. dbt.type_float() is `float` on DuckDB, a 32-bit REAL there,
    so the marts' DOUBLE columns use this instead.
-#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'journeylift')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double
{%- endmacro %}
