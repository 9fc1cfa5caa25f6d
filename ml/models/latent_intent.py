r"""Latent intent: a model whose conversion head cannot re-read intent from the events it scores.

Every other family maps a journey to p(convert) in one learned function, so "remove the events
and re-predict" re-reads intent from the edited journey: a journey stripped of its card views
reads as a high-intent one. This family separates the two on purpose:

Encoder (amortized posterior over the events alone):
    h_T = GRU(x)_T,   q(u | journey) = N(mu(h_T), diag sigma^2(h_T)),   u in R^k (k = latent_dim).

Decoder (deliberately weak: one step of memory, so intent must carry what differs between
journeys). With token_t = 2 * event_t + is_sponsored_t and an end-of-journey token after the
last event (so the length is modelled too),
    p(token_t | token_{t-1}, u) = softmax(T[token_{t-1}] + B u),   token_0 = BOS.

Conversion head (additive on the logit scale):
    logit(u, journey) = c + gamma . u + sum_t h_t,
    h_t = (v . E[event_t] + is_sponsored_t * s . E[event_t]) * w[position_t],
E the shared event embedding, w a positive weight of the event's rank in the journey the model
sees, log w piecewise linear in log(position) between knots at 1, 2, 4, ..., max_len (smooth: a
free weight per position overfits the rare late positions). The head sees the events only through h, so editing
the events moves the logit by exactly the edited h terms when u is held (abduction,
:mod:`ml.counterfactual.abduction`); gamma is "the strength of intent", which the randomized ad
holdout can ground (``ml.counterfactual.abduction.ground_intent_strength``).

Prediction averages over the posterior: gamma . u ~ N(gamma . mu, sum_k gamma_k^2 sigma_k^2), so

    p(convert | journey) = E_{xi ~ N(0,1)} sigmoid(c + gamma . mu + sqrt(sum gamma^2 sigma^2) xi + sum_t h_t),

computed by Gauss-Hermite quadrature (deterministic, differentiable); the forward returns its logit.

Fitting (:meth:`pretrain`; the trainer's supervised epochs are skipped, ``trains_by_epochs``):
1. the events' model (embeddings, encoder, decoder) by the ELBO alone, the transition logits
   starting at the Markov chain's, with free bits on the KL, sum_k max(free_bits, KL_k), so the
   latent is used. The labels never reach the encoder: u is intent as behaviour reveals it, not a
   summary of whatever in the journey predicts conversion (which would let gamma . u take over
   the events' effects).
2. the user's share of intent rho (:func:`fit_user_share`): a user's journeys share part of
   their intent, so the head and the abduction read each journey's intent from its own events
   and, leave-one-out, its user's other journeys (:func:`pooled_posterior`). Those other journeys
   move intent without touching this journey's events, which is what separates gamma from the
   events' effects; the prediction of a single journey (``forward``) uses its own events only.
3. the head by full-batch L-BFGS on the train journeys (:meth:`fit_head`, binary cross-entropy).

Held-out event likelihood (:meth:`event_log_likelihood`, a lower bound: the ELBO) is compared
with a Markov chain of the same tokens without a latent (:meth:`markov_event_log_likelihood`) to
check that the latent carries something.

Defaults: embedding_dim 16, hidden_size 32, latent_dim 1, free_bits 0.1, dropout 0.0, pretrain_epochs 60
(the held-out ELBO stops improving after ~10 at the default simulation), pretrain_lr 1e-2.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from ml.data import FeatureSpec, JourneyBatch
from ml.data.sequences import NUMERIC_FEATURES
from ml.models.base import SequenceModel, last_real_step
from ml.models.registry import register

_SPONSORED = NUMERIC_FEATURES.index("is_sponsored")
# Probabilists' Gauss-Hermite nodes and weights: E f(xi), xi ~ N(0, 1) = sum_i w_i f(x_i).
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(20)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()


_HEAD_PARAMETERS = ("intercept", "intent_strength", "event_effect", "sponsored_effect", "log_position_weight")


@dataclass
class JourneyEvents:
    """Some journeys' events, flat, with what the head needs, and q(u | full journey) of each."""

    journeys: np.ndarray  # indices into the SequenceData, in order
    journey_of_event: np.ndarray  # [E] 0..len(journeys)-1
    rows: np.ndarray  # [E] flat event rows of the SequenceData
    event_embedding: torch.Tensor  # [E, d] E[event]
    sponsored: torch.Tensor  # [E] 0/1
    mu: torch.Tensor  # [J, k]
    logvar: torch.Tensor  # [J, k]

    def take(self, positions: np.ndarray) -> "JourneyEvents":
        """The journeys at ``positions`` (indices into ``journeys``, repeats allowed: a bootstrap
        resample), their events in order."""
        positions = np.asarray(positions, dtype=np.int64)
        lengths = np.bincount(self.journey_of_event, minlength=len(self.journeys))
        starts = np.cumsum(lengths) - lengths
        taken = lengths[positions]
        flat = np.repeat(starts[positions] - (np.cumsum(taken) - taken), taken) + np.arange(int(taken.sum()))
        return JourneyEvents(
            journeys=self.journeys[positions], journey_of_event=np.repeat(np.arange(len(positions)), taken),
            rows=self.rows[flat], event_embedding=self.event_embedding[flat], sponsored=self.sponsored[flat],
            mu=self.mu[positions], logvar=self.logvar[positions],
        )

    def positions(self, kept: np.ndarray) -> torch.Tensor:
        """1-based rank of each event among the kept events of its journey."""
        kept_so_far = np.cumsum(kept)
        first = np.searchsorted(self.journey_of_event, self.journey_of_event, side="left")
        return torch.as_tensor(kept_so_far - (kept_so_far[first] - kept[first]))


class IntentTerms(NamedTuple):
    """One forward's parts: the posterior of u and the events' additive terms."""

    mu: torch.Tensor  # [B, k]
    logvar: torch.Tensor  # [B, k]
    event_logit: torch.Tensor  # [B]: sum_t h_t


def user_codes(data) -> np.ndarray:
    """Per journey of ``data``: a code of its user (from ``labels_frame.user_id``), or its own code
    when the labels carry no user (then nothing is pooled)."""
    labels = data.labels_frame
    if labels is None or "user_id" not in labels.columns:
        return np.arange(data.n_journeys)
    users = labels.drop_duplicates("journey_id").set_index("journey_id")["user_id"].reindex(data.journey_id)
    codes, _ = pd.factorize(users.astype(object).where(users.notna(), pd.Series(data.journey_id, index=users.index)))
    return codes


def _own_evidence(mu: torch.Tensor, logvar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """What a journey's events say about its intent on their own: q(u | journey) = N(0, 1) prior x
    N(l, 1/lambda), so lambda = 1/sigma^2 - 1 and l = mu / (sigma^2 lambda) (lambda floored)."""
    precision = torch.exp(-logvar.double())
    evidence = torch.clamp(precision - 1.0, min=1e-4)
    return mu.double() * precision / evidence, evidence


def pooled_posterior(mu: torch.Tensor, logvar: torch.Tensor, users: np.ndarray, share: float
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Each journey's intent from its own events and, leave-one-out, its user's other journeys.

    Intent z_j = v_user + e_j with v ~ N(0, rho) and e_j ~ N(0, 1 - rho) (rho = ``share``; the
    total stays the encoder's N(0, 1) prior). Journey k's evidence N(l_k, 1/lambda_k) says about
    v: N(l_k, 1/lambda_k + 1 - rho), weight w_k = 1 / (1/lambda_k + 1 - rho). Leaving journey j
    out, v ~ N(M, 1/P) with P = 1/rho + sum_{k != j} w_k and M = sum_{k != j} w_k l_k / P, so the
    prior of z_j is N(M, 1/P + 1 - rho), combined with j's own evidence:

        precision_j = 1 / (1/P + 1 - rho) + lambda_j,   mean_j = (M / (1/P + 1 - rho) + lambda_j l_j) / precision_j.

    rho = 0 gives back q(u | journey) itself. Returns (mean, log variance) [J, k], float32.
    """
    if share <= 0:
        return mu, logvar
    share = min(share, 1 - 1e-6)
    level, evidence = _own_evidence(mu, logvar)
    weight = 1.0 / (1.0 / evidence + 1.0 - share)
    index = torch.as_tensor(users, dtype=torch.long)
    n_users = int(index.max()) + 1 if len(index) else 0
    total_w = torch.zeros((n_users, mu.shape[1]), dtype=torch.float64).index_add_(0, index, weight)
    total_wl = torch.zeros((n_users, mu.shape[1]), dtype=torch.float64).index_add_(0, index, weight * level)
    others = 1.0 / share + total_w[index] - weight
    others_mean = (total_wl[index] - weight * level) / others
    prior_variance = 1.0 / others + 1.0 - share
    precision = 1.0 / prior_variance + evidence
    mean = (others_mean / prior_variance + evidence * level) / precision
    return mean.float(), (-torch.log(precision)).float()


def fit_user_share(mu: torch.Tensor, logvar: torch.Tensor, users: np.ndarray, grid: int = 39) -> float:
    """rho maximizing the marginal likelihood of the journeys' evidence, user by user:
    l_user ~ N(0, rho 1 1' + diag(1 - rho + 1/lambda_k)) (the determinant lemma keeps it per user
    sums); 0 when no user has two journeys."""
    level, evidence = _own_evidence(mu, logvar)
    index = torch.as_tensor(users, dtype=torch.long)
    if len(index) == 0 or torch.bincount(index).max() < 2:
        return 0.0
    n_users = int(index.max()) + 1
    best, best_share = -np.inf, 0.0
    for share in np.linspace(0.0, 0.95, grid):
        diagonal = 1.0 - share + 1.0 / evidence
        sum_inv = torch.zeros((n_users, mu.shape[1]), dtype=torch.float64).index_add_(0, index, 1.0 / diagonal)
        sum_l = torch.zeros((n_users, mu.shape[1]), dtype=torch.float64).index_add_(0, index, level / diagonal)
        log_det = torch.log(diagonal).sum() + torch.log1p(share * sum_inv).sum()
        quadratic = (level.pow(2) / diagonal).sum() - (share * sum_l.pow(2) / (1.0 + share * sum_inv)).sum()
        value = float(-0.5 * (log_det + quadratic))
        if value > best:
            best, best_share = value, float(share)
    return best_share


def _linear_interpolation_basis(points: np.ndarray, knots: np.ndarray) -> torch.Tensor:
    """[len(points), len(knots)]: row i holds the weights that interpolate linearly between the
    two knots around points[i] (constant beyond the last)."""
    basis = np.zeros((len(points), len(knots)), dtype=np.float32)
    for i, point in enumerate(points):
        j = int(np.clip(np.searchsorted(knots, point, side="right") - 1, 0, len(knots) - 1))
        if j == len(knots) - 1:
            basis[i, j] = 1.0
        else:
            share = (point - knots[j]) / (knots[j + 1] - knots[j])
            basis[i, j], basis[i, j + 1] = 1.0 - share, share
    return torch.from_numpy(basis)


def expected_sigmoid_logit(mean: torch.Tensor, sd: torch.Tensor) -> torch.Tensor:
    """logit of E sigmoid(mean + sd * xi), xi ~ N(0, 1), by 20-point Gauss-Hermite quadrature."""
    nodes = torch.as_tensor(_GH_NODES, dtype=mean.dtype, device=mean.device)
    weights = torch.as_tensor(_GH_WEIGHTS, dtype=mean.dtype, device=mean.device)
    p = (torch.sigmoid(mean.unsqueeze(-1) + sd.unsqueeze(-1) * nodes) * weights).sum(-1)
    p = p.clamp(1e-7, 1 - 1e-7)
    return torch.log(p) - torch.log1p(-p)


@register("latent_intent")
class LatentIntentClassifier(SequenceModel):
    """Encoder q(u | journey), weak decoder p(token | previous token, u), additive conversion head
    (see the module docstring for the model written out)."""

    trains_by_epochs = False  # pretrain fits the events' model, then the head by L-BFGS
    scores_journeys = False  # an estimator of effects: never the registered scoring model

    def __init__(
        self,
        spec: FeatureSpec,
        embedding_dim: int = 16,
        hidden_size: int = 32,
        latent_dim: int = 1,
        free_bits: float = 0.1,
        dropout: float = 0.0,
        pretrain_epochs: int = 60,
        pretrain_lr: float = 1e-2,
    ):
        super().__init__(spec, embedding_dim)
        if latent_dim < 1:
            raise ValueError("latent_dim must be >= 1")
        self.latent_dim, self.free_bits, self.embedding_dim = latent_dim, free_bits, embedding_dim
        self.pretrain_epochs, self.pretrain_lr = pretrain_epochs, pretrain_lr
        self.event_column = spec.categorical_names.index("event")
        self.event_slice = slice(self.event_column * embedding_dim, (self.event_column + 1) * embedding_dim)
        self.sponsored_column = spec.n_categorical * embedding_dim + _SPONSORED
        n_events = spec.vocab_sizes[self.event_column]
        self.n_tokens = 2 * n_events + 1  # (event, sponsored) pairs, then end-of-journey
        self.end_token = self.n_tokens - 1  # also the BOS input

        self.input_dropout = nn.Dropout(dropout)
        self.encoder = nn.GRU(self.input_dim, hidden_size, batch_first=True)
        self.to_mu = nn.Linear(hidden_size, latent_dim)
        self.to_logvar = nn.Linear(hidden_size, latent_dim)

        self.transition = nn.Embedding(self.n_tokens, self.n_tokens)
        nn.init.zeros_(self.transition.weight)
        self.intent_loading = nn.Linear(latent_dim, self.n_tokens, bias=False)

        self.intercept = nn.Parameter(torch.zeros(()))
        self.intent_strength = nn.Parameter(torch.full((latent_dim,), 0.1))  # gamma
        self.event_effect = nn.Linear(embedding_dim, 1, bias=False)  # v
        self.sponsored_effect = nn.Linear(embedding_dim, 1, bias=False)  # s
        # log w(position): piecewise linear in log(position) between knots at 1, 2, 4, ..., max_len
        knots = np.unique(np.minimum(2 ** np.arange(int(np.ceil(np.log2(max(spec.max_len, 2)))) + 1), spec.max_len))
        self.register_buffer("position_basis", _linear_interpolation_basis(np.log(np.arange(1, spec.max_len + 1)),
                                                                           np.log(knots)))
        self.log_position_weight = nn.Parameter(torch.zeros(len(knots)))
        self.head = nn.Identity()  # the head is the additive logit above; kept for the contract
        self.register_buffer("user_intent_share", torch.zeros(()))  # rho, fitted in pretrain

    # -- the parts --------------------------------------------------------------------------
    def posterior(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, log sigma^2) [B, k] of q(u | journey); a journey with no events gets the encoder's
        output for the zero state."""
        outputs, _ = self.encoder(self.input_dropout(x))
        h_last = last_real_step(outputs, mask)
        return self.to_mu(h_last), self.to_logvar(h_last).clamp(-10.0, 10.0)

    def event_terms(self, event_embedding: torch.Tensor, sponsored: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """h_t for events given their embeddings E[event] [..., d], is_sponsored [...] and 1-based
        positions [...] (clamped to 1..max_len)."""
        effect = self.event_effect(event_embedding).squeeze(-1) + sponsored * self.sponsored_effect(event_embedding).squeeze(-1)
        index = (positions.long() - 1).clamp(0, self.position_basis.shape[0] - 1)
        return effect * self.position_weights()[index]

    def position_weights(self) -> torch.Tensor:
        """w(position) for positions 1..max_len."""
        return torch.exp(self.position_basis @ self.log_position_weight)

    def parts(self, x: torch.Tensor, mask: torch.Tensor) -> IntentTerms:
        mu, logvar = self.posterior(x, mask)
        positions = torch.cumsum(mask.long(), dim=1)  # rank among the events the model sees
        h = self.event_terms(x[..., self.event_slice], x[..., self.sponsored_column], positions)
        return IntentTerms(mu, logvar, (h * mask).sum(dim=1))

    def conversion_logit(self, mu: torch.Tensor, logvar: torch.Tensor, event_logit: torch.Tensor) -> torch.Tensor:
        """logit of E_{u ~ N(mu, sigma^2)} sigmoid(c + gamma . u + event_logit)."""
        mean = self.intercept + mu @ self.intent_strength + event_logit
        sd = torch.sqrt((logvar.exp() * self.intent_strength.pow(2)).sum(-1) + 1e-12)
        return expected_sigmoid_logit(mean, sd)

    # -- the SequenceModel contract ---------------------------------------------------------
    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """What the head reads [B, 2k + 1]: the posterior mean and log variance of intent from the
        journey's own events, and the events' summed terms sum_t h_t."""
        terms = self.parts(x, mask)
        return torch.cat([terms.mu, terms.logvar, terms.event_logit.unsqueeze(-1)], dim=-1)

    def forward_from_embeddings(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        terms = self.parts(x, mask)
        return self.conversion_logit(terms.mu, terms.logvar, terms.event_logit)

    # -- training ---------------------------------------------------------------------------
    def tokens(self, batch: JourneyBatch) -> torch.Tensor:
        """token_t = 2 * event index + is_sponsored [B, L] (0 on padding, which is never a target)."""
        sponsored = batch.numeric[..., _SPONSORED].round().long()
        return 2 * batch.categorical[..., self.event_column] + sponsored

    def reconstruction_loss(self, u: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Per journey: sum over the events and the end token of -log p(token_t | token_{t-1}, u)."""
        batch, width = tokens.shape
        lengths = mask.sum(dim=1)
        end = torch.full((batch, 1), self.end_token, dtype=tokens.dtype, device=tokens.device)
        targets = torch.cat([torch.where(mask, tokens, end.expand(-1, width)), end], dim=1)  # [B, L+1]
        previous = torch.cat([end, targets[:, :-1]], dim=1)
        logits = self.transition(previous) + self.intent_loading(u).unsqueeze(1)
        losses = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
        steps = torch.arange(width + 1, device=tokens.device).unsqueeze(0)
        return (losses * (steps <= lengths.unsqueeze(1))).sum(dim=1)

    def kl_terms(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """KL(q(u | journey) || N(0, I)) per journey and dimension [B, k]."""
        return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)

    def elbo_loss(self, batch: JourneyBatch) -> torch.Tensor:
        """Minus the ELBO of the batch's tokens, summed: sum_t -log p(token_t | token_{t-1}, u) at a
        draw u = mu + sigma * eps, plus the KL with free bits, sum_k max(free_bits, mean_batch KL_k) * B."""
        mu, logvar = self.posterior(self.embed(batch), batch.mask)
        u = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        kl = self.kl_terms(mu, logvar)
        return (self.reconstruction_loss(u, self.tokens(batch), batch.mask).sum()
                + torch.clamp(kl.mean(dim=0), min=self.free_bits).sum() * len(batch))

    def pretrain(self, data, train_indices, config, log) -> None:
        """Fit the events' model first, then the head, and freeze what reads intent.

        1. The embeddings, encoder and decoder by the ELBO alone (Adam, ``pretrain_epochs`` passes
           at most, stopping when the validation ELBO stops improving), so u is intent as the
           events reveal it and owes nothing to the labels. The transition logits start at the
           train journeys' smoothed log transition frequencies (the Markov chain without a latent),
           so the latent only has to add what differs between journeys.
        2. Those parts frozen; the head (c, gamma, v, s, w) by full-batch L-BFGS on the train
           journeys (:meth:`fit_head`). The trainer's epochs then fine-tune the head only.
        """
        from ml.data import journey_loader  # the data layer's loader; models import it lazily

        with torch.no_grad():
            self.transition.weight.copy_(torch.as_tensor(self.markov_log_transitions(data, train_indices)))
        generative = [p for name, p in self.named_parameters() if not name.startswith(_HEAD_PARAMETERS)]
        optimizer = torch.optim.Adam(generative, lr=self.pretrain_lr)
        loader = journey_loader(data, train_indices, config.batch_size, shuffle=True, bucketing=config.bucketing,
                                seed=config.seed)
        validation = data.indices("validation")
        best, best_state, stale = -float("inf"), None, 0
        for epoch in range(1, self.pretrain_epochs + 1):
            self.train()
            total = 0.0
            for batch in loader:
                loss = self.elbo_loss(batch)
                optimizer.zero_grad(set_to_none=True)
                (loss / len(batch)).backward()
                nn.utils.clip_grad_norm_(generative, 1.0)
                optimizer.step()
                total += float(loss.detach())
            self.eval()
            held_out = validation if len(validation) else np.asarray(train_indices)
            score = float(np.mean(self.mean_event_log_likelihood(data, held_out)))
            log(f"latent intent, events model epoch {epoch}: train {-total / len(train_indices):.3f} nats a journey, "
                f"held-out ELBO {score:.3f}")
            if score > best + 1e-3:
                best, stale = score, 0
                best_state = copy.deepcopy(self.state_dict())
            else:
                stale += 1
                if stale >= 2:
                    break
        if best_state is not None:
            self.load_state_dict(best_state)
        for p in generative:
            p.requires_grad_(False)
        self.eval()
        mu, logvar = self.own_posteriors(data, np.arange(data.n_journeys))
        users = user_codes(data)
        self.user_intent_share.fill_(fit_user_share(mu, logvar, users))
        log(f"latent intent: the user's share of intent {float(self.user_intent_share):.2f} (from how the intent of a "
            "user's journeys agrees; 0 when no journeys share a user)")
        pooled = pooled_posterior(mu, logvar, users, float(self.user_intent_share))
        train = self.journey_events(data, np.asarray(train_indices), posteriors=pooled)
        self.fit_head(data, train)
        log(f"latent intent, head fitted by L-BFGS: intent strength gamma {self.intent_strength.detach().numpy().round(3)}")

    def journey_tokens(self, data, journeys) -> tuple[np.ndarray, np.ndarray]:
        """(previous token, token) of every step of ``journeys``, the end token included (the
        decoder's targets, flat): the pairs a first-order Markov chain of tokens counts."""
        journeys = np.asarray(journeys, dtype=np.int64)
        rows = data.event_rows(journeys)
        tokens = 2 * data.categorical[rows, self.event_column] + np.rint(data.numeric[rows, _SPONSORED]).astype(np.int64)
        lengths = data.lengths[journeys]
        # Each journey: begin, its tokens, end; pairs are consecutive elements within a journey.
        path_lengths = lengths + 2
        starts = np.cumsum(path_lengths) - path_lengths
        path = np.full(int(path_lengths.sum()), self.end_token, dtype=np.int64)
        inner = np.repeat(starts + 1, lengths) + (np.arange(len(rows)) - np.repeat(np.cumsum(lengths) - lengths, lengths))
        path[inner] = tokens
        pair_start = np.ones(len(path), dtype=bool)
        pair_start[np.cumsum(path_lengths) - 1] = False  # a journey's last element starts no pair
        return path[:-1][pair_start[:-1]], path[1:][pair_start[:-1]]

    def markov_log_transitions(self, data, journeys, smoothing: float = 0.5) -> np.ndarray:
        """log p(token | previous token) of a first-order chain fitted on ``journeys`` by counting,
        with additive ``smoothing``: the decoder without a latent."""
        previous, token = self.journey_tokens(data, journeys)
        counts = np.full((self.n_tokens, self.n_tokens), smoothing)
        np.add.at(counts, (previous, token), 1.0)
        return np.log(counts / counts.sum(axis=1, keepdims=True)).astype(np.float32)

    def markov_event_log_likelihood(self, data, train_journeys, journeys, smoothing: float = 0.5) -> np.ndarray:
        """Per journey of ``journeys``: log p(tokens) under the chain fitted on ``train_journeys``
        (:meth:`markov_log_transitions`), in nats: the baseline the latent decoder must beat."""
        log_p = self.markov_log_transitions(data, train_journeys, smoothing)
        previous, token = self.journey_tokens(data, journeys)
        steps = data.lengths[np.asarray(journeys, dtype=np.int64)] + 1
        return np.bincount(np.repeat(np.arange(len(steps)), steps), weights=log_p[previous, token], minlength=len(steps))

    @torch.no_grad()
    def mean_event_log_likelihood(self, data, journeys, batch_size: int = 1024) -> np.ndarray:
        """Per journey of ``journeys``: :meth:`event_log_likelihood`."""
        from ml.data import collate_journeys

        journeys = np.asarray(journeys, dtype=np.int64)
        parts = [self.event_log_likelihood(collate_journeys(data, journeys[s:s + batch_size]))
                 for s in range(0, len(journeys), batch_size)]
        return torch.cat(parts).numpy() if parts else np.zeros(0)

    # -- intent held: the head over flat events ----------------------------------------------
    @torch.no_grad()
    def own_posteriors(self, data, journeys, batch_size: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, log sigma^2) [J, k] of q(u | journey) from each journey's own events."""
        from ml.data import collate_journeys

        journeys = np.asarray(journeys, dtype=np.int64)
        mus, logvars = [], []
        for start in range(0, len(journeys), batch_size):
            batch = collate_journeys(data, journeys[start:start + batch_size])
            mu, logvar = self.posterior(self.embed(batch), batch.mask)
            mus.append(mu)
            logvars.append(logvar)
        if not mus:
            return torch.zeros((0, self.latent_dim)), torch.zeros((0, self.latent_dim))
        return torch.cat(mus), torch.cat(logvars)

    def intent_posteriors(self, data, batch_size: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, log sigma^2) [N, k] of every journey of ``data``: its intent inferred from its full
        journey and its user's other journeys (:func:`pooled_posterior`, with the user's share of
        intent fitted in pre-training). Pooling reads every journey, so callers that need several
        subsets compute this once and pass it to :meth:`journey_events`."""
        mu, logvar = self.own_posteriors(data, np.arange(data.n_journeys), batch_size)
        return pooled_posterior(mu, logvar, user_codes(data), float(self.user_intent_share))

    @torch.no_grad()
    def journey_events(self, data, journeys, batch_size: int = 1024,
                       posteriors: tuple[torch.Tensor, torch.Tensor] | None = None) -> "JourneyEvents":
        """The flat events of ``journeys`` (indices into ``data``) and the posterior of each one's
        intent (``posteriors``, every journey's :meth:`intent_posteriors`, computed when None)."""
        journeys = np.asarray(journeys, dtype=np.int64)
        mu, logvar = posteriors if posteriors is not None else self.intent_posteriors(data, batch_size)
        rows = data.event_rows(journeys)
        event_index = torch.as_tensor(data.categorical[rows, self.event_column], dtype=torch.long)
        return JourneyEvents(
            journeys=journeys,
            journey_of_event=np.repeat(np.arange(len(journeys)), data.lengths[journeys]),
            rows=rows,
            event_embedding=self.embedding.tables[self.event_column](event_index),
            sponsored=torch.as_tensor(data.numeric[rows, _SPONSORED], dtype=torch.float32),
            mu=mu[journeys],
            logvar=logvar[journeys],
        )

    def held_intent_probabilities(self, events: "JourneyEvents", kept: np.ndarray | None = None,
                                  sponsored: torch.Tensor | None = None) -> torch.Tensor:
        """p(convert) per journey of ``events`` with u ~ q(u | full journey) held, over the ``kept``
        events (all when None) at their re-ranked positions; ``sponsored`` replaces the flags."""
        if kept is None:
            kept = np.ones(len(events.rows), dtype=bool)
        h = self.event_terms(events.event_embedding, events.sponsored if sponsored is None else sponsored,
                             events.positions(kept))
        h = h * torch.as_tensor(kept, dtype=h.dtype)
        event_logit = torch.zeros(len(events.journeys), dtype=h.dtype).index_add_(
            0, torch.as_tensor(events.journey_of_event), h)
        return torch.sigmoid(self.conversion_logit(events.mu, events.logvar, event_logit))

    def fit_head(self, data, train: "JourneyEvents", intent_strength: torch.Tensor | None = None,
                 steps: int = 100) -> None:
        """Refit the head on the ``train`` journeys by full-batch L-BFGS (binary cross-entropy);
        gamma too unless ``intent_strength`` fixes it. Encoder and embeddings are untouched."""
        head = [self.intercept, self.event_effect.weight, self.sponsored_effect.weight, self.log_position_weight]
        if intent_strength is not None:
            self.intent_strength.data = torch.as_tensor(intent_strength, dtype=torch.float32).clone()
        else:
            head.append(self.intent_strength)
        was = {name: p.requires_grad for name, p in self.named_parameters()}
        for p in self.parameters():
            p.requires_grad_(False)
        for p in head:
            p.requires_grad_(True)
        labels = torch.as_tensor(data.label[train.journeys])
        optimizer = torch.optim.LBFGS(head, max_iter=steps, line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            p = self.held_intent_probabilities(train).clamp(1e-7, 1 - 1e-7)
            loss = F.binary_cross_entropy(p, labels)
            loss.backward()
            return loss

        optimizer.step(closure)
        for name, p in self.named_parameters():
            p.requires_grad_(was[name])

    @torch.no_grad()
    def event_log_likelihood(self, batch: JourneyBatch) -> torch.Tensor:
        """Per journey: the ELBO of its tokens, E_q log p(tokens | u) - KL (one draw of u at the
        posterior mean, a lower bound up to that approximation), in nats."""
        x = self.embed(batch)
        mu, logvar = self.posterior(x, batch.mask)
        return -self.reconstruction_loss(mu, self.tokens(batch), batch.mask) - self.kl_terms(mu, logvar).sum(-1)

