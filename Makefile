# One command starts the workshop, one runs every test. Both create .venv and install what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SANDBOX_PORT ?= 5000
MQTT_PORT ?= 8883
LAB_PORT ?= 8888
PYTEST_ARGS ?=
# Offline install for events: `make wheelhouse` on a connected machine, then `make lab OFFLINE=1` installs from it
# (and make falls back to it by itself when the package registry does not answer).
WHEELHOUSE ?= dist/wheelhouse
OFFLINE ?=
INSTALL = $(BIN)/python tools/install.py --wheelhouse $(WHEELHOUSE) $(if $(filter-out 0 no false,$(OFFLINE)),--offline)

.PHONY: lab wheelhouse test-offline test moto-tests rehearse sandbox bench soak images cheatsheet strip clean help

help:
	@echo "make lab      start the sandbox and JupyterLab (WORKSHOP_TARGET=aws for a real account)"
	@echo "make wheelhouse  every wheel the lab needs, for installs without network (make lab OFFLINE=1)"
	@echo "make test     run every test: unit, sandbox conformance, notebooks (nbval), browser"
	@echo "make test-offline  build the wheelhouse, install it with --no-index into a fresh venv, run 00 there"
	@echo "make moto-tests  moto's own IoT tests against the sandbox (part of make test; reviewed divergences only)"
	@echo "make rehearse  the real-account path offline: random account, eu-west-1, attendee IAM policy enforced"
	@echo "make sandbox  run only the sandbox endpoint on 127.0.0.1:$(SANDBOX_PORT)"
	@echo "make bench    scale measurements (seeding, audit, mitigation)"
	@echo "make soak     long generative run against the sandbox (SOAK_EXAMPLES=20000 SOAK_SEED=...)"
	@echo "make images   regenerate images/ from real runs (charts, browser screenshots)"
	@echo "make cheatsheet  regenerate docs/cheatsheet.md (AWS CLI and boto3 per step) from a real run"
	@echo "make strip    remove outputs from the notebooks (nbstripout)"
	@echo "make clean    remove the virtual environment, caches and local state"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + "); set PYTHON=python3.12")'
	$(PYTHON) -m venv $(VENV)
	$(INSTALL) --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(INSTALL) -e .
	@touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(INSTALL) -e ".[test]"
	@touch $@ $(VENV)/.runtime

lab: $(VENV)/.runtime
	$(BIN)/python -m helpers.lab --sandbox-port $(SANDBOX_PORT) --mqtt-port $(MQTT_PORT) --lab-port $(LAB_PORT) $(LAB_ARGS)

wheelhouse: | $(BIN)/python
	$(BIN)/python tools/wheelhouse.py --dest $(WHEELHOUSE)

# one to three minutes (builds the wheelhouse, installs it into a fresh venv): .ci/run calls it, make test does not
test-offline: $(VENV)/.test
	WORKSHOP_OFFLINE_TEST=1 $(BIN)/python -m pytest tests/test_offline_install.py -q -s -p no:nbval -o addopts="" $(PYTEST_ARGS)

# moto's tests/test_iot from the installed moto's source package (cached under $(VENV)/moto-conformance), run with
# the sandbox installed; make test runs it too (tests/moto_conformance/test_gate.py)
moto-tests: $(VENV)/.test
	$(BIN)/python -m tests.moto_conformance $(PYTEST_ARGS)

# The aws path of the CLI and the notebooks against a local stack playing a real account (random account id,
# eu-west-1, audits of REHEARSAL_AUDIT_SECONDS, the 2-hour lag, iam/attendee-policy.json enforced); README,
# "Rehearsing a real-account run". REHEARSAL_NOTEBOOKS="00 01 02 ..." picks the notebooks; REHEARSE_ARGS=--fresh-account.
rehearse: $(VENV)/.test
	$(BIN)/python tools/rehearse.py $(REHEARSE_ARGS)

sandbox: $(VENV)/.runtime
	$(BIN)/python -m helpers.sandbox serve --port $(SANDBOX_PORT) --mqtt-port $(MQTT_PORT)

test: $(VENV)/.test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.test
	$(BIN)/python benchmarks/run_all.py

SOAK_EXAMPLES ?= 20000
SOAK_SEED ?=
# A long random generative run: records every 500, HTML answer, state change on refusal or slow health answer
# instead of stopping at the first, and writes test-artifacts/soak.json.
soak: $(VENV)/.test
	SANDBOX_SOAK_EXAMPLES=$(SOAK_EXAMPLES) $(BIN)/python -m pytest tests/sandbox/test_generative.py -q -s \
		-o addopts="" -p no:cacheprovider $(if $(SOAK_SEED),--hypothesis-seed=$(SOAK_SEED))

images: $(VENV)/.test
	$(BIN)/python -m pytest tests/browser -q
	$(BIN)/python tools/make_images.py

# the module's steps as AWS CLI commands and boto3 calls, from the call log of a run in a fresh sandbox
cheatsheet: $(VENV)/.runtime
	$(BIN)/python tools/cheatsheet.py

strip: $(VENV)/.test
	$(BIN)/nbstripout notebooks/*.ipynb

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts .coverage htmlcov *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
