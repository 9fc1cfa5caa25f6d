"""Sequential-recommendation families: GRU4Rec, SASRec and BERT4Rec, seeded and tiny."""

import numpy as np
import pytest
import torch
from torch import nn

from ml.data import build_sequence_data, collate_journeys, planted_signal_frames
from ml.evaluation import model_metrics
from ml.models import build_model
from ml.training import TrainConfig, train_model

torch.set_num_threads(1)  # tiny models: a second thread only adds contention

FAMILIES = ("gru4rec", "sasrec", "bert4rec")
TINY = {
    "gru4rec": {"hidden_size": 16, "embedding_dim": 4},
    "sasrec": {"d_model": 16, "n_heads": 2, "n_layers": 2, "embedding_dim": 4},
    "bert4rec": {"d_model": 16, "n_heads": 2, "n_layers": 2, "embedding_dim": 4, "pretrain_epochs": 2},
}
FAST = TrainConfig(epochs=8, patience=3, batch_size=32, lr=1e-2, seed=0, num_threads=1, log_every=0)
# Event shares of planted_signal_frames: events are drawn independently of their context,
# so the best masked-event predictor is the marginal, with cross-entropy H = -sum p log p.
EVENT_SHARES = np.array([0.4, 0.06, 0.2, 0.19, 0.15])
EVENT_ENTROPY = float(-(EVENT_SHARES * np.log(EVENT_SHARES)).sum())  # 1.457 nats


@pytest.fixture(scope="module")
def data():
    return build_sequence_data(*planted_signal_frames(n_journeys=1500, seed=0), max_len=16)


def tiny_model(name, data, **overrides):
    torch.manual_seed(0)
    return build_model(name, data.spec, **{**TINY[name], **overrides})


@pytest.mark.parametrize("name", FAMILIES)
def test_each_family_learns_the_planted_signal(name, data):
    lines = []
    result = train_model(tiny_model(name, data), data, FAST, log=lines.append)
    metrics = model_metrics(result.model, data).set_index("split")
    # Journeys holding the planted click convert far more often; the oracle AUC is ~0.77.
    assert metrics.loc["test", "auc"] > 0.7
    batch = collate_journeys(data, data.indices("test")[:16])
    with torch.no_grad():
        # The representation is exactly what the head classifies.
        assert torch.allclose(result.model.head(result.model.representation(batch)).squeeze(-1), result.model(batch))


# -- gru4rec --


def test_gru4rec_representation_is_the_gru_state_after_the_last_real_event(data):
    model = tiny_model("gru4rec", data).eval()
    lengths = data.lengths
    journeys = [int(np.flatnonzero(lengths == n)[0]) for n in (1, 5, lengths.max())]
    batch = collate_journeys(data, journeys)
    batch.mask[1] = False  # and one journey with every event removed
    batch.categorical[1] = 0
    batch.numeric[1] = 0
    with torch.no_grad():
        representation = model.representation(batch)
        x = model.embed(batch)
    # Step a GRUCell with the same weights through each journey's real events only.
    cell = nn.GRUCell(model.input_dim, model.gru.hidden_size)
    cell.load_state_dict({name[:-3]: value for name, value in model.gru.state_dict().items()})
    for row in range(len(journeys)):
        h = torch.zeros(1, model.gru.hidden_size)
        with torch.no_grad():
            for t in np.flatnonzero(batch.mask[row].numpy()):
                h = cell(x[row, t][None], h)
        assert torch.allclose(representation[row], h[0], atol=1e-5)
    assert (representation[1] == 0).all()


# -- sasrec --


def test_sasrec_blocks_future_and_padded_keys_but_never_a_whole_row(data):
    model = tiny_model("sasrec", data)
    mask = torch.tensor([[True, True, False], [False, False, False]])
    blocked = model.attention_blocked(mask)
    assert blocked.shape == (2 * model.n_heads, 3, 3)
    # Journey 0: each event sees itself and earlier events; the padded key 2 only itself.
    expected_0 = torch.tensor([[False, True, True], [False, False, True], [False, False, False]])
    # Journey 1 (all padding): the diagonal alone stays open, so no softmax row is empty.
    expected_1 = ~torch.eye(3, dtype=torch.bool)
    assert torch.equal(blocked[0], expected_0) and torch.equal(blocked[model.n_heads - 1], expected_0)
    assert torch.equal(blocked[model.n_heads], expected_1)
    empty = collate_journeys(data, [0])
    empty.mask[:] = False
    with torch.no_grad():
        assert torch.isfinite(model.sequence_outputs(model.embed(empty), empty.mask)).all()


def test_sasrec_is_causal(data):
    model = tiny_model("sasrec", data).eval()
    journey = int(np.argmax(data.lengths))
    batch = collate_journeys(data, [journey])
    changed = collate_journeys(data, [journey])
    t = 6
    # Replace every event after position t with a different event and numerics.
    events = changed.categorical[0, t + 1 :, 0]
    changed.categorical[0, t + 1 :, 0] = torch.where(events == 2, 3, 2)
    changed.numeric[0, t + 1 :] += 1.0
    with torch.no_grad():
        before = model.sequence_outputs(model.embed(batch), batch.mask)
        after = model.sequence_outputs(model.embed(changed), changed.mask)
        # The prefix alone, as a journey of t + 1 events: its representation is the output at t.
        prefix = collate_journeys(data, [journey])
        prefix.mask[0, t + 1 :] = False
        prefix_representation = model.representation(prefix)
    assert torch.allclose(before[0, : t + 1], after[0, : t + 1], atol=1e-6)
    assert not torch.allclose(before[0, t + 1 :], after[0, t + 1 :], atol=1e-3)
    assert torch.allclose(prefix_representation[0], before[0, t], atol=1e-5)
    # The full journey's representation is the output at its last position.
    assert torch.allclose(model.representation(batch)[0], before[0, -1], atol=1e-6)


# -- bert4rec --


def held_out_masked_event_loss(model, data, seed=123):
    """Mean cross-entropy per masked event over the validation journeys, with fixed masks."""
    generator = torch.Generator().manual_seed(seed)
    batch = collate_journeys(data, data.indices("validation"))
    masked = model.draw_masked_events(batch.mask, generator)
    model.eval()
    with torch.no_grad():
        return float(model.masked_event_loss(batch, masked)) / int(masked.sum())


def test_bert4rec_pretraining_learns_the_masked_events_and_changes_the_encoder(data):
    model = tiny_model("bert4rec", data, pretrain_epochs=3)
    encoder_before = {k: v.clone() for k, v in model.layers.state_dict().items()}
    head_before = {k: v.clone() for k, v in model.head.state_dict().items()}
    loss_before = held_out_masked_event_loss(model, data)

    lines = []
    config = TrainConfig(batch_size=32, lr=1e-2, seed=0)
    model.pretrain(data, data.indices("train"), config, lines.append)
    loss_after = held_out_masked_event_loss(model, data)

    assert [line.split(":")[0] for line in lines] == [f"pretrain epoch {e}/3" for e in (1, 2, 3)]
    # From near-uniform guessing to the marginal of the planted events, the best any model can do.
    assert loss_before > loss_after + 0.25
    assert loss_after == pytest.approx(EVENT_ENTROPY, abs=0.12)
    changed = [k for k, v in model.layers.state_dict().items() if not torch.equal(v, encoder_before[k])]
    assert len(changed) == len(encoder_before)
    # The conversion head is not part of the masked-event objective.
    assert all(torch.equal(v, head_before[k]) for k, v in model.head.state_dict().items())


def test_bert4rec_masks_about_the_configured_share_of_real_events_only(data):
    model = tiny_model("bert4rec", data, mask_probability=0.2)
    batch = collate_journeys(data, data.indices("train"))
    masked = model.draw_masked_events(batch.mask, torch.Generator().manual_seed(0))
    assert not (masked & ~batch.mask).any()
    assert float(masked.sum() / batch.mask.sum()) == pytest.approx(0.2, abs=0.02)


def test_bert4rec_pretrain_is_skipped_with_zero_epochs(data):
    model = tiny_model("bert4rec", data, pretrain_epochs=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    lines = []
    model.pretrain(data, data.indices("train"), TrainConfig(), lines.append)
    assert lines == [] and all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
