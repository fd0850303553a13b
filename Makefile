# Set-up is part of every entry point: `make demo` and `make test` install what they need
# (Debian packages, a .venv with the project) idempotently, then run.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := mosquitto mosquitto-clients golang-go golang-golang-x-mod-dev systemd python3-venv postgresql \
	chromium chromium-headless-shell chromium-driver fonts-noto-cjk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=
# pytest-xdist workers for `make test`: more than the 2 cores, because many integration tests
# wait on a broker, a database or a child process (a fault scenario: ~7 CPU-seconds in 19-60 s
# of wall). tests/faults + tests/aggregator + one walk on 2026-12-05, same order: 337 s with 3
# workers, 223 s with 4, the same ~197 CPU-s (a shared machine, so the figures are noisy). Five
# since the demo's one-off commands stopped costing a process each (the solo run is done by
# ~110 s, and the workers' waits then left the cores ~15% idle): whole clean-clone runs on
# 2026-12-06 took 3:40 to 3:57 in six runs with 5, 3:48 to 3:56 in four with 4. Files stay whole
# (loadfile), in tests/conftest.py's order (the long ones first), not xdist's default of the
# files with the most tests first (--no-loadscope-reorder).
TEST_WORKERS ?= 5
# where the solo tests live (tests/conftest.py refuses one elsewhere): without PYTEST_ARGS the
# solo run collects only there
SOLO_DIR := tests/e2e
SOLO_ARGS = $(or $(PYTEST_ARGS),$(SOLO_DIR))
# how much the lint yields the CPU to the solo tests beside it (nice(1))
TEST_NICE ?= 10
PYTEST := $(VENV)/bin/pytest -q -p no:cacheprovider
# the pure suite: one process, no broker, no PostgreSQL, no pty, no child process, no Go
FAST_MARKS := not integration and not e2e and not interop

.PHONY: all deps venv node-deps test test-fast lint unit demo bench faults clean distclean

all: test

# Debian / Raspberry Pi OS packages; apt-get runs only when something is missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# Node.js for the eddsa-jcs-2022 interop test (an independent JavaScript verifier): Debian's
	@# nodejs and npm, unless a node with its npm is already there (NodeSource's bundles npm)
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  echo "installing Debian packages: nodejs npm"; \
	  $(SUDO) apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends nodejs npm; \
	fi
	@# the packaged broker must not hold port 1883 for nothing: tests and the demo start their own
	@command -v systemctl >/dev/null && [ -d /run/systemd/system ] && $(SUDO) systemctl disable --now mosquitto >/dev/null 2>&1 || true
	@# same for the packaged PostgreSQL cluster: the tests initdb and start a server of their own
	@command -v systemctl >/dev/null && [ -d /run/systemd/system ] && $(SUDO) systemctl disable --now postgresql >/dev/null 2>&1 || true

# The project goes in with uv when pip can fetch it: pip spends ~13 of its ~17 s in a fresh venv
# judging the ~38,000 files the index pages list (measured with cProfile, 2026-12-06), uv resolves
# the same versions in ~2 s. uv compiles the bytecode on both cores, as pip would on one. Where
# uv cannot be had or fails (an index only pip is configured for), pip does it all as before.
$(VENV)/.installed: pyproject.toml
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	@if $(PY) -m pip install -q uv && $(VENV)/bin/uv pip install -q --compile-bytecode \
	    --python $(PY) -e '.[dev]'; then echo "installed the project into $(VENV) (uv)"; \
	  else echo "uv did not install the project; pip will"; $(PY) -m pip install -q -e '.[dev]'; fi
	@touch $@

venv: $(VENV)/.installed

# the independent eddsa-jcs-2022 implementation the interop test runs, pinned by its lock file
# and fetched from the npm registry here, at set-up, never while the tests run
VC_JCS := tests/interop/vc_jcs
# (the stamp holds the lock file's SHA-256: tests/interop/vc_jcs_kit.py reads it the same way)
$(VC_JCS)/node_modules/.eco-lock-sha256: $(VC_JCS)/package-lock.json | deps
	cd $(VC_JCS) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	sha256sum $< | cut -d' ' -f1 > $@

node-deps: $(VC_JCS)/node_modules/.eco-lock-sha256

lint: venv
	$(VENV)/bin/ruff check eco_protocol eco_runtime agent aggregator firmware_sim tests bench
	$(VENV)/bin/mypy

# The few tests marked solo (the demo e2e, whose clock runs 3000x faster than the wall) start
# first, in a session of their own (setsid: Linux's autogroup scheduler gives a session a fair
# share of the CPU), and run beside the workers and the lint (niced, its output printed after the
# workers': it no longer holds them back). Both pytest sessions get one directory in
# ECO_TEST_SHARED for what a whole `make test` builds once (the Go reference checker). The demo
# keys and enrols every box before its clock starts and launches every child before it waits for
# any, so a loaded machine no longer costs it readings (before that, beside the workers it lost up
# to a simulated day: 25 of ~48 half-hours of a home on 2026-12-05). Bytecode caches are written
# even if the environment says not to: hundreds of child processes (agents, CLIs, simulators)
# import the same modules, and each worker collects every test file. Exit status 5 (no test
# selected) is fine for one of the two runs (PYTEST_ARGS may name only solo tests, or none), not
# for both. Interrupted, make sends the solo run's process group the SIGINT a terminal would (its
# own session has no terminal; a background job starts with SIGINT ignored, so SIGINT_BACK gives
# it back its default before pytest starts).
test: export PYTHONDONTWRITEBYTECODE =
test: export SIGINT_BACK = import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])
test: deps venv node-deps
	@solo=; lint=; log=$$(mktemp); lintlog=$$(mktemp); shared=$$(mktemp -d); \
	trap 'exit 130' INT TERM; \
	trap '[ -z "$$solo" ] || kill -INT -- -$$solo 2>/dev/null; [ -z "$$lint" ] || kill $$lint 2>/dev/null; \
	  rm -rf "$$log" "$$lintlog" "$$shared"' EXIT; \
	export ECO_TEST_SHARED="$$shared"; \
	setsid -w $(PY) -c "$$SIGINT_BACK" $(PYTEST) -m solo $(SOLO_ARGS) >"$$log" 2>&1 & solo=$$!; \
	nice -n $(TEST_NICE) $(MAKE) --no-print-directory lint >"$$lintlog" 2>&1 & lint=$$!; \
	rc=0; $(PYTEST) -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not solo" \
	  $(PYTEST_ARGS) || rc=$$?; \
	lint_rc=0; wait $$lint || lint_rc=$$?; lint=; cat "$$lintlog"; \
	solo_rc=0; wait $$solo || solo_rc=$$?; solo=; \
	echo "$(PYTEST) -m solo $(SOLO_ARGS)  (beside the lint and the workers)"; cat "$$log"; \
	if [ $$rc -eq 5 ] && [ $$solo_rc -eq 5 ]; then echo "make test: no test selected"; exit 5; fi; \
	[ $$rc -eq 5 ] && rc=0; [ $$solo_rc -eq 5 ] && solo_rc=0; \
	if [ $$rc -ne 0 ] || [ $$solo_rc -ne 0 ] || [ $$lint_rc -ne 0 ]; then \
	  echo "make test: FAILED (lint exit $$lint_rc, solo exit $$solo_rc, workers exit $$rc)"; \
	  exit 1; fi

# no lint, no Debian packages: the in-process tests only (tests/conftest.py fails any of them
# that starts a process or a pty); as many workers as `make test`, for the ~30 tests that wait
# a second on a closed port
test-fast: venv
	$(PYTEST) -n $(TEST_WORKERS) -m "$(FAST_MARKS)" $(PYTEST_ARGS)

demo: deps venv
	$(PY) -m firmware_sim.demo --out demo-output $(if $(filter 1,$(SERVE)),--serve,)

bench: deps venv
	$(PY) -m bench.run

# The fault-injection suite alone (tests/faults; also part of `make test`): SIGKILLed agents and
# aggregator, broker restarts, a 24 h partition, full disks, damaged state. Prints the table
# that README "Reliability" quotes.
faults: deps venv
	$(PYTEST) tests/faults -s

clean:
	rm -rf demo-output .pytest_cache .mypy_cache .ruff_cache build *.egg-info

distclean: clean
	rm -rf $(VENV)

# --- installing on a device or a server (README "Installing") ---------------------------------
# make install-agent      copies the code to $(PREFIX), builds its venv with the device's own
#                         distribution (packaging/eco-agent: the agent and the protocol with the
#                         agent's six dependencies; no PostgreSQL driver, web server, templating
#                         or QR codes), installs the unit and a config to edit;
# make install-aggregator the same with the whole project (eco-credit) in the venv.
# DESTDIR=/tmp/root stages code, units and config without building a venv or calling systemctl.
PREFIX ?= /opt/eco-credit
DESTDIR ?=
SYSTEMD_DIR := $(DESTDIR)/etc/systemd/system
INSTALL_VENV := $(PREFIX)/.venv
# a staged install writes the example config with this checkout's venv
AGENT_CLI := $(if $(DESTDIR),$(PY) -m agent.cli,$(INSTALL_VENV)/bin/eco-agent)

install-code:
	install -d $(DESTDIR)$(PREFIX)
	tar --exclude=.venv --exclude=.git --exclude=demo-output --exclude='*.sqlite3' \
	    --exclude='*.key' --exclude=build --exclude='*.egg-info' --exclude=__pycache__ \
	    --exclude=.hypothesis --exclude=.mypy_cache --exclude=.ruff_cache \
	    --exclude=.pytest_cache -cf - . | tar -C $(DESTDIR)$(PREFIX) -xf -
	@if [ -z "$(DESTDIR)" ]; then \
	  [ -x $(INSTALL_VENV)/bin/python ] || $(PYTHON) -m venv $(INSTALL_VENV); fi

install-agent: install-code
	@# a server's venv already holds the whole project, agent included: leave it whole
	@if [ -z "$(DESTDIR)" ]; then \
	  if [ -x $(INSTALL_VENV)/bin/eco-aggregator ]; then \
	    echo "$(INSTALL_VENV) holds the whole project (install-aggregator), the agent with it"; \
	  else $(INSTALL_VENV)/bin/pip install -q $(PREFIX)/packaging/eco-agent; fi; fi
	install -d $(SYSTEMD_DIR) $(DESTDIR)/etc/eco-agent
	install -m 0644 systemd/eco-agent.service $(SYSTEMD_DIR)/
	@[ -e $(DESTDIR)/etc/eco-agent/agent.toml ] || \
	  $(AGENT_CLI) init $(DESTDIR)/etc/eco-agent/agent.toml
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; \
	  echo "edit /etc/eco-agent/agent.toml, then: systemctl enable --now eco-agent"; fi

install-aggregator: install-code
	@# the whole project replaces a device-only install (both ship the agent's modules)
	@if [ -z "$(DESTDIR)" ]; then \
	  $(INSTALL_VENV)/bin/pip uninstall -q -y eco-agent 2>/dev/null || true; \
	  $(INSTALL_VENV)/bin/pip install -q $(PREFIX); fi
	install -d $(SYSTEMD_DIR) $(DESTDIR)/etc/eco-aggregator
	install -m 0644 systemd/eco-aggregator.service systemd/eco-aggregator-batch.service \
	  systemd/eco-aggregator-batch.timer systemd/eco-aggregator-mirror.service \
	  systemd/eco-aggregator-consortium-witness.service $(SYSTEMD_DIR)/
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; \
	  echo "run: $(INSTALL_VENV)/bin/eco-aggregator --config /etc/eco-aggregator/aggregator.toml init /var/lib/eco-aggregator --origin NAME"; \
	  echo "then: systemctl enable --now eco-aggregator eco-aggregator-batch.timer"; fi

.PHONY: install-code install-agent install-aggregator
