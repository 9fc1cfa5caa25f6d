"""ml.attribution: known answers on analytic models, and the design.md tables."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from ml.attribution import (
    EVENT_ATTRIBUTION_COLUMNS,
    AttentionAttribution,
    GradientXInput,
    IntegratedGradients,
    event_attribution,
    event_type_attribution,
    methods_for,
    normalize_scores,
    position_attribution,
    store_attribution,
)
from ml.data import build_sequence_data, collate_journeys, planted_signal_frames
from ml.models import SequenceModel, build_model

torch.set_num_threads(1)  # tiny models: a second thread only adds contention


class LinearSumModel(SequenceModel):
    """logit = w . sum_t x_t + b, so gradient x input of event t is exactly w . x_t."""

    def __init__(self, spec):
        super().__init__(spec, embedding_dim=1)
        self.head = nn.Linear(self.input_dim, 1)

    def encode(self, x, mask):
        return (x * mask.unsqueeze(-1)).sum(dim=1)


class QuadraticSumModel(SequenceModel):
    """logit = (u . S)^2 / 2 + b with S = sum_t x_t: along the straight path from x' = 0 the gradient is
    linear in the path coordinate, so the midpoint rule integrates it exactly at any step count.

    With v_t = u . x_t and V = sum_t v_t: gradient x input gives V v_t, integrated gradients V v_t / 2,
    and sum_t V v_t / 2 = V^2 / 2 = f(x) - f(0) (completeness, exact).
    """

    def __init__(self, spec):
        super().__init__(spec, embedding_dim=1)
        self.u = nn.Parameter(torch.zeros(self.input_dim))
        self.b = nn.Parameter(torch.tensor(-0.25))
        self.head = nn.Identity()

    def encode(self, x, mask):
        total = (x * mask.unsqueeze(-1)).sum(dim=1)
        return (0.5 * (total @ self.u) ** 2 + self.b).unsqueeze(-1)


class CLSAttentionModel(SequenceModel):
    """One hand-set attention head: CLS = [sqrt 2, 0], event t = [a_t, 0] with a_t its event embedding.

    With identity projections the CLS score of event t is (sqrt 2 * a_t) / sqrt 2 = a_t, so
    the CLS row over events is softmax(a) once renormalized over the events.
    """

    has_attention = True

    def __init__(self, spec):
        super().__init__(spec, embedding_dim=1)
        self.attention = nn.MultiheadAttention(2, 1, bias=False, batch_first=True)
        with torch.no_grad():
            self.attention.in_proj_weight.copy_(torch.cat([torch.eye(2)] * 3))
            self.attention.out_proj.weight.copy_(torch.eye(2))
        self.head = nn.Linear(2, 1)
        self.capture_attention("attention")

    def encode(self, x, mask):
        a = x[..., 0]
        events = torch.stack([a, torch.zeros_like(a)], dim=-1)
        cls = torch.tensor([math.sqrt(2.0), 0.0]).expand(x.shape[0], 1, 2)
        z = torch.cat([cls, events], dim=1)
        padding = torch.cat([torch.zeros_like(mask[:, :1]), ~mask], dim=1)
        out, _ = self.attention(z, z, z, key_padding_mask=padding, need_weights=True, average_attn_weights=False)
        return out[:, 0]


class PlantedAttentionModel(SequenceModel):
    """Returns attention weights set by the test: [layers][B, H, L+1, L+1]."""

    has_attention = True

    def __init__(self, spec, planted):
        super().__init__(spec)
        self.planted = planted
        self.head = nn.Linear(1, 1)

    def encode(self, x, mask):
        return torch.zeros(x.shape[0], 1)

    @property
    def attention_weights(self):
        return self.planted


@pytest.fixture(scope="module")
def data():
    return build_sequence_data(*planted_signal_frames(n_journeys=120, seed=5), max_len=10)


def set_event_embedding(model, values, padding_value=0.0):
    """Event index i embeds to values[i]; padding (index 0) to ``padding_value``, zero as in every model family."""
    with torch.no_grad():
        for table in model.embedding.tables:
            table.weight.zero_()
        model.embedding.tables[0].weight[:, 0] = torch.as_tensor(values, dtype=torch.float32)
        model.embedding.tables[0].weight[0, 0] = padding_value


def test_gradient_x_input_on_a_linear_model(data):
    model = LinearSumModel(data.spec)
    n_tokens = data.spec.vocab_sizes[0]
    token_value = np.arange(n_tokens, dtype=np.float32) - 3.0  # some negative, some positive
    set_event_embedding(model, token_value)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.weight[0, 0] = 1.0  # event embedding
        model.head.weight[0, -1] = 0.5  # is_sponsored, the last numeric
    journeys = np.arange(6)
    batch = collate_journeys(data, journeys)
    scores = GradientXInput(model).attribute(batch)
    rows = data.event_rows(journeys)
    by_hand = token_value[data.categorical[rows, 0]] + 0.5 * data.numeric[rows, -1]
    assert torch.allclose(scores[batch.mask], torch.from_numpy(by_hand), atol=1e-6)
    assert (scores[~batch.mask] == 0).all()
    # Linear model: integrated gradients from the zero input equal gradient x input.
    assert torch.allclose(IntegratedGradients(model, n_steps=4).attribute(batch), scores, atol=1e-5)
    # Normalized: |s_t| / sum |s_t| per journey.
    shares = normalize_scores(scores, batch.mask)[0, : data.lengths[0]].numpy()
    first = by_hand[: data.lengths[0]]
    assert np.allclose(shares, np.abs(first) / np.abs(first).sum(), atol=1e-6)
    # Signed: s_t / sum |s_t|, the sign of each event's push on the logit kept.
    signed = normalize_scores(scores, batch.mask, signed=True)[0, : data.lengths[0]].numpy()
    assert np.allclose(signed, first / np.abs(first).sum(), atol=1e-6)


def test_integrated_gradients_from_a_nonzero_padding_embedding(data):
    model = LinearSumModel(data.spec)
    n_tokens = data.spec.vocab_sizes[0]
    set_event_embedding(model, np.arange(n_tokens, dtype=np.float32), padding_value=-2.0)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.weight[0, 0] = 1.0
    batch = collate_journeys(data, np.arange(6))
    # The padding input is the baseline: each event's share is v . (x_t - x'_t) = value - (-2).
    expected = (batch.categorical[..., 0].float() + 2.0) * batch.mask
    scores = IntegratedGradients(model, n_steps=2, baseline="padding").attribute(batch)
    assert torch.allclose(scores, expected, atol=1e-5)
    # x' = 0 is no embedding of an input here, so captum's layer method cannot start from it.
    with pytest.raises(ValueError, match="nonzero"):
        IntegratedGradients(model, n_steps=2, baseline="zeros").attribute(batch)


def test_integrated_gradients_known_answers_on_a_quadratic_model(data):
    model = QuadraticSumModel(data.spec)
    n_tokens = data.spec.vocab_sizes[0]
    token_value = (np.arange(n_tokens, dtype=np.float32) - 3.0) / 4.0
    set_event_embedding(model, token_value)
    with torch.no_grad():
        model.u[0] = 1.0  # event embedding
        model.u[-1] = 0.5  # is_sponsored, the last numeric
    journeys = np.arange(8)
    batch = collate_journeys(data, journeys)
    v = torch.zeros(batch.mask.shape)
    rows = data.event_rows(journeys)
    v[batch.mask] = torch.from_numpy(token_value[data.categorical[rows, 0]] + 0.5 * data.numeric[rows, -1])  # u . x_t
    total = v.sum(dim=1, keepdim=True)
    assert torch.allclose(GradientXInput(model).attribute(batch), total * v, atol=1e-5)
    for n_steps in (2, 3, 16):
        for internal_batch_size in (None, 1, 2 * len(journeys)):
            explainer = IntegratedGradients(model, n_steps=n_steps, internal_batch_size=internal_batch_size)
            scores, logit, baseline_logit = explainer.completeness(batch)
            assert torch.allclose(scores, total * v / 2, atol=1e-5)
            assert (scores[~batch.mask] == 0).all()
            assert torch.allclose(logit, 0.5 * total[:, 0] ** 2 - 0.25, atol=1e-5)
            # f(x') is the logit of the padding input (x' = 0): the bias alone.
            assert torch.allclose(baseline_logit, torch.full_like(logit, -0.25), atol=1e-5)
            assert torch.allclose(scores.sum(dim=1), logit - baseline_logit, atol=1e-5)
    with pytest.raises(ValueError):
        IntegratedGradients(model, n_steps=1)


def test_integrated_gradients_completeness(data):
    torch.manual_seed(0)
    model = build_model("transformer_cls", data.spec, d_model=8, n_heads=2, n_layers=1, embedding_dim=2).eval()
    batch = collate_journeys(data, np.arange(4))
    explainer = IntegratedGradients(model, n_steps=64)
    scores = explainer.attribute(batch)
    with torch.no_grad():
        x = model.embed(batch)
        logit = model.forward_from_embeddings(x, batch.mask)
        baseline_logit = model.forward_from_embeddings(torch.zeros_like(x), batch.mask)
    assert torch.allclose(scores.sum(dim=1), logit - baseline_logit, atol=2e-2)
    # completeness() returns the same scores, f(x) and f(x') (the latter read off captum's delta).
    same_scores, same_logit, same_baseline_logit = explainer.completeness(batch)
    assert torch.allclose(same_scores, scores, atol=1e-6)
    assert torch.allclose(same_logit, logit, atol=1e-5)
    assert torch.allclose(same_baseline_logit, baseline_logit, atol=1e-5)
    # Fewer path points per pass: the same sum, in another order.
    chunked = IntegratedGradients(model, n_steps=64, internal_batch_size=3 * len(batch)).attribute(batch)
    assert torch.allclose(chunked, scores, atol=1e-6)


def test_attention_attribution_on_hand_set_attention(data):
    model = CLSAttentionModel(data.spec)
    n_tokens = data.spec.vocab_sizes[0]
    token_value = np.linspace(-1.0, 2.0, n_tokens).astype(np.float32)
    set_event_embedding(model, token_value)
    journeys = np.arange(5)
    batch = collate_journeys(data, journeys)
    shares = normalize_scores(AttentionAttribution(model).attribute(batch), batch.mask)
    for b, journey in enumerate(journeys):
        a = token_value[data.categorical[data.event_rows([journey]), 0]]
        expected = np.exp(a) / np.exp(a).sum()
        assert np.allclose(shares[b, : len(a)].numpy(), expected, atol=1e-5)
        assert (shares[b, len(a) :] == 0).all()


def test_attention_attribution_averages_layers_and_heads(data):
    batch = collate_journeys(data, [0, 1])
    length = batch.mask.shape[1]
    generator = torch.Generator().manual_seed(0)
    keys = torch.cat([torch.ones(2, 1), batch.mask.float()], dim=1)[:, None, None, :]  # CLS + real events
    planted = [torch.rand(2, 3, length + 1, length + 1, generator=generator) * keys for _ in range(2)]
    model = PlantedAttentionModel(data.spec, planted)
    raw = AttentionAttribution(model).attribute(batch)
    by_hand = sum(w[:, h, 0, 1:] for w in planted for h in range(3)) / 6
    assert torch.allclose(raw, by_hand * batch.mask)


def test_attention_needs_an_attention_model(data):
    lstm = build_model("lstm", data.spec, hidden_size=8)
    with pytest.raises(TypeError):
        AttentionAttribution(lstm)
    assert "attention" not in methods_for(lstm)
    assert "attention" in methods_for(build_model("transformer_cls", data.spec, d_model=8, n_heads=2, n_layers=1))


def test_normalize_scores_edge_cases():
    scores = torch.tensor([[0.0, 0.0, 0.0], [1.0, -3.0, 9.0], [0.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, False], [True, True, False], [False, False, False]])
    shares = normalize_scores(scores, mask)
    assert torch.allclose(shares[0], torch.tensor([0.5, 0.5, 0.0]))  # all zero -> uniform
    assert torch.allclose(shares[1], torch.tensor([0.25, 0.75, 0.0]))  # padding ignored
    assert (shares[2] == 0).all() and torch.isfinite(shares).all()  # no events, no NaN
    signed = normalize_scores(scores, mask, signed=True)
    assert torch.allclose(signed[1], torch.tensor([0.25, -0.75, 0.0]))
    assert torch.allclose(signed.abs(), shares)


@pytest.mark.parametrize("method", ["grad_x_input", "integrated_gradients", "attention"])
def test_event_attribution_table(method, data):
    torch.manual_seed(0)
    model = build_model("transformer_cls", data.spec, d_model=8, n_heads=2, n_layers=1, embedding_dim=2)
    frame = event_attribution(model, data, method, split="test")
    assert list(frame.columns) == EVENT_ATTRIBUTION_COLUMNS
    test = data.indices("test")
    assert len(frame) == data.lengths[test].sum()
    assert np.allclose(frame.groupby("journey_id")["score"].sum(), 1.0, atol=1e-5)
    assert np.allclose(frame["score"], frame["signed_score"].abs())
    expected = data.events.iloc[data.event_rows(test)].sort_values(["journey_id", "position"])
    assert frame["position"].tolist() == expected["position"].tolist()
    assert frame["event"].tolist() == expected["event"].tolist()
    converted = dict(zip(data.journey_id, data.label > 0.5))
    assert frame["converted"].tolist() == [converted[j] for j in frame["journey_id"]]
    assert model.training  # the caller's mode is restored


@pytest.fixture
def handmade():
    return pd.DataFrame(
        {
            "method": "m",
            "journey_id": ["j1", "j1", "j2", "j2", "j3"],
            "position": [1, 6, 5, 51, 21],
            "event": ["a", "b", "a", "b", "a"],
            "store_id": ["s1", "NO_STORE", "s1", "s2", "s2"],
            "score": [0.6, 0.4, 0.2, 0.8, 1.0],
            "converted": [True, True, False, False, False],
            "signed_score": [0.6, -0.4, 0.2, -0.8, 1.0],
        }
    )


def test_event_type_attribution(handmade):
    table = event_type_attribution(handmade).set_index("event")
    assert list(table.columns) == [
        "method", "mean_converted", "mean_not_converted", "lift", "n_events", "mean_signed_score"
    ]
    assert table.loc["a", "mean_converted"] == pytest.approx(0.6)
    assert table.loc["a", "mean_not_converted"] == pytest.approx(0.6)
    assert table.loc["a", "lift"] == pytest.approx(1.0)
    assert table.loc["b", "lift"] == pytest.approx(0.5)
    assert table["n_events"].to_dict() == {"a": 3, "b": 2}
    # b's shares are large (lift 0.5) but it lowers the prediction: the signed mean says so.
    assert table["mean_signed_score"].to_dict() == pytest.approx({"a": 0.6, "b": -0.6})


def test_position_attribution_buckets(handmade):
    table = position_attribution(handmade).set_index("position_bucket")
    assert set(table.index) == {"1-5", "6-10", "21-50", "51+"}
    assert table.loc["1-5", "mean_converted"] == pytest.approx(0.6)
    assert table.loc["1-5", "mean_not_converted"] == pytest.approx(0.2)
    assert table.loc["1-5", "lift"] == pytest.approx(3.0)
    assert np.isnan(table.loc["6-10", "mean_not_converted"]) and np.isnan(table.loc["6-10", "lift"])
    assert table.loc["51+", "n_events"] == 1


def test_store_attribution(handmade):
    stores = pd.DataFrame({"store_id": ["s1", "s2"], "store_name": ["Pizza Place", "Green Grocer"]})
    table = store_attribution(handmade, stores).set_index("store_id")
    assert list(table.columns) == ["method", "store_name", "mean_score", "n_events"]
    assert table.loc["s1", "store_name"] == "Pizza Place"
    assert table.loc["s2", "mean_score"] == pytest.approx(0.9)
    assert table.loc["NO_STORE", "store_name"] == "NO_STORE"
    assert table["n_events"].sum() == len(handmade)


def test_attention_per_layer_and_head(data):
    batch = collate_journeys(data, [0, 1])
    length = batch.mask.shape[1]
    generator = torch.Generator().manual_seed(1)
    keys = torch.cat([torch.ones(2, 1), batch.mask.float()], dim=1)[:, None, None, :]
    planted = [torch.rand(2, 3, length + 1, length + 1, generator=generator) * keys for _ in range(2)]
    model = PlantedAttentionModel(data.spec, planted)
    one = AttentionAttribution(model, layer=1, head=2).attribute(batch)
    assert torch.allclose(one, planted[1][:, 2, 0, 1:] * batch.mask)


def test_attention_rollout_known_answers(data):
    from ml.attribution import AttentionRollout

    batch = collate_journeys(data, [int(np.flatnonzero(data.lengths >= 2)[0])])
    n = batch.mask.shape[1] + 1  # CLS + events
    # Layer 1: every position attends to itself, except CLS, which attends to event 1 only.
    first = torch.eye(n)
    first[0] = 0
    first[0, 1] = 1
    # Layer 2: CLS attends to itself only; the others to themselves.
    second = torch.eye(n)
    planted = [first[None, None], second[None, None]]
    rollout = AttentionRollout(PlantedAttentionModel(data.spec, planted)).attribute(batch)[0]
    # Â1[CLS] = [0.5, 0.5, 0 ...]; Â2 = I  =>  R[CLS] = [0.5, 0.5, 0, ...]: event 1 gets 0.5.
    assert rollout[0] == pytest.approx(0.5) and torch.all(rollout[1:] == 0)
    # Layer 2 moving CLS onto event 2 instead: Â2[CLS] = [0.5, 0, 0.5]; R[CLS] = 0.5 Â1[CLS] + 0.5 Â1[e2].
    second[0] = 0
    second[0, 2] = 1
    rollout = AttentionRollout(PlantedAttentionModel(data.spec, [first[None, None], second[None, None]])).attribute(batch)[0]
    assert rollout[0] == pytest.approx(0.25) and rollout[1] == pytest.approx(0.5)


def test_the_suite_runs_each_models_methods_and_the_baselines_per_variant():
    """attribution_tables: the honest variant gets every method a model supports among those asked
    for, a leaky variant the cheap list; the baselines need no model and run on every variant; IG's
    completeness is one row per model that ran it, and keeps its columns when none did."""
    from ml.attribution import BASELINE_MODEL, AttributionConfig, attribution_tables
    from ml.training import TrainedModel

    sequences, labels = planted_signal_frames(n_journeys=120, seed=5)
    data = build_sequence_data(sequences, labels, max_len=10)
    torch.manual_seed(0)

    def trained(name, variant, **options):
        model = build_model(name, data.spec, **options)
        return TrainedModel(name, variant, model, data.vocabularies, data.max_len, pd.DataFrame(), pd.DataFrame(), 0.0)

    models = [trained("transformer_cls", "no_funnel", d_model=8, n_heads=2, n_layers=1, embedding_dim=2),
              trained("lstm", "no_funnel", hidden_size=8, embedding_dim=2),
              trained("lstm", "with_funnel", hidden_size=8, embedding_dim=2)]
    stores = sequences[["store_id", "store_name"]].drop_duplicates("store_id")
    variants = {"no_funnel": data, "with_funnel": data}
    tables = attribution_tables(models, variants, {v: sequences for v in variants}, labels, stores, AttributionConfig())
    ran = tables["event_attribution"].groupby(["model", "variant"])["method"].agg(set).to_dict()
    assert ran[("transformer_cls", "no_funnel")] == {"grad_x_input", "integrated_gradients", "attention",
                                                     "attention_rollout"}
    assert ran[("lstm", "no_funnel")] == {"grad_x_input", "integrated_gradients"}
    assert ran[("lstm", "with_funnel")] == {"grad_x_input"}
    assert ran[(BASELINE_MODEL, "no_funnel")] == ran[(BASELINE_MODEL, "with_funnel")] == {
        "last_touch", "first_touch", "linear"}
    channels = tables["event_type_attribution"].query("model == @BASELINE_MODEL")["method"]
    assert {"markov_removal", "shapley"} <= set(channels)
    completeness = tables["integrated_gradients_completeness"]
    assert sorted(completeness["model"]) == ["lstm", "transformer_cls"] and (completeness["n_steps"] == 16).all()
    assert list(tables["event_type_attribution"].columns[:2]) == ["model", "variant"]

    none = attribution_tables(models[1:2], variants, {}, labels, stores, AttributionConfig(methods=["grad_x_input"]))
    assert none["integrated_gradients_completeness"].empty
    assert "total_relative_error" in none["integrated_gradients_completeness"].columns
