# quorum.etcd: the lab and the tests. `make lab` and `make test` work on a fresh Debian 12 machine (as root).
SHELL := /bin/bash
VENV := $(CURDIR)/.lab/venv
export PATH := $(VENV)/bin:$(CURDIR)/.lab/bin:$(PATH)
export CONTAINERS_CONF := $(CURDIR)/lab/containers.conf
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.lab/collections
# Longest first: .ci/molecule runs MOLECULE_JOBS scenarios at a time, in this order.
MOLECULE_SCENARIOS ?= vm default membership debian13 backup_restore monitoring firewall
MOLECULE_JOBS ?= 2

.PHONY: lab lab-destroy deps images mirror collection test lint sanity unit integration playbooks molecule benchmark clean
# Each test target prints its seconds (and molecule each scenario's and each stage's) and appends them to
# .lab/ci-times.log (.ci/timed).
TIMED := python3 $(CURDIR)/.ci/timed

## lab: install what is needed, build images and the etcd mirror, start etcd-1..3, deploy, print the cluster
lab: deps images mirror collection
	bash lab/up.sh
	ansible-playbook -i inventories/lab lab/deploy.yml
	. .lab/etcdctl.env && etcdctl member list -w table && etcdctl endpoint status -w table

## lab-destroy: remove the lab hosts (caches, images and the lab PKI stay in .lab/)
lab-destroy:
	bash lab/down.sh

deps:
	bash lab/host-deps.sh

images: deps
	bash lab/build-images.sh

mirror: deps
	bash lab/build-mirror.sh

# The checkout, visible to Ansible as the collection quorum.etcd.
collection:
	mkdir -p .lab/collections/ansible_collections/quorum
	ln -sfn ../../../.. .lab/collections/ansible_collections/quorum/etcd

## test: every test: lint, sanity, unit, integration and playbook tests, molecule scenarios
test: lint sanity unit integration playbooks molecule

lint: deps collection
	$(TIMED) yamllint yamllint -s .
	$(TIMED) argument-specs python3 tests/check_argument_specs.py
	$(TIMED) ansible-lint ansible-lint --profile production

sanity: deps
	$(TIMED) sanity bash tests/sanity.sh

## unit: tests/unit alone (no lab, no mirror, no download), on two processes (pytest-xdist; the tests are
## independent), also on the lowest ansible-core meta/runtime.yml claims (.lab/venv-min, lab/requirements-min.txt)
unit: deps collection
	$(TIMED) unit pytest -q -p no:cacheprovider -n 2 tests/unit
	$(TIMED) unit-min $(CURDIR)/.lab/venv-min/bin/pytest -q -p no:cacheprovider tests/unit

## integration: the modules against a real etcd cluster with TLS on 127.0.0.1 (etcd from the lab mirror)
integration: deps collection mirror
	$(TIMED) integration pytest -q -p no:cacheprovider tests/integration

## playbooks: the playbooks on the controller (bad input refused before any host), the collection's build; two
## processes (each test runs ansible-playbook in a directory of its own)
playbooks: deps collection mirror
	$(TIMED) playbooks pytest -q -p no:cacheprovider -n 2 tests/playbooks

## molecule: the scenarios of MOLECULE_SCENARIOS, MOLECULE_JOBS at a time (MOLECULE_SCENARIOS=debian13 make molecule
## for one; MOLECULE_JOBS=1 one after the other)
molecule: deps images mirror collection
	python3 $(CURDIR)/.ci/molecule $(MOLECULE_JOBS) $(MOLECULE_SCENARIOS)

## benchmark: medians of a cold deploy and a no-op rerun, adding and removing a member, snapshot and restore, the
## upgrade and rolling restart, the certificate playbooks, defragmentation and NOSPACE recovery
benchmark: deps images mirror collection
	bash benchmarks/deploy
	bash benchmarks/membership
	bash benchmarks/backup_restore
	bash benchmarks/upgrade
	bash benchmarks/certificates
	bash benchmarks/maintenance

clean: lab-destroy
	rm -rf .lab/cache .lab/pki
