# Two commands do all set-up: `make run` and `make test`. Both create .venv at the repo root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CHROMIUM := /usr/bin/chromium

.PHONY: run test venv lint bench clean model agreement chromium

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "policy-monitor needs Python >= 3.11 (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,train]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/policy-monitor --config sources.yaml run   # SQLite at ./policy-monitor.db unless `database:` or POLICY_MONITOR_DB says otherwise

# Debian's Chromium for `render: browser` sources and their tests (Playwright drives it; the project never
# runs `playwright install`). Installed only when missing; waits for another apt-get instead of failing.
chromium:
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium (for render: browser)"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >/dev/null; }

test: $(STAMP) chromium
	$(BIN)/python -m pytest --durations=20

model: $(STAMP)   # rebuild monitor/meaning/models/en.json from data/labels/ (same bytes every time)
	$(BIN)/python -m training.train_model

agreement: $(STAMP)   # Cohen's kappa per topic between the two independent labellers
	$(BIN)/python -m training.labels agreement

lint: $(STAMP)
	$(BIN)/ruff check monitor tests benchmarks

bench: $(STAMP) chromium
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist *.egg-info
