"""bilstm_transformer, seq_vae and srgnn: each learns the planted signal; their own mechanics."""

import math
from functools import lru_cache

import numpy as np
import pytest
import torch

from ml.data import JourneyBatch, build_sequence_data, collate_journeys, journey_loader, planted_signal_frames
from ml.evaluation import model_metrics
from ml.models import build_model
from ml.models.bilstm_transformer import sinusoidal_positions
from ml.models.srgnn import session_graph
from ml.training import TrainConfig, train_model

torch.set_num_threads(1)

SMALL = {
    "bilstm_transformer": {"d_model": 32, "n_heads": 2, "pool_heads": 2, "embedding_dim": 8},
    "seq_vae": {"hidden_size": 32, "latent_dim": 8, "decoder_embedding_dim": 8, "embedding_dim": 8},
    "srgnn": {"hidden_size": 32, "embedding_dim": 8},
}
CONFIG = TrainConfig(epochs=8, patience=3, batch_size=64, lr=5e-3, seed=0, num_threads=1, log_every=0)


@lru_cache(maxsize=1)
def planted_data():
    return build_sequence_data(*planted_signal_frames(n_journeys=1500, seed=0), max_len=16)


def small_model(name, **overrides):
    torch.manual_seed(0)
    return build_model(name, planted_data().spec, **{**SMALL[name], **overrides})


@lru_cache(maxsize=None)
def trained(name):
    return train_model(small_model(name), planted_data(), CONFIG, log=lambda _: None)


def hand_made_journey(spec, vocabularies, events):
    """One journey of (event, store_id, discovery_feature, is_sponsored) tuples as a JourneyBatch."""
    names = spec.categorical_names
    categorical = torch.full((1, len(events), len(names)), 2, dtype=torch.long)
    numeric = torch.zeros(1, len(events), spec.n_numeric)
    for t, (event, store, feature, sponsored) in enumerate(events):
        categorical[0, t, names.index("event")] = int(vocabularies["event"].encode([event])[0])
        categorical[0, t, names.index("store_id")] = int(vocabularies["store_id"].encode([store])[0])
        feature_index = vocabularies["discovery_feature"].encode([feature])[0]
        categorical[0, t, names.index("discovery_feature")] = int(feature_index)
        numeric[0, t] = torch.tensor([math.log1p(t + 1), math.log1p(30.0 * t), 0.0, float(sponsored)])
    return JourneyBatch(
        categorical=categorical,
        numeric=numeric,
        mask=torch.ones(1, len(events), dtype=torch.bool),
        label=torch.zeros(1),
        index=torch.zeros(1, dtype=torch.long),
    )


# -- every family ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SMALL))
def test_each_family_learns_the_planted_signal(name):
    result = trained(name)
    metrics = model_metrics(result.model, planted_data()).set_index("split")
    # Journeys holding the planted click convert far more often; the oracle test AUC is ~0.77.
    assert metrics.loc["test", "auc"] > 0.7
    assert result.model.representation(collate_journeys(planted_data(), np.arange(4))).shape[0] == 4


# -- bilstm_transformer -------------------------------------------------------


def test_sinusoidal_positions_known_values():
    table = sinusoidal_positions(3, 4)  # frequencies 1 and 10000^(-1/2) = 0.01
    expected = torch.tensor(
        [
            [0.0, 1.0, 0.0, 1.0],
            [math.sin(1), math.cos(1), math.sin(0.01), math.cos(0.01)],
            [math.sin(2), math.cos(2), math.sin(0.02), math.cos(0.02)],
        ]
    )
    assert torch.allclose(table, expected, atol=1e-6)


def test_attention_pooling_reads_only_real_events():
    model = small_model("bilstm_transformer").eval()
    data = planted_data()
    journeys = [int(np.flatnonzero(data.lengths == n)[0]) for n in (1, 5, 12)]
    batch = collate_journeys(data, journeys)
    captured = {}
    model.pooling.register_forward_hook(lambda _m, _i, out: captured.update(weights=out[1]))
    pooled = model.representation(batch)
    weights = captured["weights"][:, 0]  # [B, L], averaged over the pooling heads
    assert torch.allclose(weights.sum(dim=1), torch.ones(3), atol=1e-6)
    assert (weights[~batch.mask] == 0).all()
    # Each journey pools to the same vector alone as next to longer ones (the BiLSTM is packed).
    for row, journey in enumerate(journeys):
        alone = model.representation(collate_journeys(data, [journey]))
        assert torch.allclose(alone[0], pooled[row], atol=1e-5)
    # A journey with no events pools to exactly zero, so its logit is the head's bias.
    batch.mask[:] = False
    assert (model.representation(batch) == 0).all()


# -- seq_vae ---------------------------------------------------------------------


def test_kl_weight_anneals_linearly():
    model = small_model("seq_vae", kl_anneal_epochs=4)
    assert [model.kl_weight(epoch) for epoch in range(1, 8)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert small_model("seq_vae", kl_anneal_epochs=0).kl_weight(1) == 1.0


def test_training_loss_is_weighted_reconstruction_plus_annealed_kl():
    model = small_model("seq_vae", kl_anneal_epochs=4, recon_weight=0.3).train()
    batch = collate_journeys(planted_data(), np.arange(32))
    for epoch, beta in [(1, 0.0), (3, 0.5), (9, 1.0)]:
        torch.manual_seed(11)  # the same eps (and dropout) in both calls
        logits, extra = model.training_outputs(batch, epoch)
        torch.manual_seed(11)
        terms = model.elbo_terms(batch)
        assert torch.allclose(logits, terms.logits)
        assert extra.item() == pytest.approx(0.3 * (terms.reconstruction + beta * terms.kl).item(), rel=1e-5)
    # The KL term is the closed form of KL(N(mu, sigma^2) || N(0, I)), summed over the batch.
    posterior = torch.distributions.Normal(terms.mu, torch.exp(0.5 * terms.logvar))
    prior = torch.distributions.Normal(torch.zeros_like(terms.mu), torch.ones_like(terms.mu))
    expected = torch.distributions.kl_divergence(posterior, prior).sum()
    assert terms.kl.item() == pytest.approx(expected.item(), rel=1e-4)


def test_inference_is_deterministic_and_reads_the_latent_mean():
    model = small_model("seq_vae", dropout=0.0)
    batch = collate_journeys(planted_data(), np.arange(16))
    model.eval()
    first, second = model(batch), model(batch)
    assert torch.equal(first, second)
    terms = model.elbo_terms(batch)
    assert torch.equal(model.representation(batch), terms.mu)
    assert torch.allclose(model.head(terms.mu).squeeze(-1), first)
    # Training samples z for the decoder only: the logits still come from mu.
    model.train()
    (logits_a, extra_a), (logits_b, extra_b) = model.training_outputs(batch, 5), model.training_outputs(batch, 5)
    assert torch.equal(logits_a, logits_b) and torch.allclose(logits_a, first)
    assert extra_a.item() != extra_b.item()


def test_reconstruction_loss_falls_during_training():
    data = planted_data()

    @torch.no_grad()
    def nats_per_event(model):
        model.eval()
        journeys = data.indices("train")
        batches = journey_loader(data, journeys, 512, shuffle=False)
        return sum(model.elbo_terms(b).reconstruction.item() for b in batches) / data.lengths[journeys].sum()

    before = nats_per_event(small_model("seq_vae"))
    after = nats_per_event(trained("seq_vae").model)
    # Untrained: about log(7) = 1.95 nats over the 7-slot event vocabulary; the event
    # shares alone bring it to their entropy, 1.46 nats.
    assert before > 1.8
    assert after < 0.85 * before


# -- srgnn -------------------------------------------------------------------------


def test_session_graph_of_a_b_a_c():
    a, b, c = 7, 3, 9
    items = torch.tensor([[a, b, a, c, 0, 0]])  # two padded slots
    mask = torch.tensor([[True, True, True, True, False, False]])
    graph = session_graph(items, mask)
    # A's node lives in slot 0 (its first occurrence); the second A shares it.
    assert graph.alias[0, :4].tolist() == [0, 1, 0, 3]
    assert graph.node_mask[0].tolist() == [True, True, False, True, False, False]
    # Edges A->B, B->A, A->C. Outgoing rows divide by the out-degree (A has 2) ...
    outgoing = torch.zeros(6, 6)
    outgoing[0, 1] = outgoing[0, 3] = 0.5
    outgoing[1, 0] = 1.0
    assert torch.equal(graph.outgoing[0], outgoing)
    # ... incoming rows by the in-degree (each node has one predecessor).
    incoming = torch.zeros(6, 6)
    incoming[1, 0] = incoming[0, 1] = incoming[3, 0] = 1.0
    assert torch.equal(graph.incoming[0], incoming)


def test_session_graph_counts_a_repeated_edge_once_and_batches_independently():
    items = torch.tensor([[1, 2, 1, 2], [5, 5, 6, 0]])
    mask = torch.tensor([[True, True, True, True], [True, True, True, False]])
    graph = session_graph(items, mask)
    # A B A B: A->B twice, B->A once, all weight 1 after normalization.
    assert graph.outgoing[0, 0, 1] == 1.0 and graph.outgoing[0, 1, 0] == 1.0
    assert graph.outgoing[0].sum() == 2.0
    # X X Y: a self-loop X->X and X->Y, so X's out-degree is 2; Y's predecessor is X.
    assert graph.alias[1, :3].tolist() == [0, 0, 2]
    assert graph.outgoing[1, 0, 0] == 0.5 and graph.outgoing[1, 0, 2] == 0.5
    assert graph.incoming[1, 2, 0] == 1.0 and graph.incoming[1, 0, 0] == 1.0


def test_repeated_items_share_one_node_in_the_model():
    data = planted_data()
    model = small_model("srgnn").eval()
    journey = hand_made_journey(
        data.spec,
        data.vocabularies,
        [
            ("m_card_view", "s1", "Core Search", False),  # A
            ("m_card_click", "s2", "Core Search", False),  # B
            ("m_card_view", "s1", "Traditional Carousel", True),  # A again: other feature, sponsored
            ("store_page_load", "s1", "Core Search", False),  # C: same store, other event
        ],
    )
    x = model.embed(journey)
    ids = model.item_ids(x)
    assert ids[0, 0] == ids[0, 2] and len({int(i) for i in ids[0]}) == 3
    # The same graph survives the integrated-gradients path (every input scaled by alpha).
    scaled = session_graph(model.item_ids(0.3 * x), journey.mask)
    assert torch.equal(scaled.alias, session_graph(ids, journey.mask).alias)
    # The shared node averages both occurrences, so both receive gradient.
    x = x.detach().requires_grad_(True)
    model.forward_from_embeddings(x, journey.mask).sum().backward()
    assert (x.grad[0].norm(dim=-1) > 0).all()
