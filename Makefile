# The two commands: `make demo` and `make test`. Both set themselves up on a fresh machine (Python 3.11 + make).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DJANGO_SETTINGS_MODULE := saas.settings

.PHONY: screenshots messages install services stop migrate demo test lint format browser-deps bench-provision bench-import bench-mail bench-incidents bench-api bench-rush bench-fleet bench-dashboard bench-watchdog nginx pgbouncer drill restore bench-recovery

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

services: install
	@$(BIN)/python -m saas.embedded start

stop: install
	$(BIN)/python -m saas.embedded stop

migrate: services
	DEMO=1 $(BIN)/python manage.py bootstrap

# The demo runs as production does (DEBUG off, real error pages); DEMO=1 adds the mailbox page for support staff.
demo: services
	DEMO=1 $(BIN)/python manage.py collectstatic --noinput -v 0
	DEMO=1 $(BIN)/python manage.py demo_seed
	DEMO=1 EMAIL_URL=smtp://127.0.0.1:1025 $(BIN)/honcho -f Procfile start

# The recovery drill: restore the latest backup into a scratch server and check it (docs/recovery.md).
drill: migrate
	DEBUG=1 $(BIN)/python manage.py demo_seed >/dev/null
	DEBUG=1 $(BIN)/python manage.py drill

# Point-in-time recovery of the whole platform: make restore TO="2026-03-01 14:03:10" (or TO=latest).
restore: services
	@test -n "$(TO)" || { echo 'usage: make restore TO="YYYY-MM-DD HH:MM:SS" (Japan time) or TO=latest' >&2; exit 2; }
	DEBUG=1 $(BIN)/python manage.py restore --replace $(if $(filter latest,$(TO)),--latest,--to "$(TO)")

browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "browser tests need Debian's chromium: sudo apt-get install chromium fonts-noto-cjk" >&2; exit 1; fi; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	SAAS_TESTING=1 $(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: services lint browser-deps pgbouncer nginx
	@# pytest's exit code 5 means it collected no tests: that is a failure, never a silent pass.
	SAAS_TESTING=1 $(BIN)/python -m pytest -q $(PYTEST_ARGS); status=$$?; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$status

# The pictures in docs/screenshots/: the browser tests that take them, with the same seeding, writing into docs/;
# then the main pages in Japanese and English at desktop and phone widths from the demo company (bench/screenshots.py).
screenshots: services browser-deps
	SAAS_TESTING=1 SAAS_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/selection/test_season_walk.py tests/selection/test_browser.py
	DEMO=1 $(BIN)/python manage.py collectstatic --noinput -v 0
	DEMO=1 $(BIN)/python manage.py demo_seed >/dev/null
	DEMO=1 $(BIN)/python bench/screenshots.py

bench-provision: services
	SAAS_TESTING=1 $(BIN)/python bench/provision.py

bench-import: services
	SAAS_TESTING=1 $(BIN)/python bench/import_bench.py

bench-mail: services
	SAAS_TESTING=1 $(BIN)/python bench/mail_bench.py

bench-incidents: services
	SAAS_TESTING=1 $(BIN)/python bench/incidents_bench.py

bench-dashboard: services
	SAAS_TESTING=1 $(BIN)/python bench/dashboard_bench.py

bench-api: services
	SAAS_TESTING=1 $(BIN)/python bench/api_bench.py

pgbouncer:
	@# The isolation test runs companies' connections through a real PgBouncer (tests/test_pgbouncer.py).
	@command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || { \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null; \
	  else echo "pgbouncer is needed: sudo apt-get install pgbouncer" >&2; exit 1; fi; }

nginx:
	@# The rush benchmark serves through nginx as production does; installed from Debian when missing.
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null 2>&1 || \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	  else echo "nginx is needed: sudo apt-get install nginx" >&2; exit 1; fi; }
	@# Its Lua module keeps the students' line at the proxy (deploy/rush_line.lua).
	@[ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] || { \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libnginx-mod-http-lua >/dev/null; \
	  else echo "nginx's Lua module is needed: sudo apt-get install libnginx-mod-http-lua" >&2; exit 1; fi; }

bench-recovery: services
	SAAS_TESTING=1 $(BIN)/python bench/recovery_bench.py

bench-rush: services nginx
	SAAS_TESTING=1 $(BIN)/python bench/rush.py

# False alarms: the booking benchmark's load for 10 minutes (WATCHDOG_BENCH_SECONDS) with the watchdog running.
bench-watchdog: services nginx
	SAAS_TESTING=1 $(BIN)/python bench/watchdog_bench.py

# 3月1日 0:00 at fleet scale (FLEET_COMPANIES, FLEET_OPENING, FLEET_STUDENTS, FLEET_ARRIVAL_S: bench/fleet.py).
bench-fleet: services nginx
	SAAS_TESTING=1 $(BIN)/python bench/fleet.py

# The catalogues: Japanese is the source language; each app keeps its own (<app>/locale/en), templates/ and saas/
# use locale/. Needs GNU gettext (xgettext, msgfmt) on the developer's machine; the compiled .mo files are committed.
messages: install
	SAAS_TESTING=1 $(BIN)/python manage.py makemessages --no-location --no-obsolete -l en -l ja -i ".venv/*" -i "bench/*" -i "tests/*" -i "docs/*"
	SAAS_TESTING=1 $(BIN)/python manage.py makemessages --no-location --no-obsolete -d djangojs -l en -l ja -i ".venv/*" -i "bench/*" -i "tests/*" -i "static/vendor/*"
	SAAS_TESTING=1 $(BIN)/python manage.py compilemessages --ignore ".venv/*"
