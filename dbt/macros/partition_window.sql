{#-
    Event-date partitions (README "Daily refresh and backfill"). Dagster's
    journeylift job, run for some dates, passes the vars partition_start and partition_end
    (dates 'YYYY-MM-DD', the end excluded); the incremental staging and
    intermediate models then process those dates only. Without them (both
    null, the default) every model is rebuilt whole over every date, exactly
    like a plain `dbt build`.

    What a partitioned run rebuilds:
      stg_sessions__events_screened  the raw rows dated in the window (by parsed
                                     event_at) and every undated row (null or
                                     unparseable event_ts), screened against
                                     what earlier runs screened on other dates
      intermediate event tables      every journey with an event in the window,
                                     whole (earlier days' events included), derived
                                     from the full accepted history of the users
                                     active in the window (their journeys are
                                     numbered over it); replaced by event_id after
                                     the window's old rows are deleted
      int_journeys_labeled           the same journeys, by journey_id; journeys gone
                                     from int_events_enriched are deleted
      int_users_split, marts         rebuilt whole (tables: a hash per user, and what
                                     training reads)
    Dates are processed in order (the schedule, the CLI and the UI's single-run
    backfill do), so what a date reads of earlier ones is already there; after
    loading an earlier date late, re-run the dates after it.
-#}

{#- The run's window as ['YYYY-MM-DD', 'YYYY-MM-DD'] (end excluded), or none on a full build. -#}
{% macro partition_window() -%}
    {%- set start = var('partition_start', none) -%}
    {%- set end = var('partition_end', none) -%}
    {%- if start is none and end is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set window = [start | string, end | string] -%}
    {%- set date_pattern = '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' -%}
    {%- if start is none or end is none
        or not modules.re.match(date_pattern, window[0])
        or not modules.re.match(date_pattern, window[1])
        or window[0] >= window[1] -%}
        {{ exceptions.raise_compiler_error(
            "vars partition_start and partition_end must both be dates 'YYYY-MM-DD' with start < end "
            ~ "(or both null), got " ~ start ~ " and " ~ end
        ) }}
    {%- endif -%}
    {{ return(window) }}
{%- endmacro %}


{#- True on a partitioned run (partition_start and partition_end given). -#}
{% macro is_partitioned_run() -%}
    {{ return(partition_window() is not none) }}
{%- endmacro %}


{#- SQL predicate: `timestamp_expression` lies in the run's window (or is null, with
    or_undated); always true on a full build. -#}
{% macro in_partition_window(timestamp_expression, or_undated=false) -%}
    {%- set window = partition_window() -%}
    {%- if window is none -%}
        (1 = 1)
    {%- else -%}
        ({{ timestamp_expression }} >= cast('{{ window[0] }}' as {{ dbt.type_timestamp() }})
            and {{ timestamp_expression }} < cast('{{ window[1] }}' as {{ dbt.type_timestamp() }})
            {%- if or_undated %}
            or {{ timestamp_expression }} is null
            {%- endif %})
    {%- endif -%}
{%- endmacro %}


{#- The rows of `relation` (with journey_id and event_at) of every journey that has an
    event in the run's window, whole; every row on a full build. The journeys are looked
    up in `journeys_from` (default: `relation`), a relation holding the same events: a
    table under a view that ranks them, so the window's date filter is not applied
    above the view's window functions. -#}
{% macro select_journeys_in_partition(relation, journeys_from=none) -%}
    select * from {{ relation }}
    {%- if is_partitioned_run() %}
    where journey_id in (
        select journey_id from {{ journeys_from if journeys_from is not none else relation }}
        where {{ in_partition_window('event_at') }}
    )
    {%- endif %}
{%- endmacro %}


{#- Pre-hook of an incremental model on a partitioned run: delete the rows it is about to
    rebuild, those whose `timestamp_column` lies in the window (and the undated ones with
    or_undated). Renders nothing on a full build or when the table does not exist yet. -#}
{% macro delete_partition_rows(relation, timestamp_column, or_undated=false) -%}
    {%- if is_partitioned_run() and is_incremental() -%}
    delete from {{ relation }}
    where {{ in_partition_window(timestamp_column, or_undated) }}
    {%- endif -%}
{%- endmacro %}


{#- Pre-hook of an incremental model on a partitioned run: delete the rows whose `key` is
    no longer in `upstream` (a journey the re-screened window no longer yields). -#}
{% macro delete_rows_missing_upstream(relation, key, upstream) -%}
    {%- if is_partitioned_run() and is_incremental() -%}
    delete from {{ relation }}
    where {{ key }} not in (select {{ key }} from {{ upstream }})
    {%- endif -%}
{%- endmacro %}
