"""Files written whole or not at all: write beside the target, then swap it in.

A process killed while writing (SIGKILL, a lost machine) leaves the previous file in place, or
none, never a half-written one that a later read takes for the whole: `os.replace` within one
folder is atomic on POSIX filesystems. What is left of an interrupted write is a hidden
`.<stem>.<pid>.partial<suffix>` file beside the target (the suffix kept, so writers that go by it
still know the format), which the next write of that target removes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PARTIAL = "partial"


@contextmanager
def written_whole(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` to write to; on success it replaces `path` in one
    rename. On an error the temporary file is removed and `path` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.stem}.*.{PARTIAL}{path.suffix}"):  # left by a killed writer
        stale.unlink(missing_ok=True)
    partial = path.parent / f".{path.stem}.{os.getpid()}.{PARTIAL}{path.suffix}"
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
