"""What an import did with every input row: mapped, or unmapped with one reason.

Reasons are given per row by ordered rules, first match wins (as dbt's quarantine does),
so input rows = mapped rows + the unmapped counts, always. The report is written next to
the contract files as `import_report.json` and `import_report.csv`; it is not a contract
table, so a folder source never loads it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

REPORT_STEM = "import_report"


def first_reasons(index: pd.Index, rules: Sequence[tuple[str, pd.Series]]) -> pd.Series:
    """The reason of every row: the first rule whose mask holds, None where none does.

    ``rules`` are (reason, boolean mask over ``index``) pairs, in priority order.
    """
    reasons = pd.Series(None, index=index, dtype=object)
    for reason, mask in rules:
        reasons = reasons.mask(reasons.isna() & mask.reindex(index, fill_value=False).astype(bool), reason)
    return reasons


@dataclass
class ImportReport:
    """Rows in, rows mapped, rows unmapped per reason, the contract files written, and caveats."""

    dataset: str
    source: str
    input_rows: int = 0
    unmapped: dict[str, int] = field(default_factory=dict)
    tables: dict[str, int] = field(default_factory=dict)  # contract file -> rows written
    side_files: dict[str, int] = field(default_factory=dict)  # files that are not contract tables
    notes: list[str] = field(default_factory=list)

    @property
    def mapped_rows(self) -> int:
        return self.input_rows - self.n_unmapped

    @property
    def n_unmapped(self) -> int:
        return sum(self.unmapped.values())

    def add_unmapped(self, reasons: pd.Series) -> None:
        """Count the non-null reasons of ``reasons`` (one per input row)."""
        for reason, n in reasons.dropna().value_counts().items():
            self.unmapped[str(reason)] = self.unmapped.get(str(reason), 0) + int(n)

    def frame(self) -> pd.DataFrame:
        """One row for the mapped rows, one per unmapped reason: status, reason, n_rows, share_of_input."""
        rows = [("mapped", "", self.mapped_rows)] + [("unmapped", r, n) for r, n in sorted(self.unmapped.items())]
        frame = pd.DataFrame(rows, columns=["status", "reason", "n_rows"])
        frame.insert(0, "dataset", self.dataset)
        frame["share_of_input"] = (frame["n_rows"] / max(self.input_rows, 1)).round(6)
        return frame

    def write(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.frame().to_csv(out / f"{REPORT_STEM}.csv", index=False)
        payload = {**asdict(self), "mapped_rows": self.mapped_rows, "n_unmapped": self.n_unmapped}
        (out / f"{REPORT_STEM}.json").write_text(json.dumps(payload, indent=2) + "\n")

    def lines(self) -> list[str]:
        """The report as a person reads it on the terminal."""
        lines = [f"{self.dataset}: {self.input_rows:,} input rows from {self.source}, "
                 f"{self.mapped_rows:,} mapped, {self.n_unmapped:,} unmapped"]
        lines += [f"  unmapped {reason:<32} {n:>9,}" for reason, n in sorted(self.unmapped.items())]
        lines += [f"  wrote {name:<35} {n:>9,} rows" for name, n in {**self.tables, **self.side_files}.items()]
        lines += [f"  note: {note}" for note in self.notes]
        return lines
