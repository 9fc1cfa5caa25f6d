{#-
    Optional parts of the raw contract (design.md): a column or a table a
    user's own data may lack. Both look at the warehouse only at execution
    time (`execute`); while dbt parses, they answer "absent", which only
    shapes the SQL compiled at parse time and is never run.

    The var `optional_sources_present` (null in dbt_project.yml: look) set to
    true or false fixes the answer without asking the warehouse: how `dbt
    compile` runs offline, e.g. for the Snowflake target in
    tests/test_dbt_snowflake.py.
-#}

{#- The fixed answer of var optional_sources_present, or none: look at the warehouse. -#}
{% macro assumed_optional_sources_present() -%}
    {%- set assumed = var('optional_sources_present', none) -%}
    {%- if assumed is none or assumed is boolean -%}
        {{ return(assumed) }}
    {%- endif -%}
    {{ exceptions.raise_compiler_error(
        "var optional_sources_present must be true or false, got '" ~ assumed ~ "'"
    ) }}
{%- endmacro %}

{#- True when `relation` (a source() or ref()) has a column named `column_name`, any case. -#}
{% macro relation_has_column(relation, column_name) -%}
    {%- set assumed = assumed_optional_sources_present() -%}
    {%- if assumed is not none -%}
        {{ return(assumed) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {{ return(column_name | lower in names) }}
{%- endmacro %}

{#- The column itself when `relation` has it, else `default_expression` (SQL). -#}
{% macro column_or_default(relation, column_name, default_expression) -%}
    {%- if relation_has_column(relation, column_name) -%}
        {{ column_name }}
    {%- else -%}
        {{ default_expression }}
    {%- endif -%}
{%- endmacro %}

{#- True when the table or view behind `relation` (a source() or ref()) exists in the warehouse. -#}
{% macro relation_exists(relation) -%}
    {%- set assumed = assumed_optional_sources_present() -%}
    {%- if assumed is not none -%}
        {{ return(assumed) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = adapter.get_relation(
        database=relation.database,
        schema=relation.schema,
        identifier=relation.identifier
    ) -%}
    {{ return(found is not none) }}
{%- endmacro %}
