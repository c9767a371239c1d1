# authsvc developer commands. `make run` and `make test` are the whole set-up.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The verifier package for downstream services (clients/python/) is installed beside the
# service, editable, so `make test` runs its own tests and the live ones against authsvc.
CLIENT := clients/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(CLIENT)/pyproject.toml | sha1sum | cut -c1-12)

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/authsvc
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test docs lint format migrate superuser services test-tools bench profile clean schema messages screenshots

BENCH_SCALE ?= 1k

$(STAMP): pyproject.toml $(CLIENT)/pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e './$(CLIENT)[drf,redis]'
	@rm -f $(VENV)/.installed-* && touch $@

## run: the development server on http://127.0.0.1:8000/ (SQLite + in-process session store)
run: $(STAMP)
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput
	@echo ""
	@echo "  authsvc is starting on http://127.0.0.1:8000/  (SQLite, in-process session store)"
	@echo "  First admin:  DJANGO_DEBUG=1 $(BIN)/python manage.py createsuperuser"
	@echo "  Admin site:   http://127.0.0.1:8000/admin/"
	@echo ""
	DJANGO_DEBUG=1 AUTHSVC_LOG_FORMAT=$${AUTHSVC_LOG_FORMAT:-text} $(BIN)/python manage.py runserver 127.0.0.1:8000

## services: start PostgreSQL and Redis if they are down, fail clearly if unreachable
services:
	@bash scripts/services.sh

## test-tools: system tools some tests drive (nginx, chromium, node, redis-server, pgbouncer), from Debian's packages when missing
test-tools:
	@bash scripts/test-tools.sh

## test: the full suite on PostgreSQL + Redis, then ruff
test: $(STAMP) services test-tools
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest
	cd $(CLIENT) && REDIS_URL=$(TEST_REDIS_URL) ../../$(BIN)/pytest
	cd clients/js && node --test
	$(BIN)/ruff check .

## docs: the documentation site (MkDocs, mkdocs.yml) built into site/; open site/index.html.
## `make test` builds it strictly too (tests/authsvc/test_docs.py), so broken links fail there.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

## bench: load-test the production setup (gunicorn, PostgreSQL, Redis) with wrk; never part of
## `make test`. BENCH_SCALE=1m seeds a million users. Results: bench/results/, docs/performance.md.
bench: $(STAMP) services
	@command -v wrk >/dev/null || { echo "wrk is missing; installing Debian's package"; \
		apt-get install -y wrk >/dev/null 2>&1 || sudo -n apt-get install -y wrk >/dev/null 2>&1; }
	@command -v wrk >/dev/null || { echo "error: wrk is not installed and could not be installed; run: apt-get install wrk" >&2; exit 1; }
	@$(BIN)/python -c "import matplotlib" 2>/dev/null || $(BIN)/pip install --quiet -e '.[bench]'
	@# The relay bench runs whatever the endpoint table says; the table's verdict is the exit status.
	$(BIN)/python bench/run.py --scale $(BENCH_SCALE); status=$$?; \
		$(BIN)/python bench/relay.py && exit $$status

## profile: pyinstrument profiles of login, refresh and /auth/self/ (bench/results/profile-*.txt)
profile: $(STAMP) services
	@$(BIN)/python -c "import pyinstrument" 2>/dev/null || $(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/profile.py

## schema: write docs/openapi.yaml, the OpenAPI document generated from the code (a test checks it)
schema: $(STAMP)
	DJANGO_DEBUG=1 $(BIN)/python manage.py spectacular --file docs/openapi.yaml --validate --fail-on-warn

## messages: update the pages' and emails' translation catalogues (locale/<lang>/LC_MESSAGES/
## django.po) and compile them (.mo, committed: no gettext at run time). Needs GNU gettext.
LANGUAGES_PO := fr
MESSAGES_IGNORE := --ignore='.venv/*' --ignore='clients/*' --ignore='tests/*' --ignore='docs/*' \
	--ignore='bench/*' --ignore='examples/*' --ignore='var/*' --ignore='templates/admin/*' \
	--ignore='deploy/*' --ignore='scripts/*' --ignore='site/*'
messages: $(STAMP)
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemessages $(foreach l,$(LANGUAGES_PO),-l $(l)) --no-location --no-wrap $(MESSAGES_IGNORE)
	DJANGO_DEBUG=1 $(BIN)/python manage.py compilemessages $(foreach l,$(LANGUAGES_PO),-l $(l)) --ignore='.venv' --ignore='site'

## screenshots: docs/img/pages-*.png, the pages in headless Chromium (scripts/screenshots.py)
screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: $(STAMP)
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate

superuser: $(STAMP)
	DJANGO_DEBUG=1 $(BIN)/python manage.py createsuperuser

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache site
