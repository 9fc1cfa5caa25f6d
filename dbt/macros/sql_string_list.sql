{#-
    Renders a list var as SQL string literals for an `in (...)` clause:
    ['a', 'b'] -> 'a', 'b'.
-#}
{% macro sql_string_list(values) -%}
    {%- for value in values -%}
        '{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
