# chatroomd: build, run, test. Every target installs what it needs first (idempotently),
# so a fresh machine with only the Swift toolchain can run `make run` and `make test`.

SWIFT        ?= swift
PREFIX       ?= /usr/local
APT_PACKAGES := tmux python3
LISTEN       ?= [::]:12000
ARGS         ?=

DEBUG_BIN    := .build/debug
RELEASE_BIN  := .build/release

.PHONY: all deps build release run test test-swift test-python clean

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

release: deps
	$(SWIFT) build -c release

# Builds release and runs the daemon in the foreground on port 12000.
# Admin login: export CHATROOMD_ADMIN_PASSWORD_HASH=$$(.build/release/chatroomd hash-password)
run: release
	exec $(RELEASE_BIN)/chatroomd --listen '$(LISTEN)' $(ARGS)

test: build
	$(MAKE) test-swift test-python

test-swift:
	CHATROOMD_BIN=$(CURDIR)/$(DEBUG_BIN)/chatroomd CHATROOM_BIN=$(CURDIR)/$(DEBUG_BIN)/chatroom \
	  $(SWIFT) test

test-python:
	CHATROOMD_BIN=$(CURDIR)/$(DEBUG_BIN)/chatroomd CHATROOM_BIN=$(CURDIR)/$(DEBUG_BIN)/chatroom \
	  python3 -m unittest discover -s Tests/python -p 'test_*.py' -v

clean:
	rm -rf .build
