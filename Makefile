# phasewatch — build, test and run. `make run` and `make test` work on a fresh Debian machine
# with Swift: they install the system packages they need first (as root, or through sudo).

SWIFT ?= swift
APT_PACKAGES := libcurl4-openssl-dev libssl-dev libsqlite3-dev nginx-light openssl prometheus chromium
PYTHON ?= python3

.PHONY: deps build release test run probe-demo bench clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@$(PYTHON) -c 'import cryptography, jsonschema, openapi_spec_validator, schemathesis' 2>/dev/null || \
	  $(PYTHON) -m pip install -q cryptography jsonschema openapi-spec-validator schemathesis

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Serial: the timing tests measure injected delays to 2 ms and need the machine to themselves.
test: build
	$(SWIFT) test --no-parallel

# The agent on its built-in example config (it probes itself; works offline):
# http://127.0.0.1:9470/metrics
run: build
	"$$($(SWIFT) build --show-bin-path)/phasewatch" run

# `phasewatch probe` waterfalls against a local server with injected delays.
probe-demo: build
	@bash examples/demo.sh "$$($(SWIFT) build --show-bin-path)/phasewatch"

bench: release
	bash bench/probe_cpu

clean:
	rm -rf .build
