"""Settings: what a deployment chooses, where a run reads and writes, and how a run is configured.

- What the graph holds follows `Settings`: the source (JOURNEYLIFT_SOURCE), the model families
  (JOURNEYLIFT_MODELS) and those also trained on the leaky comparison variants
  (JOURNEYLIFT_LEAKAGE_MODELS), whether the leakage guard blocks (JOURNEYLIFT_LEAKAGE_GUARD) and the first
  event-date partition (JOURNEYLIFT_FIRST_EVENT_DATE). `Settings.from_environment()` reads them
  once per definitions load; `dagster_project.definitions.build_definitions(settings)` builds the
  graph for any settings, in process, so a test never needs a subprocess for another setting.
- Every path derives from JOURNEYLIFT_HOME (default `.journeylift/` in the repo root), read when a
  path is asked for. dbt receives it through the environment (its profile builds the DuckDB path
  from it), so it is made absolute here before anything starts dbt.
- A run's own knobs are Dagster config built from ml's dataclasses (`config_from_dataclass`), so
  each default has one home: the dataclass.
"""

from __future__ import annotations

import dataclasses
import os
import re
import typing
import warnings
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import dagster as dg
import yaml

from ml.contract import AD_FUNNEL, SESSIONS

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
OUTPUT_SCHEMA = "journeylift"
RAW_SCHEMA = "raw"

SOURCE_ENV = "JOURNEYLIFT_SOURCE"
MODELS_ENV = "JOURNEYLIFT_MODELS"
LEAKAGE_MODELS_ENV = "JOURNEYLIFT_LEAKAGE_MODELS"
GUARD_ENV = "JOURNEYLIFT_LEAKAGE_GUARD"
FIRST_EVENT_DATE_ENV = "JOURNEYLIFT_FIRST_EVENT_DATE"
GUARD_MODES = ("block", "warn")
# Fast families trained by default; JOURNEYLIFT_MODELS=all trains every registered family.
DEFAULT_MODEL_FAMILIES = ("lstm", "transformer_cls", "gru4rec", "logreg_counts", "latent_intent")
# The leaky comparison variants exist only to show what leakage does: by default the two families
# that show it in seconds (the count baseline and a GRU) are trained on them, not every family
# (the Transformer took 131 s of a 453 s run on them). JOURNEYLIFT_LEAKAGE_MODELS=all: every
# trained family, or a comma-separated list.
DEFAULT_LEAKAGE_FAMILIES = ("gru4rec", "logreg_counts")


# --- where a run reads and writes -------------------------------------------------------------


def journeylift_home() -> Path:
    home = Path(os.environ.get("JOURNEYLIFT_HOME") or REPO_ROOT / ".journeylift").resolve()
    os.environ["JOURNEYLIFT_HOME"] = str(home)  # dbt's profile reads it
    return home


def warehouse_path() -> Path:
    return journeylift_home() / "warehouse.duckdb"


def outputs_dir() -> Path:
    path = journeylift_home() / "outputs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def mlflow_dir() -> Path:
    path = journeylift_home() / "mlflow"
    path.mkdir(parents=True, exist_ok=True)
    return path


@cache
def dbt_vars() -> dict:
    """The dbt project's vars: the one copy of the funnel and conversion event lists."""
    with open(DBT_PROJECT_DIR / "dbt_project.yml") as f:
        return yaml.safe_load(f)["vars"]


# --- the source -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One value of JOURNEYLIFT_SOURCE: kind is `simulator`, `folder` or `warehouse`;
    `domain` is the simulated domain (sessions or ad_funnel) for the simulator."""

    kind: str = "simulator"
    folder: Path | None = None
    schema: str | None = None
    domain: str = SESSIONS

    def describe(self) -> str:
        simulator = "simulator" if self.domain == SESSIONS else f"simulator:{self.domain}"
        return {"simulator": simulator, "folder": f"folder {self.folder}", "warehouse": f"warehouse:{self.schema}"}[self.kind]

    def dbt_vars(self) -> dict[str, str]:
        """dbt vars this source needs: `raw_schema` for warehouse:<schema> (the simulator and a
        folder load into `raw`, the project's default)."""
        return {"raw_schema": self.schema} if self.kind == "warehouse" else {}


PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Characters that end or open a SQL literal or statement, and control characters: never in a path
# that is spliced into a DuckDB table function.
UNSAFE_PATH_CHARACTERS = re.compile(r"""['"`;\x00-\x1f\x7f]""")


def plain_name(name: str, what: str) -> str:
    """`name` when it is a plain SQL name (ASCII letters, digits and underscores, not starting with
    a digit); otherwise a ValueError that names it and `what` it was for."""
    if not PLAIN_NAME.fullmatch(name):
        raise ValueError(f"{what} {name!r} is not a plain name (letters, digits and _, not starting with a digit)")
    return name


def safe_path(value: str, what: str) -> str:
    """`value` unless it holds a quote, backtick, semicolon or control character (SQL injection or a
    name that is not what it shows); a ValueError naming the character otherwise."""
    found = UNSAFE_PATH_CHARACTERS.search(value)
    if found:
        raise ValueError(f"{what} {value!r} holds {found.group()!r}: rename the folder without quotes, "
                         "semicolons or control characters")
    return value


def parse_source(value: str | None) -> Source:
    """`simulator` (also empty; `simulator:ad_funnel` for the ad-funnel domain),
    `warehouse:<schema>` (a plain name) or a folder path (which must exist; no quotes,
    semicolons or control characters)."""
    value = (value or "").strip()
    if value in ("", "simulator", f"simulator:{SESSIONS}"):
        return Source("simulator")
    if value == f"simulator:{AD_FUNNEL}":
        return Source("simulator", domain=AD_FUNNEL)
    if value.startswith("warehouse:"):
        schema = plain_name(value.removeprefix("warehouse:").strip(), f"{SOURCE_ENV}=warehouse:<schema>: the schema")
        return Source("warehouse", schema=schema)
    folder = Path(safe_path(value, f"{SOURCE_ENV}: the folder")).expanduser().resolve()
    if not folder.is_dir():
        raise ValueError(f"{SOURCE_ENV}={value!r} is neither `simulator`, `warehouse:<schema>` nor an existing folder")
    return Source("folder", folder=folder)


# --- what the graph holds ---------------------------------------------------------------------


def _simulator_first_day() -> str:
    from ml.simulate import SimulationConfig

    return SimulationConfig().start


@dataclass(frozen=True)
class Settings:
    """What a deployment chooses; every field has its environment variable (module docstring)."""

    source: Source = Source()
    model_families: tuple[str, ...] = DEFAULT_MODEL_FAMILIES
    leakage_families: tuple[str, ...] = DEFAULT_LEAKAGE_FAMILIES
    leakage_guard: str = "block"
    first_event_date: str = dataclasses.field(default_factory=_simulator_first_day)

    def __post_init__(self) -> None:
        from ml.models import available_models

        registered = available_models()
        unknown = [n for n in self.model_families if n not in registered]
        if unknown:
            raise ValueError(f"{MODELS_ENV} names unknown model families {unknown}; registered: {registered}")
        untrained = [n for n in self.leakage_families if n not in registered]
        if untrained:
            raise ValueError(f"{LEAKAGE_MODELS_ENV} names unknown model families {untrained}; registered: {registered}")
        if self.leakage_guard not in GUARD_MODES:
            raise ValueError(f"{GUARD_ENV} must be one of {GUARD_MODES}, not {self.leakage_guard!r}")
        try:
            date.fromisoformat(self.first_event_date)
        except ValueError as error:
            raise ValueError(f"{FIRST_EVENT_DATE_ENV}={self.first_event_date!r} is not a date YYYY-MM-DD") from error

    @property
    def leaky_variant_families(self) -> tuple[str, ...]:
        """The trained families that the leaky comparison variants are trained for too: the
        leakage families among the trained ones, or every trained family when none is."""
        return tuple(f for f in self.model_families if f in self.leakage_families) or self.model_families

    @property
    def guard_blocks(self) -> bool:
        return self.leakage_guard == "block"

    @classmethod
    def from_environment(cls, environ: typing.Mapping[str, str] | None = None) -> Settings:
        """The settings the environment names (defaults where a variable is unset or empty)."""
        from ml.models import available_models

        environ = os.environ if environ is None else environ
        wanted = environ.get(MODELS_ENV, "").strip()
        if wanted == "all":
            families = tuple(available_models())
        else:
            families = tuple(n.strip() for n in wanted.split(",") if n.strip()) or DEFAULT_MODEL_FAMILIES
        wanted_leaky = environ.get(LEAKAGE_MODELS_ENV, "").strip()
        if wanted_leaky == "all":
            leaky = families
        else:
            leaky = tuple(n.strip() for n in wanted_leaky.split(",") if n.strip()) or DEFAULT_LEAKAGE_FAMILIES
        settings = cls(
            source=parse_source(environ.get(SOURCE_ENV)),
            model_families=families,
            leakage_families=leaky,
            leakage_guard=environ.get(GUARD_ENV, "").strip().lower() or "block",
            first_event_date=environ.get(FIRST_EVENT_DATE_ENV, "").strip() or _simulator_first_day(),
        )
        if not settings.guard_blocks:
            warnings.warn(f"{GUARD_ENV}=warn: the leakage guard reports but does NOT stop training", stacklevel=2)
        return settings


# --- a run's own knobs ------------------------------------------------------------------------


def config_from_dataclass(source: type, exclude: tuple[str, ...] = (), name: str | None = None) -> type[dg.Config]:
    """A Dagster config class with the fields, types and defaults of the dataclass `source` (less
    `exclude`), so the launchpad shows ml's own defaults and no default is copied by hand.
    `as_dataclass(config)` turns a filled config back into `source`."""
    hints = typing.get_type_hints(source)
    annotations, defaults = {}, {}
    for field in dataclasses.fields(source):
        if field.name in exclude:
            continue
        annotations[field.name] = hints[field.name]
        has_factory = field.default_factory is not dataclasses.MISSING
        defaults[field.name] = field.default_factory() if has_factory else field.default
    namespace = {"__annotations__": annotations, "__doc__": source.__doc__, "__module__": source.__module__,
                 "__qualname__": name or source.__name__, **defaults}
    return type(name or source.__name__, (dg.Config,), namespace)


def as_dataclass(config: dg.Config, target: type, **overrides):
    """`target` (a dataclass) from the fields of `config` it declares, then `overrides`."""
    names = {f.name for f in dataclasses.fields(target)}
    return target(**{k: v for k, v in config.model_dump().items() if k in names}, **overrides)


#: The servers `journeylift dev` (`make dev`) starts, all on 127.0.0.1; JOURNEYLIFT_<NAME>_PORT
#: moves one (e.g. JOURNEYLIFT_MLFLOW_PORT=5001). Links in metadata and run tags point here.
SERVER_PORTS = {"dagster": 3000, "mlflow": 5000, "data_docs": 8081}


def server_port(name: str) -> int:
    return int(os.environ.get(f"JOURNEYLIFT_{name.upper()}_PORT", SERVER_PORTS[name]))


def server_url(name: str) -> str:
    """http://127.0.0.1:<port> of server `name` (SERVER_PORTS)."""
    return f"http://127.0.0.1:{server_port(name)}"


def data_docs_site() -> Path:
    """The folder GX writes its Data Docs site into (its file project lives in JOURNEYLIFT_HOME/gx)."""
    return journeylift_home() / "gx" / "uncommitted" / "data_docs" / "local_site"


def output_locations() -> list[tuple[str, str]]:
    """Where a run's outputs are, as (what, where) lines for the summary."""
    db = mlflow_dir() / "mlflow.db"
    return [
        ("tables + figures", str(outputs_dir())),
        ("warehouse", f"{warehouse_path()} (schema {OUTPUT_SCHEMA})"),
        ("MLflow", f"{mlflow_dir()} (make dev, then {server_url('mlflow')})"),
        ("Dagster", f"{journeylift_home() / 'dagster'} (make dev, then {server_url('dagster')})"),
    ]
