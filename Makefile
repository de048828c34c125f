# Unfold — build, run, test, benchmark.
# `make run` and `make test` install what they need (Debian packages via apt-get when root).

SHELL        := /bin/bash
SWIFT        ?= swift
APT_PACKAGES := libcurl4-openssl-dev zlib1g-dev pkg-config
BIN_RELEASE  := .build/release/unfold
BIN_DEBUG    := .build/debug/unfold
HOST         ?= 127.0.0.1
PORT         ?= 8080

SNAPSHOTS    ?= snapshots

.PHONY: all deps build data model run test test-contract test-dashboard openapi bench bench-http bench-wals bench-serve bench-swap bench-costs bench-users bench-sgd bench-spark bench-retrieval experiments fuzz fuzz-build fuzz-smoke clean

all: build

## deps: install the system libraries (apt-get) when missing
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v $(SWIFT) >/dev/null 2>&1 || { echo "error: the Swift toolchain ($(SWIFT)) is not on PATH; install Swift 6.x from swift.org"; exit 1; }; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "error: missing Debian packages:$$missing"; \
	    echo "run:   sudo apt-get update && sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi

## build: release build of the unfold binary
build: deps
	$(SWIFT) build -c release --product unfold

## data: MovieLens-100k (or a synthetic set when it cannot be fetched), split into train/test
data: build
	bash scripts/data.sh $(BIN_RELEASE)

## model: train a first WALS model unless a snapshot exists
model: data
	@if ls $(SNAPSHOTS)/*.unfold >/dev/null 2>&1; then \
	  echo "model: using the snapshots in $(SNAPSHOTS)/"; \
	else \
	  items=""; [ -f data/current/ml-100k.item ] && items="--items data/current/ml-100k.item"; \
	  $(BIN_RELEASE) train --model wals --data data/current/train.tsv --test data/current/test.tsv $$items --out $(SNAPSHOTS) > /dev/null; \
	fi

## run: build, fetch data, train a first model if none exists, serve on $(HOST):$(PORT)
run: model
	@echo ""
	@echo "Unfold on http://$(HOST):$(PORT). Try:"
	@echo "  curl -s -H 'Content-Type: application/json' -d '{\"interactions\":[{\"item\":\"50\"},{\"item\":\"181\"}],\"k\":5}' http://$(HOST):$(PORT)/v1/recommend"
	@echo "  curl -s 'http://$(HOST):$(PORT)/v1/items/50/similar?k=5'"
	@echo ""
	$(BIN_RELEASE) serve --host $(HOST) --port $(PORT) --snapshots $(SNAPSHOTS)

## test: unit tests and end-to-end tests against the real binary, the end-to-end tests once
## per event core (event_loop=dispatch, then epoll on Linux); the last line counts both runs.
## The Spark loop (spark/venv.sh: pyspark in .build/spark-venv, a Java runtime) runs in the first.
test: deps
	$(MAKE) fuzz-smoke
	$(SWIFT) build --build-tests
	bash scripts/data.sh $(BIN_DEBUG)
	@SPARK_SUBMIT=$$(bash spark/venv.sh) && echo "$$SPARK_SUBMIT" > .build/spark-submit.path && \
	  $$(dirname "$$SPARK_SUBMIT")/python -m unittest discover -s spark -p 'test_*.py'
	@status=0; set -o pipefail; rm -f .build/test.log .build/test-epoll.log; \
	echo "== all tests, end-to-end servers with event_loop=dispatch (and the Spark loop in local mode)"; \
	UNFOLD_SPARK_SUBMIT=$$(cat .build/spark-submit.path) UNFOLD_TEST_EVENT_LOOP=dispatch UNFOLD_BIN=$(CURDIR)/$(BIN_DEBUG) $(SWIFT) test --skip-build --disable-swift-testing 2>&1 | tee .build/test.log || status=1; \
	logs=.build/test.log; \
	if [ "$$(uname -s)" = Linux ]; then \
	  echo "== end-to-end tests again with event_loop=epoll"; \
	  UNFOLD_TEST_EVENT_LOOP=epoll UNFOLD_BIN=$(CURDIR)/$(BIN_DEBUG) $(SWIFT) test --skip-build --disable-swift-testing --filter UnfoldEndToEndTests 2>&1 | tee .build/test-epoll.log || status=1; \
	  logs="$$logs .build/test-epoll.log"; \
	fi; \
	for log in $$logs; do \
	  grep -qE "Executed [0-9]+ tests?, with ([0-9]+ tests? skipped and )?[0-9]+ failures?" $$log || { echo "$$log: the run ended without a summary"; status=1; }; \
	done; \
	for log in $$logs; do grep -E "Executed [0-9]+ tests?, with ([0-9]+ tests? skipped and )?[0-9]+ failures?" $$log | tail -1; done | \
	  awk '{ for (i = 1; i <= NF; i++) { if ($$i == "Executed") n += $$(i+1); if ($$i ~ /^failures?$$/) f += $$(i-1); if ($$i == "skipped") s += $$(i-2) } } END { print n - f - s " passed, " s " skipped, " f " failed" }'; \
	exit $$status
	$(MAKE) test-contract
	$(MAKE) test-dashboard

## test-contract: docs/openapi.yaml is valid, served, and holds against the live server (schemathesis)
test-contract:
	bash Tests/contract/contract.sh $(BIN_DEBUG)

## test-dashboard: the dashboard in headless Chromium (installs chromium and chromium-driver when root)
test-dashboard:
	bash Tests/dashboard/dashboard.sh $(BIN_DEBUG)

## openapi: compile docs/openapi.yaml into the document the server serves at /openapi.json
openapi:
	@PY=$$(bash Tests/contract/venv.sh) && $$PY scripts/openapi.py

## bench: release benchmarks with peers measured in the same run
bench: bench-http bench-wals bench-serve bench-swap bench-sgd

bench-http: build
	bash bench/http.sh

bench-wals: data
	bash bench/wals.sh

bench-serve: model
	bash bench/serve.sh

## bench-costs: metrics on vs off and request logs info vs warning, one build, alternating
bench-costs: model
	bash bench/costs.sh

## bench-read: a 10M-line TSV read and indexed by unfold train beside pandas, and WALS's peak memory on it
bench-read: build
	bash bench/read.sh

## bench-quality: every model with its defaults, trained, served and scored through POST /v1/recommend
bench-quality: data
	@PY=$$(bash bench/venv.sh) && $$PY bench/quality.py

## bench-spark: Spark's implicit ALS (local[2]) imported vs Unfold's WALS under the same objective, through the API
bench-spark: data
	@SPARK=$$(bash spark/venv.sh) && PY=$$(bash bench/venv.sh) && $$PY bench/spark.py --spark-submit $$SPARK

## bench-retrieval: Unfold's approximate index beside hnswlib and faiss on a trained 1M-item table (ITEMS=…), same queries
bench-retrieval: build
	@PY=$$(bash bench/venv.sh) && ($$PY -c "import hnswlib, faiss" 2>/dev/null || $$PY -m pip install --quiet hnswlib==0.8.0 faiss-cpu==1.9.0) && \
	  $$PY bench/retrieval.py --items $${ITEMS:-1000000}

## bench-users: user recommend vs stateless, ingest events/s, the history rebuild of 10M events
bench-users: model
	bash bench/users.sh

bench-swap: data
	bash bench/swap.sh

bench-sgd: data
	bash bench/sgd.sh

## experiments: planted-group folding, every model on MovieLens-100k beside implicit, the
## stable-rank warm start (docs/experiments.md; EXPERIMENTS_FLAGS=--quick for a short run)
experiments: data
	@PY=$$(bash bench/venv.sh) && $$PY bench/experiments.py --python $$PY $(EXPERIMENTS_FLAGS)

## fuzz: run one libFuzzer target until stopped (FUZZ_TARGET=http-parser, json, interactions,
## log-segment, snapshot or recommend-body; FUZZ_TIME seconds if set). Crashes land in
## .build/fuzz/<target>-*.
FUZZ_TARGETS    := http-parser json interactions log-segment snapshot recommend-body
FUZZ_SMOKE_TARGETS := $(FUZZ_TARGETS)
FUZZ_TARGET     ?= http-parser
FUZZ_TIME       ?= 0
FUZZ_SMOKE_TIME ?= 15
# Inputs up to 4096 bytes; snapshots need more (the seeds are 2-7 KB).
FUZZ_MAX_LEN_http-parser  := 4096
FUZZ_MAX_LEN_json         := 4096
FUZZ_MAX_LEN_interactions := 4096
FUZZ_MAX_LEN_log-segment  := 4096
FUZZ_MAX_LEN_snapshot     := 16384
FUZZ_MAX_LEN_recommend-body := 4096
# libFuzzer reports crashes itself; Swift's backtracer would only slow that down (and can hang).
FUZZ_ENV        := SWIFT_BACKTRACE=enable=no
# libFuzzer's arguments for target $(1): its working corpus, seeds and regression inputs.
fuzz_args = .build/fuzz/corpus/$(1) Fuzz/seeds/$(1) Fuzz/regressions/$(1) -artifact_prefix=.build/fuzz/$(1)- \
  -max_len=$(FUZZ_MAX_LEN_$(1)) -timeout=10 -print_final_stats=1

fuzz-build:
	@for t in $(FUZZ_TARGETS); do bash Fuzz/build.sh $$t || exit 1; done

fuzz:
	@bash Fuzz/build.sh $(FUZZ_TARGET)
	@mkdir -p .build/fuzz/corpus/$(FUZZ_TARGET) Fuzz/regressions/$(FUZZ_TARGET)
	$(FUZZ_ENV) .build/fuzz/$(FUZZ_TARGET) $(call fuzz_args,$(FUZZ_TARGET)) $(if $(filter-out 0,$(FUZZ_TIME)),-max_total_time=$(FUZZ_TIME),)

## fuzz-smoke: each fuzz target of FUZZ_SMOKE_TARGETS for FUZZ_SMOKE_TIME seconds, part of `make test`
fuzz-smoke:
	@for t in $(FUZZ_SMOKE_TARGETS); do bash Fuzz/build.sh $$t || exit 1; done
	@MAX_LEN_snapshot=$(FUZZ_MAX_LEN_snapshot) bash Fuzz/smoke.sh $(FUZZ_SMOKE_TIME) $(FUZZ_SMOKE_TARGETS)

clean:
	rm -rf .build
