"""Raw contract tables a user brings: a folder of Parquet/CSV files or tables already in the
warehouse (JOURNEYLIFT_SOURCE=<folder> or warehouse:<schema>).

Built by `build_contract_source(source)` and chosen at definitions load (source_assets.py).
The contract (ml.contract, checked by contract_check.py) is checked before anything is written;
a broken contract stops the run with one line per fault: `events.event_ts: required column missing`.
"""

import dagster as dg

from dagster_project.defs.raw.contract_check import SourceContractError, check_contract, timestamp_readings
from dagster_project.defs.raw.simulators import TRUTH_OUTS
from dagster_project.settings import OUTPUT_SCHEMA, RAW_SCHEMA, Source, outputs_dir
from dagster_project.warehouse import WAREHOUSE_POOL, Warehouse
from ml.contract import CONTRACT


def build_contract_source(source: Source) -> dg.AssetsDefinition:
    """raw/events, raw/dimension_store and raw/ad_experiment from `source` as one multi-asset."""
    loads = "loaded into the raw schema" if source.kind == "folder" else "validated in place"
    specs = [
        dg.AssetSpec(
            [RAW_SCHEMA, table.name],
            description=f"{'Optional c' if not table.required else 'C'}ontract table `{table.name}` from "
            f"{source.describe()}, checked against the raw contract and {loads}.",
        )
        for table in CONTRACT
    ]

    @dg.multi_asset(specs=specs, group_name="raw", name="contract_source", pool=WAREHOUSE_POOL)
    def contract_source(context: dg.AssetExecutionContext, warehouse: Warehouse):
        """Check the source against the raw contract (tables, columns, types, non-empty); for a
        folder, replace the raw schema's tables with the files (an absent optional table is
        dropped, so a stale one is never read); for warehouse:<schema>, dbt reads the schema
        itself. Simulator truth tables left by an earlier simulated run are removed: this
        source has no truth."""
        with warehouse.connect() as con:
            try:
                relations = check_contract(con, source)
            except SourceContractError as error:
                raise dg.Failure(
                    description=str(error),
                    metadata={"source": source.describe(), "violations": dg.MetadataValue.md(
                        "\n".join(f"- `{v}`" for v in error.violations)
                    )},
                    allow_retries=False,
                ) from error
            readings = timestamp_readings(con, relations)
            for line in readings:
                context.log.info(line)
            if source.kind == "folder":
                con.sql(f"create schema if not exists {RAW_SCHEMA}")
                for table in CONTRACT:
                    if table.name in relations:
                        con.sql(f"create or replace table {RAW_SCHEMA}.{table.name} as select * from {relations[table.name]}")
                    else:
                        con.sql(f"drop table if exists {RAW_SCHEMA}.{table.name}")
                relations = {name: f"{RAW_SCHEMA}.{name}" for name in relations}
            for truth in TRUTH_OUTS:
                con.sql(f"drop table if exists {OUTPUT_SCHEMA}.{truth}")
                (outputs_dir() / f"{truth}.csv").unlink(missing_ok=True)
            for table in CONTRACT:
                relation = relations.get(table.name)
                if relation is None:
                    metadata = {"present": False, "rows": 0, "source": source.describe()}
                else:
                    preview = con.sql(f"select * from {relation} limit 10").df()
                    metadata = {
                        "present": True,
                        "rows": con.execute(f"select count(*) from {relation}").fetchall()[0][0],
                        "relation": relation,
                        "source": source.describe(),
                        "preview": dg.MetadataValue.md(preview.to_markdown(index=False)),
                    }
                    timestamps = [line for line in readings if line.startswith(f"{table.name}.")]
                    if timestamps:
                        metadata["timestamps"] = dg.MetadataValue.md("\n".join(f"- {line}" for line in timestamps))
                    if table.name == "events":
                        metadata["users"] = con.execute(f"select count(distinct user_id) from {relation}").fetchall()[0][0]
                context.log.info(f"{table.name}: {metadata['rows']} rows from {source.describe()}")
                yield dg.MaterializeResult(asset_key=[RAW_SCHEMA, table.name], metadata=metadata)

    return contract_source
