"""Criteo Attribution Modeling for Bidding journeys, as CausalMTA preprocessed them -> the ad-funnel
domain: auctions_users, impressions and purchases (no clicks: the data has none).

One CSV row is one touch: journey_id, user_idx, touch_pos, timestamp (seconds since the
dataset's start), campaign_idx (0-9), journey_conversion (the journey's label), and in the test
file cost, cpo and cat1..cat9, which the contract has no place for. A touch is an ad impression
won in its own auction; the campaign plays the product. The data has no conversion timestamp:
a converted journey's purchase is put one second after its last touch.

The journeys are CausalMTA's own (the optional `journey_id` column, `<split>-<journey_id>`), so
journeylift models exactly the sequences the paper does. Their split is by journey, and every
test user also has train journeys: to evaluate on it (``split="causalmta"``, the default), a user
is one journeylift user per CausalMTA file (`u<user_idx>@train`, `u<user_idx>@test`) and
`user_splits` pins them: `@test` users to test, `@train` users to train, but for a validation
share (SPLIT_VALIDATION_PCT, by an md5 bucket of the user) that early stopping and model choice
need and CausalMTA's files lack. ``split="by_user"`` keeps one id per user and leaves the split
to journeylift's hash of users (leak-free, not comparable with the paper). The journey table is
kept in a side file (not a contract table) for comparisons.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from ml.importers.contract_files import write_contract_table
from ml.importers.registry import register
from ml.importers.report import ImportReport, first_reasons

FILES = {"train": "criteo_causalmta_train_touches.csv.gz", "test": "criteo_causalmta_test_touches.csv.gz"}
REQUIRED_COLUMNS = ["journey_id", "user_idx", "touch_pos", "timestamp", "campaign_idx", "journey_conversion"]
# Criteo publishes seconds since the start of its 30-day log, not dates: anchored at a fixed,
# documented day (any past day gives the same journeys; only differences matter).
TIMESTAMP_ANCHOR = pd.Timestamp("2017-01-01 00:00:00")
# No conversion time: one second (the data's resolution) after the journey's last touch, so every
# touch lies strictly before the conversion moment and the purchase stays next to it.
CONVERSION_DELAY = pd.Timedelta(seconds=1)
PLACEMENT = "criteo_display"  # the data names no placement
N_CAMPAIGNS = 10  # CausalMTA's global_campaign_size
SPLIT_FILE = "causalmta_journey_split.parquet"
CHUNK_ROWS = 200_000
SPLITS = ("causalmta", "by_user")
SPLIT_VALIDATION_PCT = 15  # as the dbt var split_validation_pct: of the train file's users


def validation_users(user_ids: pd.Series) -> pd.Series:
    """True for the users whose md5 bucket (0-99) falls under SPLIT_VALIDATION_PCT: deterministic,
    independent of row order."""
    buckets = user_ids.map(lambda u: int(hashlib.md5(f"validation-{u}".encode()).hexdigest()[:8], 16) % 100)
    return buckets < SPLIT_VALIDATION_PCT


def files_of(source: Path) -> dict[str, Path]:
    """split -> touches file: both CausalMTA files of a folder, or one file named after its split."""
    if source.is_dir():
        found = {split: source / name for split, name in FILES.items() if (source / name).is_file()}
        if not found:
            raise FileNotFoundError(f"criteo: no {' or '.join(FILES.values())} in {source}")
        return found
    splits = [split for split in FILES if split in source.name]
    if len(splits) != 1:
        raise ValueError(f"criteo: cannot tell the split of {source.name}: name it like {FILES['test']}")
    return {splits[0]: source}


def read_touches(path: Path, every_nth_journey: int | None) -> pd.DataFrame:
    """The file's touches as text (bad values are counted, not guessed); with ``every_nth_journey``,
    only the journeys whose id is a multiple of it. A slice must be spread like this: CausalMTA's
    files hold every non-converted journey first, so their first journeys never convert."""
    chunks = []
    for chunk in pd.read_csv(path, dtype=str, usecols=lambda c: c in REQUIRED_COLUMNS, chunksize=CHUNK_ROWS,
                             keep_default_na=False, na_values=[""]):
        missing = [c for c in REQUIRED_COLUMNS if c not in chunk.columns]
        if missing:
            raise ValueError(f"criteo: {path} has no column(s) {missing}")
        if every_nth_journey is not None:
            journey = pd.to_numeric(chunk["journey_id"], errors="coerce")
            chunk = chunk[~(journey % every_nth_journey != 0)]  # unparseable ids stay: they are counted
        chunks.append(chunk)
    return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=REQUIRED_COLUMNS)


def _integers(values: pd.Series) -> pd.Series:
    """Integer values (Int64), <NA> where the text is not a whole number."""
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers.where(numbers == np.floor(numbers)).astype("Int64")


def screen_touches(touches: pd.DataFrame) -> pd.Series:
    """The reason each touch cannot be mapped (None where it can), first rule wins."""
    journey, user, position = (_integers(touches[c]) for c in ("journey_id", "user_idx", "touch_pos"))
    seconds = pd.to_numeric(touches["timestamp"], errors="coerce")
    campaign, label = _integers(touches["campaign_idx"]), _integers(touches["journey_conversion"])
    key = touches["split"] + "-" + touches["journey_id"].astype(str)
    reasons = first_reasons(touches.index, [
        ("bad_journey_id", journey.isna() | (journey < 0)),
        ("missing_user", user.isna()),
        ("bad_touch_pos", position.isna() | (position < 0)),
        ("unparseable_timestamp", seconds.isna() | (seconds < 0)),
        ("unknown_campaign", campaign.isna() | (campaign < 0) | (campaign >= N_CAMPAIGNS)),
        ("bad_conversion_label", ~label.isin([0, 1]).fillna(False)),
        ("duplicate_touch", pd.concat([key, position], axis=1).duplicated()),
    ])
    # A journey is a whole sequence: one bad touch, or touches disagreeing on the user or the
    # label, makes the whole journey unmappable (a partial journey would be a different one);
    # a touch logged twice is only a copy, its journey stays whole.
    passing = reasons.isna()
    disagrees = (
        (user[passing].groupby(key[passing]).nunique() > 1) | (label[passing].groupby(key[passing]).nunique() > 1)
    )
    reasons = reasons.mask(passing & key.isin(disagrees[disagrees].index), "inconsistent_journey")
    broken = key[~reasons.isna() & (reasons != "duplicate_touch") & ~journey.isna()].unique()
    return reasons.mask(reasons.isna() & key.isin(broken), "journey_has_unmapped_touch")


def journey_hours(journeys: pd.DataFrame) -> pd.Series:
    """Hours from each journey's first to its last impression (the journey side file's rows)."""
    return (journeys["last_impression_ts"] - journeys["first_impression_ts"]).dt.total_seconds() / 3600


def no_longer_than_non_converted(journeys: pd.DataFrame) -> pd.Series:
    """True for the journeys lasting no longer than the longest non-converted one: there, duration
    cannot tell a converted journey from a non-converted one."""
    hours = journey_hours(journeys)
    return hours <= hours[~journeys["converted"].astype(bool)].max()


def duration_notes(journeys: pd.DataFrame) -> list[str]:
    """A note when journey duration gives the label away: CausalMTA cut non-converted touches into
    3-day groups and kept converted journeys whole, so a journey longer than every non-converted
    one is a converted one, whatever its touches."""
    converted = journeys["converted"].astype(bool)
    if converted.all() or not converted.any():
        return []
    longer = float((~no_longer_than_non_converted(journeys)[converted]).mean())
    if longer == 0:
        return []
    cap = journey_hours(journeys)[~converted].max()
    return [f"non-converted journeys last at most {cap:.1f} h, {longer:.0%} of converted ones longer: "
            "duration alone tells those apart (a preprocessing artefact; score models on the shorter ones too)"]


@register("criteo")
def import_criteo(source: Path, out: Path, every_nth_journey: int | None = None, split: str = "causalmta") -> ImportReport:
    """`source` is the CausalMTA folder (train and test files) or one of its files;
    ``every_nth_journey`` keeps a spread slice of each file, for tests and quick looks;
    ``split`` is `causalmta` (their train/test split, pinned) or `by_user` (journeylift's)."""
    if split not in SPLITS:
        raise ValueError(f"criteo: split must be one of {SPLITS}, not {split!r}")
    files = files_of(source)
    touches = pd.concat(
        [read_touches(path, every_nth_journey).assign(split=split) for split, path in files.items()], ignore_index=True
    )
    report = ImportReport("criteo", str(source), input_rows=len(touches))
    reasons = screen_touches(touches)
    report.add_unmapped(reasons)
    kept = touches[reasons.isna()]

    key = kept["split"] + "-" + kept["journey_id"].astype(int).astype(str)
    impression_id = key + "-" + kept["touch_pos"].astype(int).astype(str)
    at = TIMESTAMP_ANCHOR + pd.to_timedelta(pd.to_numeric(kept["timestamp"]), unit="s")
    user_id = "u" + kept["user_idx"].astype(int).astype(str)
    if split == "causalmta":
        user_id = user_id + "@" + kept["split"]
    product_id = "campaign_" + kept["campaign_idx"].astype(int).astype(str)
    impressions = pd.DataFrame({"impression_id": impression_id, "auction_id": "auction-" + impression_id,
                                "user_id": user_id, "product_id": product_id, "impression_ts": at,
                                "journey_id": key})
    auctions = pd.DataFrame({"auction_id": impressions["auction_id"], "user_id": user_id, "auction_ts": at,
                             "placement": PLACEMENT})

    # One row per journey: its last touch (by time, then position) names the purchased product.
    ordered = pd.DataFrame({
        "journey_key": key, "causalmta_journey_id": kept["journey_id"].astype(int), "split": kept["split"],
        "user_id": user_id, "product_id": product_id, "at": at, "touch_pos": kept["touch_pos"].astype(int),
        "converted": kept["journey_conversion"].astype(int) == 1,
    }).sort_values(["journey_key", "at", "touch_pos"])
    by_journey = ordered.groupby("journey_key", sort=False)
    journeys = by_journey.last()[["causalmta_journey_id", "split", "user_id", "product_id", "converted"]].assign(
        n_impressions=by_journey.size(), n_products=by_journey["product_id"].nunique(),
        first_impression_ts=by_journey["at"].min(), last_impression_ts=by_journey["at"].max(),
    ).reset_index()
    journeys["purchase_id"] = ("purchase-" + journeys["journey_key"]).where(journeys["converted"])
    converted = journeys[journeys["converted"]]
    purchases = pd.DataFrame({"purchase_id": converted["purchase_id"], "user_id": converted["user_id"],
                              "product_id": converted["product_id"],
                              "purchase_ts": converted["last_impression_ts"] + CONVERSION_DELAY,
                              "revenue": np.nan,  # the data has no order value
                              "journey_id": converted["journey_key"]})

    report.tables["auctions_users"] = write_contract_table(auctions, out, "auctions_users")
    report.tables["impressions"] = write_contract_table(impressions, out, "impressions")
    report.tables["purchases"] = write_contract_table(purchases, out, "purchases")
    if split == "causalmta":
        users = journeys.drop_duplicates("user_id")[["user_id", "split"]]
        users["split"] = users["split"].where((users["split"] == "test") | ~validation_users(users["user_id"]),
                                              "validation")
        report.tables["user_splits"] = write_contract_table(users, out, "user_splits")
    journeys.to_parquet(out / SPLIT_FILE, index=False)
    report.side_files[SPLIT_FILE] = len(journeys)

    people = journeys["user_id"].str.split("@").str[0]
    users_by_split = journeys.groupby(people)["split"].nunique()
    multi = journeys[journeys["n_products"] > 1]
    report.notes += [
        f"{len(journeys):,} journeys ({', '.join(f'{s}: {n:,}' for s, n in journeys['split'].value_counts().sort_index().items())}), "
        f"{len(purchases):,} converted; purchase_ts = last touch + 1 s (the data has no conversion time)",
        f"timestamps anchored at {TIMESTAMP_ANCHOR:%Y-%m-%d} 00:00 UTC (the data counts seconds from its start)",
        f"{int((users_by_split > 1).sum()):,} users have journeys in both train and test: CausalMTA splits by journey"
        + (" (user_splits pins u<n>@test to test, u<n>@train to train or, "
           f"{SPLIT_VALIDATION_PCT}% of them, validation)" if split == "causalmta" else ""),
        f"{len(multi):,} journeys touch several campaigns, {int(multi['converted'].sum()):,} of them convert",
        "no clicks file: the data has no click flag; cost, cpo and cat1..cat9 have no contract column",
    ]
    report.notes += duration_notes(journeys)
    if every_nth_journey is not None:
        report.notes.append(f"a slice: the journeys whose id is a multiple of {every_nth_journey} in each file")
    return report
