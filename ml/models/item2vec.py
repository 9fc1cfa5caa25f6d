"""Item2Vec: skip-gram embeddings of action_item tokens, mean-pooled, with a logistic head."""

from __future__ import annotations

import contextlib
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ml.data import PAD_INDEX, FeatureSpec, JourneyBatch, SequenceData, Vocabulary
from ml.models.base import SequenceModel
from ml.models.registry import register

#: The two categorical features whose pair is one action_item token.
TOKEN_FEATURES: tuple[str, str] = ("event", "store_id")
#: Fewest skip-gram steps per pre-training epoch (pairs per step shrink below pair_batch_size).
MIN_STEPS_PER_EPOCH = 100


class ActionItemEmbedding(nn.Module):
    """One vector per action_item token: an (event, store_id) pair such as ``m_card_click_s123``.

    token = event_index * n_stores + store_index,

    with the vocabulary indices of ``event`` and ``store_id`` (n_stores = the
    store vocabulary size, padding and unknown slots included), so the table
    holds n_events * n_stores rows and the id is a pure function of the batch's
    categorical indices. Padding (event 0, store 0) is token 0, a zero row. An
    unknown event or store (index 1) gives its own tokens, "<unk>" in the name;
    tokens never seen in pre-training are zeroed by :meth:`Item2VecClassifier.pretrain`.
    """

    def __init__(self, spec: FeatureSpec, embedding_dim: int):
        super().__init__()
        self.event_column = spec.categorical_names.index(TOKEN_FEATURES[0])
        self.store_column = spec.categorical_names.index(TOKEN_FEATURES[1])
        self.n_stores = spec.vocab_sizes[self.store_column]
        self.n_tokens = spec.vocab_sizes[self.event_column] * self.n_stores
        self.vectors = nn.Embedding(self.n_tokens, embedding_dim, padding_idx=PAD_INDEX)
        # word2vec's initialisation of the input vectors: small and uniform.
        nn.init.uniform_(self.vectors.weight, -0.5 / embedding_dim, 0.5 / embedding_dim)
        with torch.no_grad():
            self.vectors.weight[PAD_INDEX].zero_()
        self.output_dim = embedding_dim

    def token_ids(self, categorical: torch.Tensor | np.ndarray):
        """Token ids [...] from categorical indices [..., F] (torch or numpy)."""
        return categorical[..., self.event_column] * self.n_stores + categorical[..., self.store_column]

    def token_names(self, vocabularies: dict[str, Vocabulary], token_ids) -> list[str]:
        """``event_store`` names of ``token_ids``, e.g. ``m_card_click_s123``."""
        token_ids = np.asarray(token_ids, dtype=np.int64)
        events = vocabularies[TOKEN_FEATURES[0]].decode(token_ids // self.n_stores)
        stores = vocabularies[TOKEN_FEATURES[1]].decode(token_ids % self.n_stores)
        return [f"{event}_{store}" for event, store in zip(events, stores)]

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor | None = None) -> torch.Tensor:
        return self.vectors(self.token_ids(categorical))


@register("item2vec")
class Item2VecClassifier(SequenceModel):
    """Item2Vec (Barkan & Koenigstein, 2016) journey embeddings with a logistic head.

    Pre-training (:meth:`pretrain`, skip-gram with negative sampling): for each
    train journey, every token u_c and every context token within ``window``
    positions of it form a positive pair (c, o); ``negatives`` tokens n_1..n_k
    are drawn from the unigram distribution raised to ``unigram_power``,
    P(n) ~ count(n)^0.75, and the loss per pair is

        -log sigmoid(u_c . v_o) - sum_k log sigmoid(-u_c . v_{n_k}),

    with u the input (kept) and v the output (discarded, zero-initialised)
    vectors, minimised by SparseAdam for ``pretrain_epochs`` passes in batches
    of ``pair_batch_size`` pairs (smaller for a small corpus, so that an epoch
    has at least ``MIN_STEPS_PER_EPOCH`` steps). Tokens absent from the train
    journeys end with u = 0.

    Conversion model: x_t = u_{token_t} (numeric features are not used),

        r = sum_t m_t x_t / max(sum_t m_t, 1),   logit = w . r + b,

    the masked mean of the journey's token vectors (zero for an all-padding
    journey, whose logit is then b). The logit is linear in x, so gradient x
    input gives event t exactly w . x_t / n, its additive share of the logit.

    Frozen or fine-tuned: ``freeze_embeddings=True`` is the faithful reading
    (u from co-occurrence alone, only w and b fitted to conversion). It is not
    the default because co-occurrence cannot tell apart tokens that occur in
    the same contexts: when events are exchangeable, the skip-gram optimum
    u_i . v_j = log(P(j | i) / (k P_n(j))) does not depend on i, so nothing
    pulls the u_i apart and a frozen model sees which events a journey holds
    only through optimisation noise. On ``planted_signal_frames(1500)``
    (exchangeable events) the skip-gram loss stops at 2.69, the value of that
    degenerate optimum, and the frozen model reaches a validation AUC of 0.63
    where the fine-tuned one reaches 0.80. So by default the skip-gram vectors
    initialise u and the conversion loss fine-tunes them; the pre-trained
    vectors stay in the buffer ``skipgram_vectors`` for analyses of
    co-occurrence (``ml.traits``), untouched by the conversion fit.

    Defaults: embedding_dim 32, window 5, negatives 5, unigram_power 0.75,
    pretrain_epochs 5, pretrain_lr 0.02, pair_batch_size 4096, freeze_embeddings
    False. The table has n_events * n_stores rows (about 4k on the default
    simulation, where pre-training takes about 2-3 s an epoch on 2 cores).

    ``has_attention`` is False: mean pooling weighs every event equally.
    """

    def __init__(
        self,
        spec: FeatureSpec,
        embedding_dim: int = 32,
        window: int = 5,
        negatives: int = 5,
        unigram_power: float = 0.75,
        pretrain_epochs: int = 5,
        pretrain_lr: float = 0.02,
        pair_batch_size: int = 4096,
        freeze_embeddings: bool = False,
    ):
        super().__init__(spec, embedding_dim)
        if window < 1 or negatives < 1:
            raise ValueError("window and negatives must be at least 1")
        self.window = window
        self.negatives = negatives
        self.unigram_power = unigram_power
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_lr = pretrain_lr
        self.pair_batch_size = pair_batch_size
        # Replaces the base FeatureEmbedding: x_t is the token vector, so input_dim = embedding_dim.
        self.embedding = ActionItemEmbedding(spec, embedding_dim)
        self.embedding.vectors.weight.requires_grad_(not freeze_embeddings)
        # What pre-training learned, kept apart from the conversion fit: per-token train
        # counts (which tokens have vectors) and the skip-gram vectors themselves.
        self.register_buffer("token_counts", torch.zeros(self.embedding.n_tokens, dtype=torch.long))
        self.register_buffer("skipgram_vectors", torch.zeros(self.embedding.n_tokens, embedding_dim))
        self.head = nn.Linear(embedding_dim, 1)

    @property
    def token_vectors(self) -> torch.Tensor:
        """The token embedding table u [n_tokens, embedding_dim] the journeys are pooled from."""
        return self.embedding.vectors.weight

    def embed(self, batch: JourneyBatch) -> torch.Tensor:
        """x [B, L, embedding_dim]: each event's action_item token vector (zero on padding)."""
        return self.embedding(batch.categorical)

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        weights = mask.to(x.dtype).unsqueeze(-1)
        return (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)

    # -- skip-gram pre-training --

    def pretrain(self, data: SequenceData, train_indices, config, log) -> None:
        """Skip-gram with negative sampling on the tokens of ``train_indices``; one log line per epoch.

        Seeded by ``config.seed`` (pair order and negatives repeat). Afterwards
        the vectors of tokens absent from the train journeys are zero, so an
        unseen (event, store) pair adds nothing to a journey's mean but its count.
        """
        if self.pretrain_epochs <= 0 or len(train_indices) == 0:
            return
        tokens, journey = self._train_tokens(data, train_indices)
        counts = np.bincount(tokens, minlength=self.embedding.n_tokens)
        centers, contexts = skipgram_pairs(tokens, journey, self.window)
        if len(centers) == 0:
            log("item2vec pretrain skipped: no journey has two events")
            return
        noise = counts.astype(np.float64) ** self.unigram_power
        with one_cpu_thread(self.token_vectors.device):
            trained = self._fit_skipgram(centers, contexts, noise / noise.sum(), config.seed, log)
        with torch.no_grad():
            seen = torch.from_numpy(counts > 0).to(trained.device)
            seen[PAD_INDEX] = False
            self.token_vectors.copy_(trained * seen.unsqueeze(-1))
            self.skipgram_vectors.copy_(self.token_vectors)
            self.token_counts.copy_(torch.from_numpy(counts))

    def _fit_skipgram(
        self, centers: np.ndarray, contexts: np.ndarray, noise: np.ndarray, seed: int, log
    ) -> torch.Tensor:
        """The input vectors u after ``pretrain_epochs`` SparseAdam passes over the pairs."""
        device = self.token_vectors.device
        rng = np.random.default_rng(seed)
        # A small corpus still gets MIN_STEPS_PER_EPOCH steps: escaping the early
        # all-vectors-alike phase of skip-gram takes a number of steps, not of pairs.
        batch_size = max(1, min(self.pair_batch_size, len(centers) // MIN_STEPS_PER_EPOCH))
        input_vectors = nn.Parameter(self.token_vectors.detach().clone())
        output_vectors = nn.Parameter(torch.zeros_like(input_vectors))
        optimizer = torch.optim.SparseAdam([input_vectors, output_vectors], lr=self.pretrain_lr)
        for epoch in range(1, self.pretrain_epochs + 1):
            started = time.perf_counter()
            order = rng.permutation(len(centers))
            sampled = rng.choice(len(noise), size=(len(centers), self.negatives), p=noise)
            total = 0.0
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                center = torch.from_numpy(centers[rows]).to(device)
                # Column 0 the true context, then the k negatives.
                targets = torch.from_numpy(np.column_stack([contexts[rows], sampled[rows]])).to(device)
                loss = _negative_sampling_loss(input_vectors, output_vectors, center, targets)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(rows)
            log(
                f"item2vec pretrain epoch {epoch}/{self.pretrain_epochs}: skip-gram loss "
                f"{total / len(centers):.4f} over {len(centers):,} pairs of {int((noise > 0).sum()):,} tokens "
                f"in {time.perf_counter() - started:.1f}s"
            )
        return input_vectors.detach()

    def _train_tokens(self, data: SequenceData, train_indices) -> tuple[np.ndarray, np.ndarray]:
        """Flat token ids of the train journeys' events and the journey each belongs to."""
        journeys = np.asarray(train_indices, dtype=np.int64)
        rows = data.event_rows(journeys)
        tokens = self.embedding.token_ids(data.categorical[rows]).astype(np.int64)
        return tokens, np.repeat(journeys, data.lengths[journeys])


@contextlib.contextmanager
def one_cpu_thread(device: torch.device):
    """Torch on one intra-op thread while inside (on the CPU); also the bidding agent's small steps."""
    # Skip-gram steps are thousands of tiny ops: on the CPU a second intra-op
    # thread only adds synchronisation (up to 100x slower when the cores are busy).
    threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def skipgram_pairs(tokens: np.ndarray, journey: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(center, context) token pairs at most ``window`` events apart inside one journey, both directions.

    ``tokens`` and ``journey`` are flat per-event arrays with each journey's
    events contiguous and in order; one shifted comparison per offset, no loop
    over journeys.
    """
    centers, contexts = [], []
    for offset in range(1, window + 1):
        same = journey[:-offset] == journey[offset:]
        left, right = tokens[:-offset][same], tokens[offset:][same]
        centers += [left, right]
        contexts += [right, left]
    if not centers:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(centers), np.concatenate(contexts)


def _negative_sampling_loss(
    input_vectors: torch.Tensor, output_vectors: torch.Tensor, center: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """Mean SGNS loss; ``targets`` [P, 1 + k] holds the true context then k negatives."""
    u = F.embedding(center, input_vectors, sparse=True)  # [P, D]
    v = F.embedding(targets, output_vectors, sparse=True)  # [P, 1 + k, D]
    scores = (u.unsqueeze(1) * v).sum(dim=-1)  # [P, 1 + k]; faster than a bmm of tiny matrices
    signs = torch.ones_like(scores)
    signs[:, 1:] = -1.0
    return -F.logsigmoid(signs * scores).sum(dim=1).mean()
