# Set-up is part of every entry point: `make demo` and `make test` install what they need
# (Debian packages, a .venv with the project) idempotently, then run.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := mosquitto mosquitto-clients golang-go golang-golang-x-mod-dev systemd python3-venv postgresql \
	chromium chromium-driver fonts-noto-cjk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: all deps venv test lint unit demo bench faults clean distclean

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
	@# the packaged broker must not hold port 1883 for nothing: tests and the demo start their own
	@command -v systemctl >/dev/null && [ -d /run/systemd/system ] && $(SUDO) systemctl disable --now mosquitto >/dev/null 2>&1 || true
	@# same for the packaged PostgreSQL cluster: the tests initdb and start a server of their own
	@command -v systemctl >/dev/null && [ -d /run/systemd/system ] && $(SUDO) systemctl disable --now postgresql >/dev/null 2>&1 || true

$(VENV)/.installed: pyproject.toml
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

lint: venv
	$(VENV)/bin/ruff check eco_protocol eco_runtime agent aggregator firmware_sim tests bench
	$(VENV)/bin/mypy

test: deps venv lint
	$(VENV)/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

demo: deps venv
	$(PY) -m firmware_sim.demo --out demo-output $(if $(filter 1,$(SERVE)),--serve,)

bench: deps venv
	$(PY) -m bench.run

# The fault-injection suite alone (tests/faults; also part of `make test`): SIGKILLed agents and
# aggregator, broker restarts, a 24 h partition, full disks, damaged state. Prints the table
# that README "Reliability" quotes.
faults: deps venv
	$(VENV)/bin/pytest tests/faults -q -s -p no:cacheprovider

clean:
	rm -rf demo-output .pytest_cache .mypy_cache .ruff_cache build *.egg-info

distclean: clean
	rm -rf $(VENV)

# --- installing on a device or a server (README "Installing") ---------------------------------
# make install-agent      copies the code to $(PREFIX), builds its venv, installs the unit and a
#                         config to edit; DESTDIR=/tmp/root stages everything without systemctl.
PREFIX ?= /opt/eco-credit
DESTDIR ?=
SYSTEMD_DIR := $(DESTDIR)/etc/systemd/system

install-code:
	install -d $(DESTDIR)$(PREFIX)
	tar --exclude=.venv --exclude=.git --exclude=demo-output --exclude='*.sqlite3' \
	    --exclude='*.key' -cf - . | tar -C $(DESTDIR)$(PREFIX) -xf -
	@if [ -z "$(DESTDIR)" ]; then \
	  $(PYTHON) -m venv $(PREFIX)/.venv && $(PREFIX)/.venv/bin/pip install -q $(PREFIX); fi

install-agent: install-code
	install -d $(SYSTEMD_DIR) $(DESTDIR)/etc/eco-agent
	install -m 0644 systemd/eco-agent.service $(SYSTEMD_DIR)/
	@[ -e $(DESTDIR)/etc/eco-agent/agent.toml ] || \
	  $(PY) -m agent.cli init $(DESTDIR)/etc/eco-agent/agent.toml
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; \
	  echo "edit /etc/eco-agent/agent.toml, then: systemctl enable --now eco-agent"; fi

install-aggregator: install-code
	install -d $(SYSTEMD_DIR) $(DESTDIR)/etc/eco-aggregator
	install -m 0644 systemd/eco-aggregator.service systemd/eco-aggregator-batch.service \
	  systemd/eco-aggregator-batch.timer $(SYSTEMD_DIR)/
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; \
	  echo "run: $(PREFIX)/.venv/bin/eco-aggregator --config /etc/eco-aggregator/aggregator.toml init /var/lib/eco-aggregator --origin NAME"; \
	  echo "then: systemctl enable --now eco-aggregator eco-aggregator-batch.timer"; fi

.PHONY: install-code install-agent install-aggregator
