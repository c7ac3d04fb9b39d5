# phasewatch — build, test and run. `make run` and `make test` work on a fresh Debian machine
# with Swift: they install the system packages they need first (as root, or through sudo).

SWIFT ?= swift
APT_PACKAGES := libcurl4-openssl-dev libssl-dev libsqlite3-dev zlib1g-dev nginx-light openssl prometheus chromium curl sqlite3 systemd tinyproxy protobuf-compiler libsnappy-dev
PYTHON ?= python3

.PHONY: deps build release install install-files test run probe-demo bench proto clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@$(PYTHON) -c 'import cryptography, jsonschema, openapi_spec_validator, schemathesis, prometheus_client' 2>/dev/null || \
	  $(PYTHON) -m pip install -q cryptography jsonschema openapi-spec-validator schemathesis prometheus-client

build: deps
	$(SWIFT) build

# A self-contained binary: Swift's runtime and Foundation linked in, so a host needs only
# Debian's libcurl, OpenSSL and SQLite (libcurl4 libssl3 libsqlite3-0) and snappy (libsnappy1v5), not the toolchain.
# In a build folder of its own: objects compiled for one way of linking do not link the other
# way, and the benchmarks build dynamic release binaries in .build.
RELEASE_BUILD := .build-release
release: deps
	$(SWIFT) build -c release --product phasewatch --static-swift-stdlib --scratch-path $(RELEASE_BUILD)
	@echo "built $(RELEASE_BUILD)/release/phasewatch"

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, the systemd unit and an example
# config (kept if one is already there). Then: systemctl daemon-reload && systemctl enable --now phasewatch
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR ?= /etc/systemd/system
install: release
	$(MAKE) install-files BIN="$(RELEASE_BUILD)/release/phasewatch"

# The copying alone, for a binary built elsewhere (BIN=path; InstallTests stages it in DESTDIR).
install-files:
	@[ -n "$(BIN)" ] && [ -x "$(BIN)" ] || { echo "install-files: BIN=path of the phasewatch binary, please"; exit 2; }
	install -D -m 0755 "$(BIN)" "$(DESTDIR)$(PREFIX)/bin/phasewatch"
	install -D -m 0644 examples/systemd/phasewatch.service "$(DESTDIR)$(UNITDIR)/phasewatch.service"
	sed -i 's|/usr/local/bin/phasewatch|$(PREFIX)/bin/phasewatch|' "$(DESTDIR)$(UNITDIR)/phasewatch.service"
	install -d -m 0750 "$(DESTDIR)$(SYSCONFDIR)/phasewatch"
	[ -e "$(DESTDIR)$(SYSCONFDIR)/phasewatch/phasewatch.yml" ] || \
	  install -m 0640 examples/phasewatch.yml "$(DESTDIR)$(SYSCONFDIR)/phasewatch/phasewatch.yml"
	@# The service reads its config through this group (SupplementaryGroups= in the unit); a
	@# staged install (DESTDIR) leaves users and groups to the package's own scripts.
	if [ -z "$(DESTDIR)" ]; then \
	  getent group phasewatch >/dev/null || groupadd --system phasewatch; \
	  chgrp -R phasewatch "$(SYSCONFDIR)/phasewatch"; \
	fi

# Serial: the timing tests measure injected delays to 2 ms and need the machine to themselves.
# First the binary linked with --static-swift-stdlib, as `make release` builds it for hosts:
# InstallTests runs it with the toolchain hidden. In a build folder of its own: objects
# compiled for one way of linking do not link the other way.
STATIC_BUILD := .build-static
test: build
	$(SWIFT) build --static-swift-stdlib --product phasewatch --scratch-path $(STATIC_BUILD)
	$(SWIFT) test --no-parallel

# The agent on its built-in example config (it probes itself; works offline):
# http://127.0.0.1:9470/metrics
run: build
	"$$($(SWIFT) build --show-bin-path)/phasewatch" run

# `phasewatch probe` waterfalls against a local server with injected delays.
probe-demo: build
	@bash examples/demo.sh "$$($(SWIFT) build --show-bin-path)/phasewatch"

bench: deps
	bash bench/probe_cpu

# Regenerates the committed Swift of the Prometheus data model (Sources/PrometheusModel) from its
# .proto; not part of build or test. Needs protoc (Debian's protobuf-compiler, installed if
# missing) and swift-protobuf's protoc-gen-swift, built once from the same version the package
# depends on into $(PROTO_PLUGIN_DIR) (a release build of a few minutes).
SWIFT_PROTOBUF_VERSION := 1.39.0
PROTO_PLUGIN_DIR := .build/protoc-gen-swift-$(SWIFT_PROTOBUF_VERSION)
PROTO_PLUGIN := $(PROTO_PLUGIN_DIR)/.build/release/protoc-gen-swift
proto:
	@command -v protoc >/dev/null || { \
	  echo "installing: protobuf-compiler"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null; }
	@[ -x "$(PROTO_PLUGIN)" ] || { \
	  rm -rf "$(PROTO_PLUGIN_DIR)" && \
	  git -c advice.detachedHead=false clone -q --branch $(SWIFT_PROTOBUF_VERSION) https://github.com/apple/swift-protobuf.git "$(PROTO_PLUGIN_DIR)" && \
	  $(SWIFT) build -c release --product protoc-gen-swift --package-path "$(PROTO_PLUGIN_DIR)"; }
	protoc --plugin=protoc-gen-swift="$(PROTO_PLUGIN)" \
	  --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath --swift_out=Sources/PrometheusModel \
	  -I Sources/PrometheusModel/proto io/prometheus/client/metrics.proto
	protoc --plugin=protoc-gen-swift="$(PROTO_PLUGIN)" \
	  --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath --swift_out=Sources/PrometheusModel \
	  -I Sources/PrometheusModel/proto/prompb types.proto remote.proto

clean:
	rm -rf .build .build-static .build-release
