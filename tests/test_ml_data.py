"""ml.data: mart frames -> vocabularies, ragged sequences and padded batches."""

import numpy as np
import pytest
import torch

from ml.data import (
    CATEGORICAL_FEATURES,
    NUMERIC_FEATURES,
    UNKNOWN_INDEX,
    LengthBucketSampler,
    Vocabulary,
    build_sequence_data,
    collate_journeys,
    journey_loader,
    planted_signal_frames,
)

SEQUENCE_COLUMNS = [
    "journey_id", "user_id", "split", "position", "event_id", "event_at", "event_type", "event",
    "discovery_feature", "store_id", "store_name", "primary_tag_name", "primary_category_name",
    "is_nv", "is_sponsored", "seconds_since_prev",
]
LABEL_COLUMNS = ["journey_id", "user_id", "split", "journey_started_at", "converted", "conversion_at", "n_events"]


@pytest.fixture(scope="module")
def frames():
    return planted_signal_frames(n_journeys=300, seed=1)


def test_planted_frames_follow_the_mart_contract(frames):
    sequences, labels = frames
    assert list(sequences.columns) == SEQUENCE_COLUMNS
    assert list(labels.columns) == LABEL_COLUMNS
    assert labels["journey_id"].is_unique
    # Some journeys have labels and no events, as a journey whose cut sequence is empty.
    assert (~labels["journey_id"].isin(sequences["journey_id"])).any()


def test_vocabulary_reserves_padding_and_unknown():
    vocab = Vocabulary.fit(["b", "a", "b", None])
    assert vocab.tokens == ["b", "a"]  # by frequency, then name
    assert len(vocab) == 4
    assert vocab.encode(["b", "a", "never seen", None]).tolist() == [2, 3, UNKNOWN_INDEX, UNKNOWN_INDEX]
    assert Vocabulary(vocab.tokens).encode(["a"]).tolist() == [3]
    assert vocab.decode([0, 1, 2]) == ["<pad>", "<unk>", "b"]


def test_vocabularies_fit_on_train_only(frames):
    sequences, labels = frames
    sequences = sequences.copy()
    test_journey = labels.loc[labels["split"] == "test", "journey_id"].iloc[0]
    sequences.loc[sequences["journey_id"] == test_journey, "event"] = "only_in_test"
    data = build_sequence_data(sequences, labels)
    assert set(data.vocabularies) == set(CATEGORICAL_FEATURES)
    assert "only_in_test" not in data.vocabularies["event"].tokens
    rows = data.event_rows(np.flatnonzero(data.journey_id == test_journey))
    assert (data.categorical[rows, 0] == UNKNOWN_INDEX).all()
    assert data.categorical.min() >= UNKNOWN_INDEX  # 0 is padding only


def test_journeys_sorted_events_ordered_empty_journeys_absent(frames):
    sequences, labels = frames
    shuffled = sequences.sample(frac=1.0, random_state=0)
    data = build_sequence_data(shuffled, labels)
    with_events = np.sort(sequences["journey_id"].unique())
    assert data.journey_id.tolist() == with_events.tolist()
    assert data.n_events == len(sequences)
    # Positions increase inside every journey.
    steps = np.diff(data.events["position"].to_numpy())
    starts = data.offsets[1:-1]
    steps[starts - 1] = 1
    assert (steps > 0).all()
    expected = labels.set_index("journey_id").loc[data.journey_id]
    assert np.array_equal(data.label, expected["converted"].to_numpy(dtype=np.float32))
    assert np.array_equal(data.split, expected["split"].to_numpy(dtype=str))


def test_max_len_keeps_the_last_events(frames):
    sequences, labels = frames
    data = build_sequence_data(sequences, labels, max_len=4)
    assert data.lengths.max() == 4
    n_events = sequences.groupby("journey_id").size()
    longest = n_events.idxmax()
    rows = data.event_rows(np.flatnonzero(data.journey_id == longest))
    last = np.arange(n_events[longest] - 3, n_events[longest] + 1)
    assert data.events["position"].to_numpy()[rows].tolist() == last.tolist()
    assert np.allclose(data.numeric[rows, 0], np.log1p(last))


def test_numeric_features():
    sequences, labels = planted_signal_frames(n_journeys=20, seed=2)
    sequences = sequences.astype({"is_sponsored": object})
    sequences.loc[sequences.index[0], "is_sponsored"] = None
    data = build_sequence_data(sequences, labels)
    ordered = sequences.sort_values(["journey_id", "position"])
    assert data.numeric.shape == (len(sequences), len(NUMERIC_FEATURES))
    assert np.allclose(data.numeric[:, 1], np.log1p(ordered["seconds_since_prev"]))
    assert np.array_equal(data.numeric[:, 2], ordered["is_nv"].astype(float))
    assert np.array_equal(data.numeric[:, 3], ordered["is_sponsored"].fillna(False).astype(float))


def test_collate_pads_to_the_batch_longest(frames):
    data = build_sequence_data(*frames, max_len=8)
    journeys = [int(np.argmin(data.lengths)), int(np.argmax(data.lengths))]
    batch = collate_journeys(data, journeys)
    width = int(data.lengths[journeys].max())
    assert batch.categorical.shape == (2, width, len(CATEGORICAL_FEATURES))
    assert batch.numeric.shape == (2, width, len(NUMERIC_FEATURES))
    assert batch.categorical.dtype == torch.long and batch.mask.dtype == torch.bool
    assert batch.lengths.tolist() == data.lengths[journeys].tolist()
    assert (batch.categorical[~batch.mask] == 0).all() and (batch.numeric[~batch.mask] == 0).all()
    rows = data.event_rows(journeys[1:])
    assert torch.equal(batch.categorical[1], torch.from_numpy(data.categorical[rows]))
    assert batch.index.tolist() == journeys


def test_same_vocabularies_for_a_modified_frame_and_empty_journeys(frames):
    sequences, labels = frames
    data = build_sequence_data(sequences, labels)
    some = data.journey_id[:3]
    fewer = sequences[sequences["journey_id"].isin(some[:2])]
    modified = data.with_sequences(fewer, journey_ids=some)
    assert modified.vocabularies is data.vocabularies
    assert modified.journey_id.tolist() == some.tolist()
    assert modified.lengths[2] == 0  # every event removed: kept as an all-padding journey
    batch = collate_journeys(modified, [2])
    assert batch.mask.shape == (1, 1) and not batch.mask.any()


def test_bucketing_covers_every_journey_once_per_epoch(frames):
    data = build_sequence_data(*frames)
    train = data.indices("train")
    sampler = LengthBucketSampler(data.lengths, train, batch_size=16, seed=3, chunk_batches=4)
    epochs = [list(sampler), list(sampler)]
    for batches in epochs:
        flat = np.concatenate(batches)
        assert sorted(flat.tolist()) == sorted(train.tolist())
        assert len(batches) == len(sampler)
    assert epochs[0] != epochs[1]  # reshuffled each epoch
    again = LengthBucketSampler(data.lengths, train, batch_size=16, seed=3, chunk_batches=4)
    assert list(again) == epochs[0]  # seeded

    def padding(batches):
        return sum(len(b) * data.lengths[b].max() - data.lengths[b].sum() for b in map(np.asarray, batches))

    rng = np.random.default_rng(0)
    shuffled = rng.permutation(train)
    naive = [shuffled[i : i + 16] for i in range(0, len(shuffled), 16)]
    assert padding(epochs[0]) < 0.5 * padding(naive)


def test_loader_yields_batches_of_the_split(frames):
    data = build_sequence_data(*frames)
    test = data.indices("test")
    seen = np.concatenate([b.index.numpy() for b in journey_loader(data, test, batch_size=32, shuffle=False)])
    assert sorted(seen.tolist()) == test.tolist()
    lengths = [int(b.lengths.max()) for b in journey_loader(data, test, batch_size=32, shuffle=False)]
    assert lengths == sorted(lengths)
