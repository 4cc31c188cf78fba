"""The default controller PKI directory lives beside the inventory; a CA at the old per-user place is still used."""

from __future__ import annotations

import os

from ansible_collections.quorum.etcd.plugins.filter.pki_controller_dir import pki_controller_dir


def test_beside_an_inventory_directory_or_file(tmp_path):
    inv = tmp_path / "inventories" / "prod"
    inv.mkdir(parents=True)
    (inv / "hosts.yml").write_text("{}")
    home = str(tmp_path / "home")
    assert pki_controller_dir([str(inv)], "prod", home) == str(inv / ".quorum-etcd" / "prod" / "pki")
    assert pki_controller_dir([str(inv / "hosts.yml")], "prod", home) == str(inv / ".quorum-etcd" / "prod" / "pki")


def test_the_same_for_every_user(tmp_path):
    inv = tmp_path / "inv"
    inv.mkdir()
    assert pki_controller_dir([str(inv)], "c", "/home/a") == pki_controller_dir([str(inv)], "c", "/home/b")


def test_a_ca_at_the_old_per_user_place_is_kept_until_moved(tmp_path):
    inv, home = tmp_path / "inv", tmp_path / "home"
    inv.mkdir()
    legacy = home / ".quorum-etcd" / "c" / "pki"
    legacy.mkdir(parents=True)
    (legacy / "ca.crt").write_text("x")
    assert pki_controller_dir([str(inv)], "c", str(home)) == str(legacy)
    new = inv / ".quorum-etcd" / "c" / "pki"
    new.mkdir(parents=True)
    (new / "ca.crt").write_text("x")
    assert pki_controller_dir([str(inv)], "c", str(home)) == str(new)
    assert os.path.isabs(pki_controller_dir(["relative/inv"], "c", str(home)))
