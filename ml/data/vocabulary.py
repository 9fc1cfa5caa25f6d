"""Vocabularies that map categorical tokens to embedding indices."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

PAD_INDEX = 0
UNKNOWN_INDEX = 1
N_RESERVED = 2


class Vocabulary:
    """Token -> index map with two reserved slots.

    Index 0 is padding (never produced by :meth:`encode`, used by the collate for
    missing positions) and index 1 is the unknown bucket: every value not seen
    when the vocabulary was fitted (and nulls) maps there, so validation and test
    journeys never index past the embedding table.

    ``tokens`` is a plain list of strings, so a vocabulary is saved with
    ``vocab.tokens`` and restored with ``Vocabulary(tokens)``.
    """

    def __init__(self, tokens: Sequence[str]):
        self.tokens = [str(token) for token in tokens]
        self._index = pd.Index(self.tokens)
        if not self._index.is_unique:
            raise ValueError("vocabulary tokens must be unique")

    @classmethod
    def fit(cls, values: Iterable, min_count: int = 1) -> "Vocabulary":
        """Fit on ``values`` (nulls ignored); tokens ordered by frequency, then name."""
        counts = pd.Series(values).dropna().astype(str).value_counts()
        counts = counts[counts >= min_count]
        # Frequency then name: the same data always gives the same indices.
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return cls([token for token, _ in ordered])

    def __len__(self) -> int:
        """Embedding table size: tokens plus the padding and unknown slots."""
        return len(self.tokens) + N_RESERVED

    @property
    def size(self) -> int:
        return len(self)

    def encode(self, values) -> np.ndarray:
        """Indices (int64) of ``values``; unseen values and nulls -> ``UNKNOWN_INDEX``."""
        # Factorize first: the lookup then runs over distinct values only, and
        # Arrow-backed string columns never get converted to Python objects.
        codes, uniques = pd.factorize(values if isinstance(values, pd.Series) else pd.Series(values))
        found = self._index.get_indexer(pd.Index(uniques, dtype=object).astype(str))
        # One trailing UNKNOWN slot, so null codes (-1) index it directly.
        lookup = np.append(np.where(found < 0, UNKNOWN_INDEX, found + N_RESERVED), UNKNOWN_INDEX)
        return lookup[codes].astype(np.int64)

    def decode(self, indices) -> list[str]:
        """Tokens of ``indices``; 0 -> ``"<pad>"``, 1 -> ``"<unk>"``."""
        names = ["<pad>", "<unk>", *self.tokens]
        return [names[int(i)] for i in np.asarray(indices).ravel()]

    def __repr__(self) -> str:
        return f"Vocabulary({len(self.tokens)} tokens)"
