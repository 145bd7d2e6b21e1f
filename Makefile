# mrl: the two set-up commands are `make demo` and `make test` (see README.md).
# Each installs what is missing first (tools/setup.sh), so they work on a fresh machine.
SHELL := /bin/bash
SWIFT ?= swift
FULL ?=
PREFIX ?= /usr/local
SYSTEMD_DIR ?= /etc/systemd/system

.PHONY: setup build release test-build test test-python demo torture bench install clean help

help:
	@echo "make demo     set up, build (release), index the Debian corpus, run example queries"
	@echo "make test     set up, run every test (on an optimised build with testing enabled, in .build-test)"
	@echo "make test-python  the Python client's tests, mrl_ray's on a local Ray cluster included (in clients/python/.venv)"
	@echo "make torture  the long crash and fuzz tests against a release build"
	@echo "make bench    scan benchmark vs numpy and memory bandwidth (needs ../shared)"
	@echo "make install  mrl into PREFIX (/usr/local), the model into PREFIX/share/mrl, systemd units mrl.socket + mrl.service"

setup:
	@tools/setup.sh

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

# Tests run on an optimised build with testing enabled: what users run, and the suite takes a
# quarter of the debug build's time (measured: 258 s against 1,075-1,220 s). It lives in
# .build-test, so that it and `make release` (.build) do not rebuild each other.
# The tests are XCTest (without Swift Testing's runner, so XCTest's summary is printed), then pytest's.
TEST_FLAGS = -c release -Xswiftc -enable-testing --scratch-path .build-test
TEST_RUN = $(SWIFT) test $(TEST_FLAGS) --skip-build --disable-swift-testing
TEST_MRL = $(CURDIR)/.build-test/release/mrl

test-build: setup
	$(SWIFT) build $(TEST_FLAGS) --build-tests

test: test-build
	$(TEST_RUN)
	$(MAKE) test-python

# The Python client (clients/python) against a real daemon, in a virtualenv of pinned versions
# (Ray's included: mrl_ray's tests start a local Ray cluster).
test-python: test-build
	clients/python/venv.sh
	cd clients/python && MRL_BIN=$${MRL_BIN:-$(TEST_MRL)} .venv/bin/python -m pytest -q

demo: release
	@FULL=$(FULL) tools/demo.sh

# Many more kills over a larger corpus, against the optimised binary. The graph's crash test
# runs past 24,000 documents, where the head is refitted (and the graph rebuilt with it). The
# daemon gets 20,000 malformed requests and 100 kills during a stream of acknowledged writes,
# 1,000,000 requests of the value fuzz, 200,000 of its random sequences, 400 fuzzed JSONL files.
torture: test-build
	MRL_CRASH_KILLS=100 MRL_CRASH_DOCS=100000 $(TEST_RUN) --filter mrlTests.CrashTests
	MRL_CRASH_KILLS=30 MRL_CRASH_DOCS=30000 $(TEST_RUN) --filter mrlTests.GraphCrashTests
	MRL_FUZZ_REQUESTS=20000 $(TEST_RUN) --filter ServerTests.FuzzTests
	MRL_VALUE_FUZZ_REQUESTS=1000000 $(TEST_RUN) --filter ServerTests.ValueFuzzTests
	MRL_VALUE_FUZZ_REQUESTS=200000 MRL_INGEST_FUZZ_FILES=400 $(TEST_RUN) --filter 'ServerTests.(SequenceFuzzTests|IngestFuzzTests)'
	MRL_CRASH_KILLS=100 $(TEST_RUN) --filter ServerTests.DaemonCrashTests

# The release build makes mrl-bench beside mrl; scan.sh runs `mrl-bench scan` and its numpy peer.
bench: release
	tools/bench/scan.sh

# The binary, the model beside it, and a socket-activated systemd unit pair
# (then: systemctl daemon-reload && systemctl enable --now mrl.socket).
install: release
	install -D -m 755 .build/release/mrl $(DESTDIR)$(PREFIX)/bin/mrl
	install -d $(DESTDIR)$(PREFIX)/share/mrl/models/all-MiniLM-L6-v2
	install -m 644 $(addprefix models/all-MiniLM-L6-v2/,config.json vocab.txt tokenizer.json model.safetensors) $(DESTDIR)$(PREFIX)/share/mrl/models/all-MiniLM-L6-v2/
	install -D -m 644 tools/systemd/mrl.socket $(DESTDIR)$(SYSTEMD_DIR)/mrl.socket
	sed 's|@PREFIX@|$(PREFIX)|g' tools/systemd/mrl.service > mrl.service.tmp
	install -D -m 644 mrl.service.tmp $(DESTDIR)$(SYSTEMD_DIR)/mrl.service
	rm -f mrl.service.tmp

clean:
	rm -rf .build .build-*
