# chatroomd: build, run, test. Every target installs what it needs first (idempotently),
# so a fresh machine with only the Swift toolchain can run `make run` and `make test`.

SWIFT        ?= swift
PREFIX       ?= /usr/local
DESTDIR      ?=
UNITDIR      ?= $(shell pkg-config systemd --variable=systemdsystemunitdir 2>/dev/null || echo /lib/systemd/system)
CATALOGDIR   ?= /usr/lib/systemd/catalog
MANDIR       ?= $(PREFIX)/share/man
# Build: libsystemd-dev, libcrypt-dev and libssl-dev (password hashes), libicu-dev (nicknames), pkg-config. Tests: tmux (terminal), python3, man-db (systemd-analyze
# verify checks Documentation=man:...), systemd, libnss-systemd, util-linux and iproute2 for
# the systemd sandbox the end-to-end tests boot.
APT_PACKAGES := libsystemd-dev libcrypt-dev libssl-dev pkg-config tmux python3 man-db systemd libnss-systemd util-linux iproute2 libicu-dev libhiredis-dev redis-server
LISTEN       ?= [::]:12000
ARGS         ?=

DEBUG_BIN    := .build/debug
RELEASE_BIN  := .build/release

.PHONY: all deps build release run install test test-swift test-python test-systemd test-deb test-sandbox clean

all: build

# Installs the Debian packages the build and tests need, only when one is missing.
deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build

# The Swift runtime is linked in statically so the installed binaries need nothing
# from the toolchain (a hardened unit sees only /usr).
release: deps
	$(SWIFT) build -c release --static-swift-stdlib

# Installs binaries, units, journal catalog and man pages. Packagers: PREFIX=/usr.
install: release
	install -Dm755 $(RELEASE_BIN)/chatroomd $(DESTDIR)$(PREFIX)/bin/chatroomd
	install -Dm755 $(RELEASE_BIN)/chatroom $(DESTDIR)$(PREFIX)/bin/chatroom
	install -Dm755 $(RELEASE_BIN)/chatroomctl $(DESTDIR)$(PREFIX)/bin/chatroomctl
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(CATALOGDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man1
	sed 's|/usr/bin/chatroomd|$(PREFIX)/bin/chatroomd|' packaging/chatroomd.service > $(DESTDIR)$(UNITDIR)/chatroomd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/chatroomd.service
	install -m644 packaging/chatroomd.socket $(DESTDIR)$(UNITDIR)/chatroomd.socket
	install -m644 packaging/chatroomd-tls.socket $(DESTDIR)$(UNITDIR)/chatroomd-tls.socket
	sed 's|/usr/bin/chatroomd|$(PREFIX)/bin/chatroomd|' packaging/chatroomd@.service > $(DESTDIR)$(UNITDIR)/chatroomd@.service
	chmod 644 $(DESTDIR)$(UNITDIR)/chatroomd@.service
	install -m644 packaging/chatroomd@.socket $(DESTDIR)$(UNITDIR)/chatroomd@.socket
	sed 's|/usr/bin/chatroomd|$(PREFIX)/bin/chatroomd|' packaging/chatroomd-standalone.service > $(DESTDIR)$(UNITDIR)/chatroomd-standalone.service
	chmod 644 $(DESTDIR)$(UNITDIR)/chatroomd-standalone.service
	install -m644 packaging/chatroomd.catalog $(DESTDIR)$(CATALOGDIR)/chatroomd.catalog
	install -m644 packaging/chatroomd.8 $(DESTDIR)$(MANDIR)/man8/chatroomd.8
	install -m644 packaging/chatroom.1 $(DESTDIR)$(MANDIR)/man1/chatroom.1
	install -m644 packaging/chatroomctl.8 $(DESTDIR)$(MANDIR)/man8/chatroomctl.8
	install -d -m755 $(DESTDIR)/etc/chatroomd
	# Configuration and the credential file are the operator's: never overwritten.
	[ -e $(DESTDIR)/etc/chatroomd/chatroomd.conf ] || install -m644 packaging/chatroomd.conf $(DESTDIR)/etc/chatroomd/chatroomd.conf
	[ -e $(DESTDIR)/etc/chatroomd/admin-password-hash ] || (umask 077 && echo '!' > $(DESTDIR)/etc/chatroomd/admin-password-hash)

# Builds release and runs the daemon in the foreground on port 12000.
# Admin login: export CHATROOMD_ADMIN_PASSWORD_HASH=$$(.build/release/chatroomd hash-password)
run: release
	exec $(RELEASE_BIN)/chatroomd --listen '$(LISTEN)' $(ARGS)

test: build
	$(MAKE) test-swift test-python test-systemd test-deb

test-swift:
	CHATROOMD_BIN=$(CURDIR)/$(DEBUG_BIN)/chatroomd CHATROOM_BIN=$(CURDIR)/$(DEBUG_BIN)/chatroom \
	  CHATROOMCTL_BIN=$(CURDIR)/$(DEBUG_BIN)/chatroomctl \
	  $(SWIFT) test

test-python:
	CHATROOMD_BIN=$(CURDIR)/$(DEBUG_BIN)/chatroomd CHATROOM_BIN=$(CURDIR)/$(DEBUG_BIN)/chatroom \
	  CHATROOMCTL_BIN=$(CURDIR)/$(DEBUG_BIN)/chatroomctl \
	  python3 -m unittest discover -s Tests/python -p 'test_*.py' -v

# chatroomd installed into a real systemd booted in fresh namespaces (Tests/systemd).
E2E_STAGE := $(CURDIR)/.build-e2e/stage
test-systemd:
	rm -rf $(E2E_STAGE)
	$(MAKE) install DESTDIR=$(E2E_STAGE) PREFIX=/usr
	Tests/systemd/e2e.sh $(E2E_STAGE)
	Tests/systemd/cluster.sh $(E2E_STAGE)

# The Debian package (packaging/debian, docs/operations.md "Packages and upgrades"): the version
# is ChatroomVersion.current (Sources/ChatProtocol/Version.swift), the one version number.
# DEB_VERSION may only add a +suffix or ~suffix (the same binaries packaged again); packaging/
# build-deb.sh refuses a version the binaries do not report. The .deb (and chatroomd-dbgsym,
# unless DEB_BUILD_OPTIONS=noddebs) land in DEB_OUT.
VERSION      := $(shell sed -n 's/^ *public static let current = "\([^"]*\)".*/\1/p' Sources/ChatProtocol/Version.swift)
DEB_VERSION  ?= $(VERSION)
DEB_OUT      ?= $(CURDIR)/.build-deb
DEB_APT_PACKAGES := dpkg-dev debhelper lintian
.PHONY: deb deb-deps
deb-deps:
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(APT_PACKAGES) $(DEB_APT_PACKAGES)"

deb: deb-deps release
	@[ -n "$(VERSION)" ] || { echo "no version in Sources/ChatProtocol/Version.swift"; exit 1; }
	rm -rf $(DEB_OUT)/stage
	$(MAKE) install DESTDIR=$(DEB_OUT)/stage PREFIX=/usr
	packaging/build-deb.sh $(DEB_OUT)/stage $(DEB_VERSION) $(DEB_OUT); status=$$?; rm -rf $(DEB_OUT)/stage; exit $$status

# The package in a real systemd (Tests/systemd/deb.sh): lintian, then install, upgrade to a
# higher version built from a scratch copy whose Version.swift says so, remove and purge.
test-deb: deb-deps release
	Tests/systemd/deb.sh

# The sandbox harness's own proof that notify, watchdog, socket activation, DynamicUser
# and journal fields work on this machine.
test-sandbox:
	Tests/systemd/selftest.sh

# Load test (chatroom-bench, docs/benchmarks.md): fanout 100/1 and 1000/10 closed loop,
# 100 members at 1000 msg/s, 1000 at 100 msg/s, 10000 joins (idle), churn and never-reading
# members, each against a fresh release daemon on 127.0.0.1 and, interleaved run by run,
# against the C reference server Tests/bench/ref_fanout.c (built with cc -O2 into
# .build-bench/ by the bench itself), so every run reports chatroomd's ratio to it.
# About five minutes (plus up to one waiting for a quiet machine); rewrites the results
# section of docs/benchmarks.md. More members or longer runs: BENCH_ARGS='--idle-members 19000';
# chatroomd alone: BENCH_ARGS=--no-reference.
# Then the restart scenario (Tests/bench/restart.sh, about two minutes): RESTART_MEMBERS
# members under a real systemd through chatroomctl restart, systemctl restart and kill -9;
# the pause, PID 1's CPU time for the file descriptor store; the "Restarts" section.
BENCH_ARGS ?=
RESTART_MEMBERS ?= 10000
.PHONY: bench bench-quick bench-restart
bench: release
	$(RELEASE_BIN)/chatroom-bench suite --spawn $(RELEASE_BIN)/chatroomd --markdown docs/benchmarks.md $(BENCH_ARGS)
	$(MAKE) --no-print-directory bench-restart

BENCH_STAGE := $(CURDIR)/.build-bench/stage
bench-restart: release
	rm -rf $(BENCH_STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(BENCH_STAGE) PREFIX=/usr
	MEMBERS=$(RESTART_MEMBERS) Tests/bench/restart.sh $(BENCH_STAGE) docs/benchmarks.md

# The same set, short (about 30 s), writing nothing: a smoke test of the bench itself.
bench-quick: release
	$(RELEASE_BIN)/chatroom-bench suite --quick --spawn $(RELEASE_BIN)/chatroomd $(BENCH_ARGS)

# Hostile input and load (Tests/Fuzz, Tests/sanitize, Tests/soak).
# fuzz: libFuzzer on the frame decoder, the command parser, the Room and the state-file loader (a package of its own
# in Tests/Fuzz, built into .build-fuzz with ASan), FUZZ_SECONDS per target. Inputs that fail
# land in Tests/Fuzz/Regressions/<target>/, which `swift test` replays (FuzzRegressionTests).
# test-sanitize: the Swift suites under ASan, then TSan (.build-asan, .build-tsan), with the
# daemon the integration tests spawn built the same way; any sanitizer report fails it.
# soak: SOAK_SECONDS (default 10 minutes) of mixed load against a release daemon; one JSON line.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= frame-decoder client-request room state-file
SOAK_SECONDS ?= 600
.PHONY: fuzz test-sanitize soak
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) SWIFT=$(SWIFT) Tests/Fuzz/run.sh $(FUZZ_TARGETS)

test-sanitize: deps
	SWIFT=$(SWIFT) Tests/sanitize/run.sh

soak: release
	python3 Tests/soak/soak.py --seconds $(SOAK_SECONDS) --binary $(CURDIR)/$(RELEASE_BIN)/chatroomd

# attack: the attacks of issue 10 (Tests/attack): a login burst and a login flood, login timing,
# a refused-connection flood, join/leave churn and a muted address rejoining, each against a
# fresh release daemon with an innocent member timing its echoes. About two minutes; prints a
# table and JSON lines. ATTACK_ARGS=--check exits non-zero when a target is missed.
ATTACK_ARGS ?=
.PHONY: attack
attack: release
	python3 Tests/attack/attack.py --binary $(CURDIR)/$(RELEASE_BIN)/chatroomd $(ATTACK_ARGS)

clean:
	rm -rf .build
