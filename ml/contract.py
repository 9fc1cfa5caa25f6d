"""The raw contract of design.md, declared once: the tables a source brings, their columns and
the rule each column meets.

Everything that reads or writes raw tables takes its names from here: the importers write
exactly these columns (`ml.importers.write_contract_table`), the simulators' tests check
their tables against them, and journeylift's contract check (Dagster's raw assets) stops a
source that misses a required table or column, or whose typed column holds no parseable
value. Row-level faults are not this module's business: dbt's staging screen quarantines
them row by row.

Two domains share one canonical event schema after staging: app sessions (`events`,
`dimension_store`, optional `ad_experiment`) and sponsored-product ad funnels
(`auctions_users`, `impressions`, optional `clicks`, `purchases`). A source brings one domain
or both, and a domain it brings must be whole; `user_splits` serves either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Column rules. `text` accepts any type (staging casts it to a string); the others need at least
# one non-null value that parses as that type, so a column of the wrong type stops the run while
# a few bad values are quarantined row by row.
TEXT, TIMESTAMP, BOOLEAN, NUMBER = "text", "timestamp", "boolean", "number"
RULE_WORDS = {
    TIMESTAMP: "parseable as a timestamp",
    BOOLEAN: "boolean-like (true/false, t/f, 1/0, yes/no)",
    NUMBER: "a number",
}

SESSIONS, AD_FUNNEL = "sessions", "ad_funnel"
ANY_DOMAIN = "any"  # an optional table that serves whichever domain a source brings
DOMAINS = (SESSIONS, AD_FUNNEL)


@dataclass(frozen=True)
class ContractTable:
    """One raw table: its required columns and optional ones, each with its rule."""

    name: str
    columns: dict[str, str]  # required column -> rule
    optional_columns: dict[str, str] = field(default_factory=dict)
    required: bool = True  # within its domain: a source bringing the domain must have it
    domain: str = SESSIONS

    @property
    def rules(self) -> dict[str, str]:
        """Every column it may hold (required first) -> rule."""
        return {**self.columns, **self.optional_columns}


# Impressions, clicks and purchases may carry the data's own journeys: an attribution system's
# conversion id, a published preprocessing (kept as `<user_id>|<journey_id>`).
GIVEN_JOURNEY = {"journey_id": TEXT}

CONTRACT: tuple[ContractTable, ...] = (
    ContractTable(
        "events",
        columns={
            "event_id": TEXT, "user_id": TEXT, "session_id": TEXT, "event_ts": TIMESTAMP,
            "event_type": TEXT, "event": TEXT, "discovery_feature": TEXT, "store_id": TEXT,
            "is_sponsored": BOOLEAN,
        },
        # for holdout users: the organic card shown where a sponsored one would have been
        optional_columns={"is_ghost_ad": BOOLEAN},
    ),
    ContractTable(
        "dimension_store",
        columns={
            "store_id": TEXT, "store_name": TEXT, "primary_tag_name": TEXT,
            "primary_category_name": TEXT, "is_nv": BOOLEAN,
        },
    ),
    # A randomized ad holdout: arm is `treatment` or `holdout`.
    ContractTable("ad_experiment", columns={"user_id": TEXT, "arm": TEXT}, required=False),
    ContractTable(
        "auctions_users",
        columns={"auction_id": TEXT, "user_id": TEXT, "auction_ts": TIMESTAMP, "placement": TEXT},
        domain=AD_FUNNEL,
    ),
    ContractTable(
        "impressions",
        columns={"impression_id": TEXT, "auction_id": TEXT, "user_id": TEXT, "product_id": TEXT,
                 "impression_ts": TIMESTAMP},
        optional_columns=GIVEN_JOURNEY, domain=AD_FUNNEL,
    ),
    ContractTable(
        "clicks",
        columns={"click_id": TEXT, "impression_id": TEXT, "user_id": TEXT, "product_id": TEXT, "click_ts": TIMESTAMP},
        optional_columns=GIVEN_JOURNEY, required=False, domain=AD_FUNNEL,
    ),
    ContractTable(
        "purchases",
        columns={"purchase_id": TEXT, "user_id": TEXT, "product_id": TEXT, "purchase_ts": TIMESTAMP,
                 "revenue": NUMBER},
        optional_columns=GIVEN_JOURNEY, domain=AD_FUNNEL,
    ),
    # Users pinned to a split (train, validation or test), e.g. to reproduce a published split;
    # users it does not name are split by the hash as usual.
    ContractTable("user_splits", columns={"user_id": TEXT, "split": TEXT}, required=False, domain=ANY_DOMAIN),
)
CONTRACT_TABLES: dict[str, ContractTable] = {table.name: table for table in CONTRACT}

# The contract's (design.md's) names of the times a sequences or labels table holds -> the marts'
# names for them (`<event>_at` UTC timestamps): a user's own table may use either.
MART_NAMES = {"event_ts": "event_at", "conversion_ts": "conversion_at"}


def domain_tables(domain: str, required_only: bool = False) -> list[str]:
    """The contract tables of `domain` (only those it requires, when asked)."""
    return [t.name for t in CONTRACT if t.domain == domain and (t.required or not required_only)]
