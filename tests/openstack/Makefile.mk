# OpenStack test cloud on 127.0.0.1 for end-to-end tests (tests/openstack/README.md).
# Meant to be included by the main Makefile:  include tests/openstack/Makefile.mk
#
#   make cloud-up       start the cloud (installs .venv-openstack/ and Debian
#                       mariadb-server/rabbitmq-server on first use)
#   make cloud-status   what runs and answers
#   make cloud-logs     tail of every service log
#   make cloud-down     stop every process of the cloud
#   make e2e            cloud-up, pytest tests/e2e, cloud-down (always);
#                       exit code of pytest (or of up/down when they fail)
#                       E2E_ARGS="-k smoke -x" passes options to pytest

PYTHON ?= .venv/bin/python
PYTEST ?= $(PYTHON) -m pytest
E2E_ARGS ?=
# cloud.py needs only the standard library; it builds its own virtualenv.
OPENSTACK_CLOUD_PYTHON ?= python3.11
OPENSTACK_CLOUD := $(OPENSTACK_CLOUD_PYTHON) $(CURDIR)/tests/openstack/cloud.py
OPENSTACK_CLOUD_JSON_PATH := $(or $(OSCLOUD_DIR),$(CURDIR)/.openstack-cloud)/cloud.json

.PHONY: cloud-up cloud-down cloud-status cloud-logs e2e

cloud-up:
	$(OPENSTACK_CLOUD) up

cloud-down:
	$(OPENSTACK_CLOUD) down

cloud-status:
	$(OPENSTACK_CLOUD) status

cloud-logs:
	$(OPENSTACK_CLOUD) logs

# The cloud is taken down whatever happens once `up` has succeeded (a failed
# `up` cleans up after itself); Ctrl-C also ends in `down`.
e2e:
	@$(OPENSTACK_CLOUD) up || exit $$?; \
	trap 'rc=$$?; trap - EXIT; $(OPENSTACK_CLOUD) down || { [ $$rc -ne 0 ] || rc=1; }; exit $$rc' EXIT; \
	trap 'exit 130' INT TERM; \
	OPENSTACK_CLOUD_JSON=$(OPENSTACK_CLOUD_JSON_PATH) $(PYTEST) tests/e2e $(E2E_ARGS)
