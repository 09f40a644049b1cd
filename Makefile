# The two set-up commands of the README:
#   make demo   install into .venv and run the simulated room
#   make test   install test dependencies (Debian packages too) and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed

.PHONY: demo test install test-deps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/hntht-agent demo

test-deps:
	bash scripts/install-test-deps.sh

test: test-deps $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	for b in bench/*; do [ -x "$$b" ] && $$b || true; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
