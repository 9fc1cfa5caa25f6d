"""Sequence VAE: GRU encoder to a latent journey, GRU decoder of the events, head on the latent mean."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from ml.data import FeatureSpec, JourneyBatch
from ml.models.base import SequenceModel, last_real_step
from ml.models.registry import register


class VAETerms(NamedTuple):
    """One forward of :class:`SequenceVAEClassifier`, every term summed over the batch."""

    logits: torch.Tensor  # [B] conversion logits, from mu
    reconstruction: torch.Tensor  # scalar: sum of -log p(event_t | z, events_<t) over real events
    kl: torch.Tensor  # scalar: sum of KL(q(z | x) || N(0, I)) over journeys
    mu: torch.Tensor  # [B, latent_dim]
    logvar: torch.Tensor  # [B, latent_dim], log sigma^2


@register("seq_vae")
class SequenceVAEClassifier(SequenceModel):
    """A sequence VAE whose latent mean classifies conversion.

    Encoder:  z_t = ReLU(W_in x_t),  h_T = GRU_enc(z)_T  (state after the last real event),
              mu = W_mu h_T,  log sigma^2 = W_lv h_T.
    Latent:   z = mu + sigma * eps, eps ~ N(0, I) while training; z = mu otherwise.
    Decoder:  g_0 = tanh(W_z z),  g_t = GRU_dec(E[e_{t-1}], g_{t-1}) with e_0 = BOS
              (teacher forcing), p(e_t | z, e_<t) = softmax(W_out g_t), e_t the
              ``target_feature`` vocabulary index of event t.
    Head:     logit = w . mu + b  (mu is the representation; prediction never samples,
              so inference is deterministic).

    Training minimises, through :meth:`training_outputs`,

        BCE(logit, y) + recon_weight * ( sum_t -log p(e_t | z, e_<t) + beta(epoch) * KL ),
        KL = 1/2 sum_k (mu_k^2 + sigma_k^2 - 1 - log sigma_k^2),

    every term summed over the batch; beta anneals linearly per epoch,
    beta(epoch) = min(1, (epoch - 1) / kl_anneal_epochs): 0 at epoch 1, 1 from epoch
    kl_anneal_epochs + 1 on (:meth:`kl_weight`), so the decoder first learns to use z
    before the prior pulls it in. recon_weight scales the generative terms against
    the one BCE term per journey: a journey of ~13 events costs ~13 nats of
    reconstruction, so 0.1 keeps conversion the main objective.

    A journey with no events keeps h_T = 0, so mu is a constant and its reconstruction
    term is empty.

    Defaults: embedding_dim 16, hidden_size 64, latent_dim 16, decoder_embedding_dim 16,
    recon_weight 0.1, kl_anneal_epochs 4, dropout 0.1, target_feature "event".
    """

    def __init__(
        self,
        spec: FeatureSpec,
        embedding_dim: int = 16,
        hidden_size: int = 64,
        latent_dim: int = 16,
        decoder_embedding_dim: int = 16,
        recon_weight: float = 0.1,
        kl_anneal_epochs: int = 4,
        dropout: float = 0.1,
        target_feature: str = "event",
    ):
        super().__init__(spec, embedding_dim)
        if kl_anneal_epochs < 0:
            raise ValueError("kl_anneal_epochs must be >= 0")
        self.recon_weight = recon_weight
        self.kl_anneal_epochs = kl_anneal_epochs
        self.target_column = spec.categorical_names.index(target_feature)
        n_targets = spec.vocab_sizes[self.target_column]
        self.bos_index = n_targets  # one slot past the vocabulary: the start-of-journey input

        self.input_projection = nn.Sequential(nn.Linear(self.input_dim, hidden_size), nn.ReLU(), nn.Dropout(dropout))
        self.encoder = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.to_mu = nn.Linear(hidden_size, latent_dim)
        self.to_logvar = nn.Linear(hidden_size, latent_dim)

        self.decoder_embedding = nn.Embedding(n_targets + 1, decoder_embedding_dim, padding_idx=0)
        self.latent_to_state = nn.Linear(latent_dim, hidden_size)
        self.decoder = nn.GRU(decoder_embedding_dim, hidden_size, batch_first=True)
        self.decoder_output = nn.Linear(hidden_size, n_targets)
        self.head = nn.Linear(latent_dim, 1)

    def kl_weight(self, epoch: int) -> float:
        """beta(epoch) = min(1, (epoch - 1) / kl_anneal_epochs); epochs start at 1."""
        if self.kl_anneal_epochs == 0:
            return 1.0
        return min(1.0, max(0.0, (epoch - 1) / self.kl_anneal_epochs))

    def _posterior(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs, _ = self.encoder(self.input_projection(x))
        h_last = last_real_step(outputs, mask)
        # Bounded log-variance: exp() of an early outlier must not overflow the KL term.
        return self.to_mu(h_last), self.to_logvar(h_last).clamp(-10.0, 10.0)

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The latent mean mu [B, latent_dim]: the representation the head reads."""
        return self._posterior(x, mask)[0]

    def reconstruction_loss(self, z: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """sum over real events of -log p(e_t | z, e_<t); ``targets`` [B, L] vocabulary indices."""
        # Teacher forcing: step t reads the true event t-1 (BOS at t = 0).
        previous = torch.cat([torch.full_like(targets[:, :1], self.bos_index), targets[:, :-1]], dim=1)
        initial = torch.tanh(self.latent_to_state(z)).unsqueeze(0)
        states, _ = self.decoder(self.decoder_embedding(previous), initial)
        logits = self.decoder_output(states)
        # Right padding: real steps never read a padded step, so padding cannot leak in.
        losses = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
        return (losses * mask).sum()

    def elbo_terms(self, batch: JourneyBatch) -> VAETerms:
        """Logits, reconstruction and KL of ``batch`` in one forward (z sampled only in training)."""
        x = self.embed(batch)
        mu, logvar = self._posterior(x, batch.mask)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if self.training else mu
        targets = batch.categorical[..., self.target_column]
        reconstruction = self.reconstruction_loss(z, targets, batch.mask)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum()
        logits = self.head(mu).squeeze(-1)
        return VAETerms(logits, reconstruction, kl, mu, logvar)

    def training_outputs(self, batch: JourneyBatch, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, recon_weight * (reconstruction + beta(epoch) * KL)), summed over the batch."""
        terms = self.elbo_terms(batch)
        extra = self.recon_weight * (terms.reconstruction + self.kl_weight(epoch) * terms.kl)
        return terms.logits, extra
