"""Importers: public datasets mapped onto the raw contract of design.md as Parquet files.

``import_dataset("otto", "train.jsonl", "out/")`` writes the contract tables and
`import_report.{csv,json}` (every input row mapped, or unmapped with a reason) into `out/`;
`JOURNEYLIFT_SOURCE=out/` then runs journeylift on them. Importing this package registers
every importer (``otto``, ``rees46``, ``criteo``).
"""

from ml.importers.contract_files import write_contract_table
from ml.importers.registry import IMPORTER_REGISTRY, available_importers, import_dataset, register
from ml.importers.report import ImportReport, first_reasons
from ml.importers import criteo, otto, rees46  # noqa: E402,F401  (registers the importers)

__all__ = [
    "IMPORTER_REGISTRY",
    "ImportReport",
    "available_importers",
    "first_reasons",
    "import_dataset",
    "register",
    "write_contract_table",
]
