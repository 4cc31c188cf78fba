# quorum.etcd: the lab and the tests. `make lab` and `make test` work on a fresh Debian 12 machine (as root).
SHELL := /bin/bash
VENV := $(CURDIR)/.lab/venv
export PATH := $(VENV)/bin:$(CURDIR)/.lab/bin:$(PATH)
export CONTAINERS_CONF := $(CURDIR)/lab/containers.conf
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.lab/collections
MOLECULE_SCENARIOS ?= default debian13 membership backup_restore firewall vm

.PHONY: lab lab-destroy deps images mirror collection test lint sanity unit molecule benchmark clean

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

## test: every test: lint, sanity, unit tests, molecule scenarios
test: lint sanity unit molecule

lint: deps collection
	yamllint -s .
	ansible-lint --profile production

sanity: deps
	bash tests/sanity.sh

# tests/unit also on the lowest ansible-core meta/runtime.yml claims (.lab/venv-min, lab/requirements-min.txt).
unit: deps collection mirror
	pytest -q tests/unit tests/integration tests/playbooks
	$(CURDIR)/.lab/venv-min/bin/pytest -q -p no:cacheprovider tests/unit

molecule: deps images mirror collection
	set -e; for s in $(MOLECULE_SCENARIOS); do molecule test -s $$s; done

## benchmark: medians of a cold deploy and a no-op rerun, adding and removing a member, snapshot and restore
benchmark: deps images mirror collection
	bash benchmarks/deploy
	bash benchmarks/membership
	bash benchmarks/backup_restore

clean: lab-destroy
	rm -rf .lab/cache .lab/pki
