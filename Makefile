# Relay — the two commands are `make run` and `make test`; both install what is missing.
SWIFT      ?= swift
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Build: libssl, libsqlite3, libc-ares. Tests: postfix (smtp-source, smtp-sink), swaks, sqlite3, mandoc.
DEB_PACKAGES := libssl-dev libsqlite3-dev libc-ares-dev libcrypt-dev pkg-config postfix swaks sqlite3 python3 mandoc
PY_PACKAGES  := pytest dnslib cryptography
CONFIG     ?= packaging/dev/relayd.conf

.PHONY: run test deps build build-release unit integration lint-man bench deb clean

deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		echo "postfix postfix/main_mailer_type select No configuration" | $(SUDO) debconf-set-selections && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@for p in $(PY_PACKAGES); do python3 -c "import $$p" 2>/dev/null || python3 -m pip install -q $$p; done

build: deps
	$(SWIFT) build

build-release: deps
	$(SWIFT) build -c release

# The supervisor runs both roles in the foreground until Ctrl-C.
run: build
	mkdir -p run
	.build/debug/relayd serve -c $(CONFIG)

unit: build
	$(SWIFT) test --disable-xctest

integration: build
	python3 -m pytest -q Tests/integration

# The man pages must be clean under mandoc's linter: any message fails the target.
lint-man: deps
	@out="$$(mandoc -Tlint -W warning man/* 2>&1)"; \
	if [ -n "$$out" ]; then echo "$$out"; echo "lint-man: mandoc -Tlint -W warning man/* reported the above"; exit 1; fi

test: build
	$(MAKE) lint-man
	$(SWIFT) test --disable-xctest
	python3 -m pytest -q Tests/integration

bench: build-release
	python3 Benchmarks/bench.py

# A Debian package (static Swift runtime), unpacked and self-tested by the script.
deb: deps
	bash packaging/debian/build-deb.sh

clean:
	rm -rf .build run
