# The README's two commands: `make run` (service on 127.0.0.1:8000) and `make test`.
# Both create the virtualenv from requirements*.txt on first use and are fast afterwards.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test setup lint

run: $(INSTALLED)
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py collectstatic --noinput -v 0
	$(BIN)/python manage.py ensure_model
	$(BIN)/gunicorn -c spotify_redux/gunicorn.conf.py spotify_redux.wsgi

setup: $(INSTALLED)

$(INSTALLED): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

test: $(INSTALLED)
	$(BIN)/python -m pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
