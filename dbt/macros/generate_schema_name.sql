{#-
    Models land in the schema named in dbt_project.yml (staging, intermediate,
    marts) exactly, on every adapter, instead of dbt's default
    `<target_schema>_<custom_schema>`. Nodes without a custom schema (tests,
    unit tests) use the target's schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
