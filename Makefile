# mrl: the two set-up commands are `make demo` and `make test` (see README.md).
# Each installs what is missing first (tools/setup.sh), so they work on a fresh machine.
SHELL := /bin/bash
SWIFT ?= swift
FULL ?=

.PHONY: setup build release test demo torture bench clean help

help:
	@echo "make demo     set up, build (release), index the Debian corpus, run example queries"
	@echo "make test     set up, run every test"
	@echo "make torture  the long crash test against a release build"
	@echo "make bench    scan benchmark vs numpy and memory bandwidth (needs ../shared)"

setup:
	@tools/setup.sh

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

# The tests are XCTest; without Swift Testing's runner the log closes on XCTest's summary.
test: setup
	$(SWIFT) test --disable-swift-testing

demo: release
	@FULL=$(FULL) tools/demo.sh

# Many more kills over a larger corpus, against the optimised binary. The graph's crash test
# runs past 24,000 documents, where the head is refitted (and the graph rebuilt with it).
torture: release
	MRL_BIN=$$PWD/.build/release/mrl MRL_CRASH_KILLS=100 MRL_CRASH_DOCS=100000 $(SWIFT) test --disable-swift-testing --filter mrlTests.CrashTests
	MRL_BIN=$$PWD/.build/release/mrl MRL_CRASH_KILLS=30 MRL_CRASH_DOCS=30000 $(SWIFT) test --disable-swift-testing --filter mrlTests.GraphCrashTests

bench: release
	tools/bench/scan.sh

clean:
	rm -rf .build .build-*
