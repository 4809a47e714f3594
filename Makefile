# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2
# Links in emails and invites: where `make run` serves, unless PUBLIC_BASE_URL is set already
# (0.0.0.0 listens everywhere but is no address to click, so links use 127.0.0.1 then).
LINK_HOST := $(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST))
PUBLIC_BASE_URL ?= http://$(LINK_HOST):$(PORT)
export FLASK_APP := booking

.PHONY: run test serve install install-dev migrate seed clean-venv mutation

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Generated once, never overwritten: it holds this installation's secrets.
instance/config.py: | $(BIN)/python
	$(BIN)/python -m booking.instance_config instance/config.py

migrate: install instance/config.py
	$(BIN)/flask db upgrade

seed: migrate
	PUBLIC_BASE_URL=$(PUBLIC_BASE_URL) $(BIN)/flask seed-demo

## make run: install, migrate, load the demo clinic once, serve on http://$(HOST):$(PORT)
run: seed
	@echo "Serving on $(PUBLIC_BASE_URL)/ (links in emails and invites use this address)."
	@PUBLIC_BASE_URL=$(PUBLIC_BASE_URL) $(BIN)/flask outbox where
	PUBLIC_BASE_URL=$(PUBLIC_BASE_URL) BOOKING_ENV=development $(BIN)/flask run --host $(HOST) --port $(PORT)

## make serve: the same app under gunicorn (production settings: needs HTTPS for staff sign-in).
## Rate limits go to Redis when it answers; several workers without it refuse to start (see README).
serve: migrate
	$(BIN)/gunicorn -c gunicorn_config.py --workers $(WORKERS) --bind $(HOST):$(PORT) wsgi:app

## make test: install the test tools and run the whole suite (TEST_DATABASE_URL picks PostgreSQL)
test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make mutation: mutation testing of the rule modules (slow; not part of `make test` or CI).
## Each module is mutated in turn against the fast tests listed in setup.cfg; survivors are listed,
## and README "Mutation testing" says which remaining ones are equivalent.
MUTATED := booking.intake.screening booking.intake.questionnaires booking.appointments.availability \
	booking.appointments.bookings booking.appointments.statuses
mutation: install-dev
	for module in $(MUTATED); do nice -n 10 $(BIN)/mutmut run --max-children 1 "$$module*" || exit 1; done
	$(BIN)/mutmut results
