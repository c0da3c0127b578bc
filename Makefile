# Relay — the two commands are `make run` and `make test`; both install what is missing.
SWIFT      ?= swift
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Exim as a client in the tests: Debian's exim4-daemon-light, unpacked into .build-exim (not
# installed: it would replace Postfix as the system MTA), and the libraries it links.
EXIM_LIBS    := libdb5.3 libgnutls-dane0 libgnutls30 libidn12 libidn2-0 libnsl2 libpcre2-8-0
# Build: libssl, libsqlite3, libc-ares. Tests: postfix (smtp-source, smtp-sink), swaks (with the Perl
# TLS modules it needs for --tls), sqlite3, mandoc, curl, openssl, fiu-utils (libfiu's fault
# injection), and the Python test tools as
# Debian packages: Debian's python3 refuses `pip install` (PEP 668), so no pip is used.
DEB_PACKAGES := libssl-dev libsqlite3-dev libc-ares-dev libcrypt-dev pkg-config postfix swaks \
                libnet-ssleay-perl libio-socket-ssl-perl sqlite3 python3 python3-pytest python3-dnslib \
                python3-cryptography mandoc curl openssl procps util-linux debootstrap fiu-utils \
                $(EXIM_LIBS)
PY_MODULES   := pytest dnslib cryptography
# Debian's interpreter, which the python3-* packages above serve (a python3 earlier on PATH, such
# as a pyenv one, does not see them).
PYTHON     ?= /usr/bin/python3
CONFIG     ?= packaging/dev/relayd.conf

.PHONY: run test deps build build-release unit integration lint-man bench deb clean fuzz chaos

deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq || { echo "deps: apt-get update failed" >&2; exit 1; }; \
		echo "postfix postfix/main_mailer_type select No configuration" | $(SUDO) debconf-set-selections; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing \
			|| { echo "deps: apt-get install$$missing failed" >&2; exit 1; }; \
	fi
	@for m in $(PY_MODULES); do \
		$(PYTHON) -c "import $$m" 2>/dev/null || { echo "deps: $(PYTHON) cannot import $$m after installing python3-$$m" >&2; exit 1; }; \
	done
	@command -v swift >/dev/null || { echo "deps: no swift on PATH: install the Swift toolchain first (README)" >&2; exit 1; }
	@[ -x .build-exim/usr/sbin/exim4 ] || { mkdir -p .build-exim && cd .build-exim \
		&& apt-get download exim4-daemon-light 2>/dev/null && dpkg-deb -x exim4-daemon-light_*.deb . ; } \
		|| { echo "deps: cannot download and unpack exim4-daemon-light" >&2; exit 1; }

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
	$(PYTHON) -m pytest -q -p no:cacheprovider Tests/integration

# The man pages must be clean under mandoc's linter: any message fails the target.
lint-man: deps
	@out="$$(mandoc -Tlint -W warning man/* 2>&1)"; \
	if [ -n "$$out" ]; then echo "$$out"; echo "lint-man: mandoc -Tlint -W warning man/* reported the above"; exit 1; fi

# Unit tests; the package built and installed into a fresh Debian root, run as its relayd user
# (Tests/package, needs root: debootstrap and chroot); integration tests with relayd run as an
# unprivileged user. One pytest run, so its closing line counts every test.
test: build
	$(MAKE) lint-man
	$(SWIFT) test --disable-xctest
	bash packaging/debian/build-deb.sh
	RELAY_DEB=$(CURDIR)/.build-deb/relayd.deb $(PYTHON) -m pytest -q -p no:cacheprovider Tests/integration Tests/package
	Fuzz/run $(FUZZ_TEST_SECONDS)

# kill -9 rounds under load (Tests/integration/test_chaos.py; `make test` runs 20 of them):
# prints `N rounds, A acknowledged, 0 lost, D duplicated`. RELAY_CHAOS_SEED=S replays a run.
CHAOS_ROUNDS ?= 200
chaos: build
	RELAY_CHAOS_ROUNDS=$(CHAOS_ROUNDS) $(PYTHON) -m pytest -q -p no:cacheprovider Tests/integration/test_chaos.py

# The libFuzzer targets (Fuzz/README.md): each runs FUZZ_SECONDS, or FUZZ_TEST_SECONDS in `make
# test`; FUZZ_TARGETS picks some. A finding fails the target and names the file that replays it.
FUZZ_SECONDS      ?= 1800
FUZZ_TEST_SECONDS ?= 20
FUZZ_TARGETS      ?=
fuzz: deps
	Fuzz/run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bench: build-release
	$(PYTHON) Benchmarks/bench.py

# A Debian package (static Swift runtime), unpacked and self-tested by the script.
deb: deps
	bash packaging/debian/build-deb.sh
	RELAY_DEB=$(CURDIR)/.build-deb/relayd.deb $(PYTHON) -m pytest -q -p no:cacheprovider Tests/package

clean:
	rm -rf .build run
