# Two commands do all set-up: `make run` and `make test`. Both create .venv at the repo root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test venv lint bench clean model schema agreement chromium system-deps

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "policy-monitor needs Python >= 3.11 (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,train]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/policy-monitor --config sources.yaml run   # SQLite at ./policy-monitor.db unless `database:` or POLICY_MONITOR_DB says otherwise

# what the tests need from the system, as `command:Debian package`: systemd-analyze verifies
# deploy/policy-monitor.service; sqlite3, pg_dump and pg_restore run the backups docs/operations.md
# describes. Installed only when missing, and only where apt-get works (root); otherwise those tests skip.
SYSTEM_DEPS := systemd-analyze:systemd sqlite3:sqlite3 pg_dump:postgresql-client

system-deps:
	@missing=""; for dep in $(SYSTEM_DEPS); do command -v $${dep%%:*} >/dev/null 2>&1 || missing="$$missing $${dep#*:}"; done; \
	if [ -n "$$missing" ]; then \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			echo "installing$$missing"; { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing >/dev/null; } \
			|| echo "note: could not install$$missing: the tests that need them will skip"; \
		else echo "note: missing$$missing (not root or no apt-get): the tests that need them will skip"; fi; \
	fi

test: $(STAMP) $(CHROMIUM) system-deps
	$(BIN)/python -m pytest --durations=20

# The browser tests of `serve` (tests/test_web_browser.py) drive Debian's chromium through Playwright's
# Python package; Playwright's own browser download is out of reach, so the distribution's build it is.
# Idempotent: nothing happens once /usr/bin/chromium exists.
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "install chromium (Debian's package) for the browser tests"; exit 1; }
	@echo "installing Debian's chromium for the browser tests"
	@$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 chromium >/dev/null \
	  || { $(SUDO) apt-get update -qq -o DPkg::Lock::Timeout=600 \
	       && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 chromium >/dev/null; }

chromium: $(CHROMIUM)

model: $(STAMP)   # rebuild monitor/meaning/models/en.json from data/labels/ (same bytes every time)
	$(BIN)/python -m training.train_model

schema: $(STAMP)   # rewrite monitor/store/schema.sql (a new SQLite file's schema) from the migrations, after adding one
	$(BIN)/python -m monitor.store.fresh

agreement: $(STAMP)   # Cohen's kappa per topic between the two independent labellers
	$(BIN)/python -m training.labels agreement

lint: $(STAMP)
	$(BIN)/ruff check monitor tests benchmarks

bench: $(STAMP) chromium
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist *.egg-info
