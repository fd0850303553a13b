# Set-up is part of every entry point: `make demo` and `make test` install what they need
# (Debian packages, a .venv with the project) idempotently, then run.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := mosquitto mosquitto-clients golang-go golang-golang-x-mod-dev systemd python3-venv
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: all deps venv test lint unit demo bench clean distclean

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

$(VENV)/.installed: pyproject.toml
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

lint: venv
	$(VENV)/bin/ruff check eco_protocol agent aggregator firmware_sim tests bench
	$(VENV)/bin/mypy

test: deps venv lint
	$(VENV)/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

demo: deps venv
	$(PY) -m firmware_sim.demo --out demo-output

bench: deps venv
	$(PY) -m bench.run

clean:
	rm -rf demo-output .pytest_cache .mypy_cache .ruff_cache build *.egg-info

distclean: clean
	rm -rf $(VENV)
