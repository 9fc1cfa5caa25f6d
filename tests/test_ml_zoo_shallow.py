"""item2vec, logreg_counts and customer traits: mechanics with known answers, and the planted signal."""

import numpy as np
import pandas as pd
import pytest
import torch

from ml.attribution import GradientXInput, IntegratedGradients
from ml.data import build_sequence_data, collate_journeys, planted_signal_frames
from ml.evaluation import model_metrics
from ml.models import build_model
from ml.models.item2vec import skipgram_pairs
from ml.traits import customer_traits
from ml.training import TrainConfig, train_model

torch.set_num_threads(1)

FAST = TrainConfig(epochs=10, patience=3, batch_size=32, lr=1e-2, seed=0, num_threads=1, log_every=0)

# Two user groups with disjoint (event, store) tokens; events are shared, so only
# the pair tells the groups apart.
GROUP_TOKENS = (
    (("m_card_view", "s1"), ("m_card_click", "s1"), ("m_card_view", "s2"), ("store_page_load", "s2")),
    (("m_card_view", "s3"), ("m_card_click", "s4"), ("store_page_load", "s3"), ("core_search", "NO_STORE")),
)


def two_group_frames(n_users=80, journeys_per_user=3, seed=0):
    """(sequences, labels): user u belongs to group u % 2 and draws 6-10 events from its group's tokens."""
    rng = np.random.default_rng(seed)
    n_journeys = n_users * journeys_per_user
    user = np.repeat(np.arange(n_users), journeys_per_user)
    group = user % 2
    lengths = rng.integers(6, 11, size=n_journeys)
    owner = np.repeat(np.arange(n_journeys), lengths)
    picks = rng.integers(0, 4, size=len(owner))
    tokens = [GROUP_TOKENS[g][k] for g, k in zip(group[owner], picks)]
    journey_ids = np.array([f"j{i:04d}" for i in range(n_journeys)], dtype=object)
    split = np.array(["train", "validation", "test"], dtype=object)[rng.choice(3, size=n_users, p=[0.6, 0.2, 0.2])]
    store = np.array([s for _, s in tokens], dtype=object)
    sequences = pd.DataFrame(
        {
            "journey_id": journey_ids[owner],
            "position": np.arange(len(owner)) - np.repeat(np.cumsum(lengths) - lengths, lengths) + 1,
            "event": [e for e, _ in tokens],
            "discovery_feature": "NO_FEATURE",
            "store_id": store,
            "store_name": store,
            "primary_tag_name": "tag",
            "primary_category_name": "category",
            "is_nv": False,
            "is_sponsored": False,
            "seconds_since_prev": 10.0,
        }
    )
    labels = pd.DataFrame(
        {
            "journey_id": journey_ids,
            "user_id": [f"u{u:03d}" for u in user],
            "split": split[user],
            "converted": rng.random(n_journeys) < 0.3,
        }
    )
    return sequences, labels


@pytest.fixture(scope="module")
def planted():
    return build_sequence_data(*planted_signal_frames(n_journeys=1500, seed=0), max_len=16)


@pytest.fixture(scope="module")
def two_groups():
    sequences, labels = two_group_frames()
    data = build_sequence_data(sequences, labels, max_len=16)
    torch.manual_seed(0)
    lines = []
    model = build_model("item2vec", data.spec, embedding_dim=8, window=3)
    train_model(model, data, TrainConfig(epochs=1, batch_size=64, seed=0, num_threads=1, log_every=0), log=lines.append)
    return data, labels, model, lines


def token_id(model, data, event, store):
    return int(data.vocabularies["event"].encode([event])[0] * model.embedding.n_stores
               + data.vocabularies["store_id"].encode([store])[0])


# -- item2vec --


def test_skipgram_pairs_stay_inside_journeys_and_the_window():
    tokens = np.array([10, 11, 12, 20, 21])
    journey = np.array([0, 0, 0, 1, 1])
    pairs = set(zip(*skipgram_pairs(tokens, journey, window=1)))
    assert pairs == {(10, 11), (11, 10), (11, 12), (12, 11), (20, 21), (21, 20)}
    wider = set(zip(*skipgram_pairs(tokens, journey, window=2)))
    assert wider == pairs | {(10, 12), (12, 10)}  # still no pair across journeys


def test_action_item_tokens_pair_event_and_store(planted):
    model = build_model("item2vec", planted.spec, embedding_dim=4)
    vocab = planted.vocabularies
    rows = planted.event_rows(np.arange(20))
    ids = model.embedding.token_ids(planted.categorical[rows])
    raw = planted.events.iloc[rows]
    assert model.embedding.token_names(vocab, ids) == (raw["event"] + "_" + raw["store_id"]).tolist()
    click_s1 = token_id(model, planted, "m_card_click", "s1")
    assert click_s1 == (2 + vocab["event"].tokens.index("m_card_click")) * model.embedding.n_stores + (
        2 + vocab["store_id"].tokens.index("s1")
    )
    assert model.embedding.token_names(vocab, [click_s1, 0]) == ["m_card_click_s1", "<pad>_<pad>"]
    unknown_store = token_id(model, planted, "m_card_click", "never_seen")
    assert model.embedding.token_names(vocab, [unknown_store]) == ["m_card_click_<unk>"]
    batch = collate_journeys(planted, np.arange(6))
    x = model.embed(batch)
    assert x.shape == (6, batch.mask.shape[1], 4)
    assert (x[~batch.mask] == 0).all()  # padding is token 0, a zero row


def test_item2vec_pretraining_puts_co_occurring_tokens_closer(two_groups):
    data, _, model, lines = two_groups
    pretrain_lines = [line for line in lines if line.startswith("item2vec pretrain epoch")]
    assert len(pretrain_lines) == model.pretrain_epochs and "skip-gram loss" in pretrain_lines[0]
    groups = [[token_id(model, data, e, s) for e, s in tokens] for tokens in GROUP_TOKENS]
    assert (model.token_counts[groups[0] + groups[1]] > 0).all()
    assert int((model.token_counts > 0).sum()) == 8  # no other token was seen
    unit = torch.nn.functional.normalize(model.skipgram_vectors, dim=1)
    within = [float(unit[a] @ unit[b]) for g in groups for a in g for b in g if a < b]
    across = [float(unit[a] @ unit[b]) for a in groups[0] for b in groups[1]]
    # Tokens that share journeys end up closer than tokens that never meet.
    assert min(within) > max(across)
    assert np.mean(within) - np.mean(across) > 0.5
    # Tokens never seen in training (other pairs, unknown store) have zero vectors.
    unseen = torch.ones(model.embedding.n_tokens, dtype=torch.bool)
    unseen[groups[0] + groups[1]] = False
    assert (model.token_vectors[unseen] == 0).all()


def test_item2vec_representation_is_the_masked_mean_of_token_vectors(planted):
    torch.manual_seed(0)
    model = build_model("item2vec", planted.spec, embedding_dim=4).eval()
    journeys = [int(np.flatnonzero(planted.lengths == 1)[0]), int(np.flatnonzero(planted.lengths == 5)[0])]
    batch = collate_journeys(planted, journeys)
    with torch.no_grad():
        x = model.embed(batch)
        expected = torch.stack([x[0, :1].mean(0), x[1, :5].mean(0)])
        assert torch.allclose(model.representation(batch), expected, atol=1e-6)
        batch.mask[:] = False  # every event removed: zero vector, logit = bias
        assert (model.representation(batch) == 0).all()
        assert torch.allclose(model(batch), model.head.bias.expand(2))


def test_item2vec_learns_the_planted_signal(planted):
    torch.manual_seed(0)
    result = train_model(build_model("item2vec", planted.spec), planted, FAST, log=lambda _: None)
    assert model_metrics(result.model, planted).set_index("split").loc["test", "auc"] > 0.7
    # The conversion fit fine-tunes the token vectors but leaves the skip-gram ones alone.
    seen = result.model.token_counts > 0
    assert not torch.allclose(result.model.token_vectors[seen], result.model.skipgram_vectors[seen])


def test_frozen_item2vec_keeps_the_skipgram_vectors(planted):
    torch.manual_seed(0)
    model = build_model("item2vec", planted.spec, embedding_dim=8, pretrain_epochs=1, freeze_embeddings=True)
    config = TrainConfig(epochs=1, batch_size=64, lr=1e-2, seed=0, num_threads=1, log_every=0)
    result = train_model(model, planted, config, log=lambda _: None)
    assert torch.equal(result.model.token_vectors, result.model.skipgram_vectors)


# -- customer traits --


def test_two_planted_user_groups_come_out_as_two_traits(two_groups):
    data, labels, model, _ = two_groups
    found = customer_traits(model, data, n_clusters=4, n_traits=2, top_tokens=4, users=labels)
    group_names = [{f"{e}_{s}" for e, s in tokens} for tokens in GROUP_TOKENS]
    assert list(found.traits.columns[:4]) == ["trait", "rank", "token", "weight"]
    trait_groups = []
    for trait, rows in found.traits.groupby("trait"):
        assert rows["rank"].tolist() == list(range(1, len(rows) + 1))
        assert rows["weight"].is_monotonic_decreasing and (rows["weight"] > 0).all()
        owners = [g for g, names in enumerate(group_names) if set(rows["token"]) <= names]
        assert len(owners) == 1, f"trait {trait} mixes the groups: {rows['token'].tolist()}"
        trait_groups.append(owners[0])
    assert sorted(trait_groups) == [0, 1]
    # Every user loads on their own group's trait.
    user_group = np.array([int(user[1:]) % 2 for user in found.user_traits.index])
    strongest = found.user_traits.to_numpy().argmax(axis=1)
    assert found.user_traits.shape == (80, 2)
    assert (np.array(trait_groups)[strongest] == user_group).all()


def test_traits_need_a_user_per_journey(two_groups):
    data, labels, model, _ = two_groups
    with pytest.raises(KeyError, match="without a user_id"):
        customer_traits(model, data, users=labels.iloc[1:])
    untrained = build_model("item2vec", data.spec, embedding_dim=4)
    with pytest.raises(ValueError, match="pre-train"):
        customer_traits(untrained, data, users=labels)


# -- logreg_counts --


def test_logreg_representation_counts_events_and_log_length(planted):
    model = build_model("logreg_counts", planted.spec)
    journey = int(np.flatnonzero(planted.lengths == 7)[0])
    batch = collate_journeys(planted, [journey])
    events = planted.categorical[planted.event_rows([journey]), 0]
    expected = np.bincount(events, minlength=len(planted.vocabularies["event"])).astype(np.float32)
    representation = model.representation(batch)[0].detach().numpy()
    assert np.array_equal(representation[:-1], expected)
    assert representation[-1] == pytest.approx(np.log1p(7))
    assert model.representation(batch).shape == (1, len(planted.vocabularies["event"]) + 1)
    assert build_model("logreg_counts", planted.spec, log_length=False).representation(batch).shape[1] == len(expected)


def test_logreg_gradient_x_input_is_each_events_coefficient(planted):
    model = build_model("logreg_counts", planted.spec).eval()
    n_events = len(planted.vocabularies["event"])
    coefficients = torch.linspace(-2.0, 3.0, n_events)
    gain = model.head.gain  # stored parameters are the coefficients over the gain
    with torch.no_grad():
        model.head.weight[0, :n_events] = coefficients / gain
        model.head.weight[0, n_events] = 0.7 / gain  # log-length: attributed to no event
        model.head.bias.fill_(-1.0 / gain)
    assert torch.allclose(model.event_coefficients, coefficients)
    batch = collate_journeys(planted, np.arange(12))
    expected = coefficients[batch.categorical[..., 0]] * batch.mask
    assert torch.allclose(GradientXInput(model).attribute(batch), expected, atol=1e-6)
    assert torch.allclose(IntegratedGradients(model, n_steps=4).attribute(batch), expected, atol=1e-5)
    # logit = sum of coefficients + 0.7 log(1 + n) - 1
    logits = model(batch).detach()
    assert torch.allclose(logits, expected.sum(1) + 0.7 * torch.log1p(batch.lengths.float()) - 1.0, atol=1e-5)


def test_logreg_learns_the_planted_signal(planted):
    result = train_model(build_model("logreg_counts", planted.spec), planted, FAST, log=lambda _: None)
    assert model_metrics(result.model, planted).set_index("split").loc["test", "auc"] > 0.7
    coefficients = result.model.event_coefficients.detach()
    click = int(planted.vocabularies["event"].encode(["m_card_click"])[0])
    seen = [int(i) for i in planted.vocabularies["event"].encode(["m_card_view", "store_page_load", "core_search"])]
    assert coefficients[click] > coefficients[seen].max() + 0.5
