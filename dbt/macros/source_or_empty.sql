{#-
    A raw table the contract makes optional: `select * from` it when it exists
    in the warehouse, else an empty relation with `columns` (names, typed as
    text), so every model downstream builds and simply holds no rows from it.
-#}
{% macro source_or_empty(relation, columns) -%}
    {%- if relation_exists(relation) -%}
    select * from {{ relation }}
    {%- else -%}
    select
        {%- for column in columns %}
        cast(null as {{ dbt.type_string() }}) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from (select 1 as placeholder) as no_rows
    where 1 = 0
    {%- endif %}
{%- endmacro %}
