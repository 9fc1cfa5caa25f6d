# journeylift: `make run` sets everything up and runs the main job; `make test` runs the tests.
# The venv is reused: it is (re)installed only when pyproject.toml changes.
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
# The venv's tools first: dagster-dbt looks for `dbt` on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export JOURNEYLIFT_HOME ?= $(CURDIR)/.journeylift
export DAGSTER_HOME     ?= $(JOURNEYLIFT_HOME)/dagster
DBT_SOURCES := $(shell find dbt/models dbt/macros dbt/tests dbt/seeds -type f 2>/dev/null) dbt/dbt_project.yml dbt/profiles.yml
MANIFEST    := dbt/target/manifest.json

.PHONY: run test bench dev docs manifest venv clean real-data

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# dagster-dbt loads the manifest instead of parsing the project at every code-location load.
manifest: $(MANIFEST)
$(MANIFEST): $(STAMP) $(DBT_SOURCES)
	$(BIN)/dagster-dbt project prepare-and-package --file dagster_project/defs/dbt/project.py

run: $(MANIFEST)
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/journeylift run

test: $(MANIFEST)
	$(BIN)/pytest

bench: $(MANIFEST)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The real public samples (../shared/data): each imported (`journeylift import`) into
# .journeylift/real/<run>/ and run as a folder source with its own JOURNEYLIFT_HOME
# (.journeylift/real/<run>/home): `make real-data`, or one with `make real-data-otto`.
# A run is a dataset and its import options: criteo is CausalMTA's train/test split,
# criteo-by-user the same sample split by user.
REAL_DATA     ?= $(abspath $(CURDIR)/../shared/data)
REAL_HOME     := $(CURDIR)/.journeylift/real
REAL_RUNS     := otto rees46 criteo criteo-by-user
REAL_SAMPLE_otto   := $(REAL_DATA)/otto_recsys_test_sessions
REAL_SAMPLE_rees46 := $(REAL_DATA)/rees46_multicategory_2019oct_head5k
REAL_SAMPLE_criteo := $(REAL_DATA)/criteo_attribution_causalmta
DATASET_criteo-by-user        := criteo
IMPORT_OPTIONS_criteo-by-user := --split by_user
# After the run, its test figures next to the published ones (`journeylift compare`).
COMPARE_criteo         := causalmta
COMPARE_criteo-by-user := causalmta
dataset_of = $(or $(DATASET_$(1)),$(1))

real-data: $(addprefix real-data-,$(REAL_RUNS))

real-data-%: $(MANIFEST)
	$(BIN)/journeylift import $(call dataset_of,$*) $(REAL_SAMPLE_$(call dataset_of,$*)) $(REAL_HOME)/$* $(IMPORT_OPTIONS_$*)
	mkdir -p $(REAL_HOME)/$*/home/dagster
	JOURNEYLIFT_SOURCE=$(REAL_HOME)/$* JOURNEYLIFT_HOME=$(REAL_HOME)/$*/home DAGSTER_HOME=$(REAL_HOME)/$*/home/dagster \
		$(BIN)/journeylift run
	$(if $(COMPARE_$*),JOURNEYLIFT_HOME=$(REAL_HOME)/$*/home $(BIN)/journeylift compare $(COMPARE_$*) $(REAL_HOME)/$*)

# The Dagster UI (127.0.0.1:3000, over workspace.yaml), the MLflow UI (:5000) and GX's Data Docs
# (:8081), until Ctrl-C (`journeylift dev`; the ports are dagster_project/settings.py SERVER_PORTS).
dev: $(MANIFEST)
	$(BIN)/journeylift dev

# dbt docs (lineage) on 127.0.0.1:8080.
docs: $(MANIFEST)
	cd dbt && ../$(BIN)/dbt docs generate --profiles-dir . && ../$(BIN)/dbt docs serve --profiles-dir . --host 127.0.0.1 --port 8080

clean:
	rm -rf $(JOURNEYLIFT_HOME) dbt/target dbt/logs
