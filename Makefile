# Two commands for a new machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORPUS ?= corpus
OUT ?= outputs
PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: install install-test run review notebook report test lint format docs constraints clean model evaluate-model benchmark-model benchmark-throughput benchmark-memory benchmark-dask evaluate-claims claims-model extraction hedges evaluate-hedges strength evaluate-strength

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install --quiet -c constraints.txt -e ".[test]"
	touch $(VENV)/.installed $@

# Build the v2 pipeline from ../shared/corpora (or $$CLAIMS_CORPORA) into $(NEW_MODEL): convert,
# train the joint tok2vec/tagger/parser/NER (models/configs/joint.cfg, 30,000 steps, about
# 4 h on one core; checkpointed at every evaluation: run `make model` again after an
# interruption and it resumes), assemble, retrain the hedge detector and the claim extractor
# on the new parse, then print and store the held-out figures and the speed beside spaCy's
# efficiency pipeline. TRAIN_FLAGS="--max-steps N" trains fewer steps; "--fresh" starts over.
# NEW_MODEL=models/claims_web_sm replaces the shipped pipeline (see models/README.md: v2 does
# not yet beat it end to end).
MODEL := models/claims_web_sm
# evaluate-model / benchmark-model: EVAL_MODEL=models/build/claims_web_v2 for the v2 build
EVAL_MODEL ?= $(MODEL)
NEW_MODEL ?= models/build/claims_web_v2
TRAINED := models/build/train
TRAIN_FLAGS ?=
model: install-test
	$(BIN)/python models/scripts/convert.py
	$(BIN)/python models/scripts/train.py --output $(TRAINED)/joint $(TRAIN_FLAGS)
	$(BIN)/python models/scripts/build_lexicon.py
	$(BIN)/python models/scripts/assemble.py --joint $(TRAINED)/joint/model-best --out $(NEW_MODEL)
	$(BIN)/python models/scripts/train_hedges.py --model $(NEW_MODEL) --out $(NEW_MODEL)-hedges
	$(BIN)/python models/scripts/train_strength.py --model $(NEW_MODEL) \
		--out $(NEW_MODEL)-strength/strength.json.gz
	$(BIN)/python models/scripts/assemble.py --extraction-only --out $(NEW_MODEL) \
		--hedges $(NEW_MODEL)-hedges/detector.json.gz --strength $(NEW_MODEL)-strength/strength.json.gz
	$(BIN)/python models/scripts/train_claims.py --model $(NEW_MODEL)
	$(BIN)/python models/scripts/evaluate.py $(NEW_MODEL) --write-meta
	$(BIN)/python benchmarks/model_speed.py --model $(NEW_MODEL) --peer --batch-size 32

evaluate-model: install-test
	test -d models/build/corpus || $(BIN)/python models/scripts/convert.py
	$(BIN)/python models/scripts/evaluate.py $(EVAL_MODEL)

# Words/s of the shipped pipeline and of its statistical core beside spaCy's efficiency
# pipeline (random weights), 300 FakeHealth stories, batch size 32, one process (minutes).
benchmark-model: install
	$(BIN)/python benchmarks/model_speed.py --model $(EVAL_MODEL) --peer --batch-size 32

# The whole flow against bare nlp.pipe on FakeHealth, 1 and 2 workers, memory at 1x and 10x
# (about an hour on 2 cores); the table goes to outputs/throughput.md.
benchmark-throughput: install-test
	$(BIN)/python benchmarks/throughput.py --report $(OUT)/throughput.md

# Memory of `claims run` at 1x and 5x a 300-article FakeHealth slice, 2 workers: the peaks of
# the process tree, the main process, each worker and the Prefect server, the main process
# at each commit, and the ratios the targets are about (about 10 minutes; outputs/memory.md).
# MEMORY_FLAGS="--tracemalloc" adds Python allocation snapshots of the main process (slower).
benchmark-memory: install-test
	$(BIN)/python benchmarks/memory.py --report $(OUT)/memory.md $(MEMORY_FLAGS)

# Words/s on a local Dask cluster of 1, 2 and 4 workers reached by --address, 2x the slice
# (about 15 minutes; outputs/dask-scaling.md).
benchmark-dask: install-test
	$(BIN)/python benchmarks/dask_scaling.py --report $(OUT)/dask-scaling.md

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/claims run $(CORPUS) --out $(OUT)

# The reviewer app on the tables of `make run` (http://127.0.0.1:8765/).
review: install
	$(BIN)/claims review serve --tables $(OUT)

# Re-run notebooks/explore_claims.ipynb in place (its stored outputs) on a fresh run of corpus/.
NOTEBOOK_TABLES := $(abspath $(OUT))/.notebook-tables
notebook: install-test
	rm -rf $(NOTEBOOK_TABLES)
	cd notebooks && CLAIMS_TABLES=$(NOTEBOOK_TABLES) $(abspath $(BIN))/jupyter-execute --inplace explore_claims.ipynb

# Rebuild $(OUT)/report.html from the tables (`make run` writes it already).
report: install
	$(BIN)/claims report --tables $(OUT)

# The suite runs in TEST_WORKERS processes (pytest-xdist), a test file to each; about seven
# minutes with 2 on 2 cores. TEST_WORKERS=0 runs it in this process (about twelve).
TEST_WORKERS ?= 2
test: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: install-test
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

docs: install
	$(BIN)/python -m pipeline.storage.schemas > docs/tables.md

constraints: install-test
	$(PIP) freeze --exclude-editable | sed '1i # Versions proven to work together here. Regenerate with: make constraints' > constraints.txt

# Reviewers' verdicts (reviews.sqlite*) are not run output: clean keeps them.
clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
	test ! -d $(OUT) || find $(OUT) -mindepth 1 -maxdepth 1 ! -name 'reviews.sqlite*' -exec rm -rf {} +

# Claim extraction against the hand-made gold (models/gold/claims/<SPLIT>, SPLIT=dev or test,
# or SPLIT=claim-gold for ../shared/claim-gold): gather the gold articles, run, score.
SPLIT ?= dev
GOLD = $(if $(filter claim-gold,$(SPLIT)),../shared/claim-gold/claims-20-articles.jsonl,models/gold/claims/$(SPLIT))
evaluate-claims: install
	$(BIN)/python models/scripts/gold_corpus.py --gold $(GOLD) --out $(OUT)/gold-$(SPLIT)/corpus
	$(BIN)/claims run $(OUT)/gold-$(SPLIT)/corpus --out $(OUT)/gold-$(SPLIT)/tables --no-progress
	$(BIN)/claims evaluate claims --gold $(GOLD) --tables $(OUT)/gold-$(SPLIT)/tables \
		--report $(OUT)/gold-$(SPLIT)/report.json

# Train the learned claim extractor on the claim gold (about a minute), print dev figures and
# install it into models/claims_web_sm; FLAGS="--no-install --test" adds the test split and
# leaves the model as it is.
FLAGS ?=
claims-model: install-test
	$(BIN)/python models/scripts/train_claims.py $(FLAGS)

# Refresh only the extraction components of the shipped model (lexicon, cues, claim rules),
# then retrain the learned claim extractor on them.
extraction: install-test
	$(BIN)/python models/scripts/build_lexicon.py
	$(BIN)/python models/scripts/assemble.py --extraction-only --out $(MODEL)
	$(BIN)/python models/scripts/train_claims.py

# Retrain the hedge and negation detector from ../shared/corpora (about 4 minutes, parses
# cached in models/build/hedges) and put it into the shipped model.
hedges: install-test
	$(BIN)/python models/scripts/train_hedges.py
	$(BIN)/python models/scripts/build_lexicon.py
	$(BIN)/python models/scripts/assemble.py --extraction-only --out $(MODEL)

# Retrain the claim strength classifier on our doubly annotated FakeHealth sentences
# (models/gold/strength, about a minute) and put it into the shipped model.
strength: install-test
	$(BIN)/python models/scripts/train_strength.py
	test -f models/build/lexicon.jsonl || $(BIN)/python models/scripts/build_lexicon.py
	$(BIN)/python models/scripts/assemble.py --extraction-only --out $(MODEL)

# Figures of the claim strength classifier: 5-fold CV on Yu et al.'s PubMed sentences beside
# their published figure, the shipped weights on them and on our news sample (about a minute).
evaluate-strength: install-test
	$(BIN)/claims evaluate strength --report $(OUT)/strength-report.json

# Held-out figures of the hedge and negation detector (test documents, *SEM test).
evaluate-hedges: install
	$(BIN)/claims evaluate hedges --report $(OUT)/hedges-report.json
