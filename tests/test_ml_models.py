"""ml.models: every registered family honours the model contract."""

import numpy as np
import pytest
import torch

from ml.data import build_sequence_data, collate_journeys, planted_signal_frames
from ml.models import MODEL_REGISTRY, SequenceModel, available_models, build_model

torch.set_num_threads(1)  # tiny models: a second thread only adds contention

# Tiny sizes per family so the suite stays fast; a new family runs with its defaults.
TINY = {
    "lstm": {"hidden_size": 16, "embedding_dim": 4},
    "transformer_cls": {"d_model": 16, "n_heads": 2, "n_layers": 2, "embedding_dim": 4},
    "item2vec": {"embedding_dim": 4},
    "logreg_counts": {},
    "gru4rec": {"hidden_size": 16, "embedding_dim": 4},
    "sasrec": {"d_model": 16, "n_heads": 2, "n_layers": 2, "embedding_dim": 4},
    "bert4rec": {"d_model": 16, "n_heads": 2, "n_layers": 2, "embedding_dim": 4},
    "bilstm_transformer": {"d_model": 16, "n_heads": 2, "pool_heads": 2, "n_layers": 1, "embedding_dim": 4},
    "seq_vae": {"hidden_size": 16, "latent_dim": 4, "decoder_embedding_dim": 4, "embedding_dim": 4},
    "srgnn": {"hidden_size": 16, "embedding_dim": 4},
}


@pytest.fixture(scope="module")
def data():
    return build_sequence_data(*planted_signal_frames(n_journeys=200, seed=3), max_len=12)


def tiny_model(name, data):
    torch.manual_seed(0)
    return build_model(name, data.spec, **TINY.get(name, {})).eval()


def test_registry_lists_the_families():
    assert {"lstm", "transformer_cls"} <= set(available_models())
    assert all(issubclass(cls, SequenceModel) for cls in MODEL_REGISTRY.values())
    with pytest.raises(KeyError, match="unknown model"):
        build_model("no_such_model", None)


def test_overrides_replace_defaults(data):
    model = build_model("transformer_cls", data.spec, d_model=24, n_heads=3, n_layers=1)
    assert len(model.layers) == 1 and model.layers[0].attention.num_heads == 3
    default = build_model("transformer_cls", data.spec)
    assert len(default.layers) == 2 and default.layers[0].attention.num_heads == 4
    assert default.layers[0].attention.embed_dim == 64


@pytest.mark.parametrize("name", available_models())
def test_forward_embed_and_representation(name, data):
    model = tiny_model(name, data)
    batch = collate_journeys(data, np.arange(8))
    logits = model(batch)
    assert logits.shape == (8,) and torch.isfinite(logits).all()
    x = model.embed(batch)
    assert x.shape == (8, batch.mask.shape[1], model.input_dim)
    assert torch.allclose(model.forward_from_embeddings(x, batch.mask), logits)
    assert model.representation(batch).shape[0] == 8


@pytest.mark.parametrize("name", available_models())
def test_length_one_max_length_and_all_padding_journeys(name, data):
    model = tiny_model(name, data)
    short = int(np.flatnonzero(data.lengths == 1)[0])
    longest = int(np.flatnonzero(data.lengths == data.max_len)[0])
    batch = collate_journeys(data, [short, longest])
    logits = model(batch)
    assert torch.isfinite(logits).all()
    # Padding does not leak into a journey's prediction: alone or next to a long one, same logit.
    alone = model(collate_journeys(data, [short]))
    assert torch.allclose(alone, logits[:1], atol=1e-5)
    # A journey whose every event was removed: mask all false.
    padding_only = collate_journeys(data, [short])
    padding_only.mask[:] = False
    padding_only.categorical[:] = 0
    padding_only.numeric[:] = 0
    out = model(padding_only)
    assert torch.isfinite(out).all()
    out.sum().backward()  # gradients stay finite too
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", [n for n in available_models() if MODEL_REGISTRY[n].has_attention])
def test_attention_weights_captured_by_hooks(name, data):
    model = tiny_model(name, data)
    batch = collate_journeys(data, np.arange(5))
    model(batch)
    weights = model.attention_weights
    length = batch.mask.shape[1]
    assert len(weights) == len(model.layers)
    for w in weights:
        assert w.shape == (5, model.layers[0].attention.num_heads, length + 1, length + 1)
        assert torch.allclose(w.sum(-1), torch.ones(w.shape[:-1]), atol=1e-5)
        # Padded events receive no attention.
        assert (w[:, :, :, 1:][~batch.mask[:, None, None, :].expand_as(w[:, :, :, 1:])] == 0).all()


def test_models_without_attention_say_so(data):
    assert tiny_model("lstm", data).attention_weights is None
