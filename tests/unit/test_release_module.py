"""quorum.etcd.etcd_release, the remote half: which files are missing, and the unpack (only the wanted files, each
renamed into place, the last one last, a checksum that does not match refused)."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile

import pytest

from ansible_collections.quorum.etcd.plugins.modules import etcd_release

FILES = ["etcd", "etcdctl", "README.md", "etcdutl"]


def _archive(path, names=("etcd", "etcdctl", "etcdutl", "README.md", "Documentation/dev-guide.md")):
    with tarfile.open(path, "w:gz") as tar:
        for name in names:
            data = ("content of %s\n" % name).encode()
            info = tarfile.TarInfo("etcd-v3.5.30-linux-amd64/" + name)
            info.size = len(data)
            info.mode = 0o644 if name.endswith(".md") else 0o755
            tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_missing_files(tmp_path):
    assert etcd_release.missing_files(str(tmp_path / "none"), FILES) == FILES
    (tmp_path / "etcd").write_text("x")
    assert etcd_release.missing_files(str(tmp_path), FILES) == ["etcdctl", "README.md", "etcdutl"]


def test_unpack_writes_only_the_wanted_files_in_order(tmp_path, monkeypatch):
    archive = tmp_path / "release.tar.gz"
    digest = _archive(archive)
    monkeypatch.setattr(os, "fchown", lambda fd, uid, gid: None)  # not root in the unit tests
    dest = tmp_path / "opt" / "etcd" / "etcd-v3.5.30"
    written = etcd_release.unpack(str(archive), str(dest), FILES, sha256=digest.upper())
    assert written == [str(dest / n) for n in FILES]
    assert sorted(os.listdir(dest)) == sorted(FILES)
    assert (dest / "etcdctl").read_text() == "content of etcdctl\n"
    assert stat.S_IMODE(os.stat(dest / "etcd").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(dest / "README.md").st_mode) == 0o644
    assert etcd_release.missing_files(str(dest), FILES) == []


def test_unpack_refuses_a_checksum_that_differs(tmp_path):
    archive = tmp_path / "release.tar.gz"
    _archive(archive)
    with pytest.raises(etcd_release.ReleaseError, match="sha256"):
        etcd_release.unpack(str(archive), str(tmp_path / "d"), FILES, sha256="0" * 64)
    assert not (tmp_path / "d").exists()


def test_unpack_refuses_an_archive_without_a_wanted_file_and_writes_nothing(tmp_path):
    archive = tmp_path / "release.tar.gz"
    _archive(archive, names=("etcd", "etcdctl", "README.md"))
    with pytest.raises(etcd_release.ReleaseError, match="no etcdutl"):
        etcd_release.unpack(str(archive), str(tmp_path / "d"), FILES)
    assert os.listdir(tmp_path / "d") == []


def test_an_interrupted_unpack_leaves_the_marker_missing(tmp_path, monkeypatch):
    archive = tmp_path / "release.tar.gz"
    _archive(archive)
    monkeypatch.setattr(os, "fchown", lambda fd, uid, gid: None)
    real_rename = os.rename

    def rename(src, dst):
        if dst.endswith("README.md"):
            raise OSError("disk full")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError):
        etcd_release.unpack(str(archive), str(tmp_path / "d"), FILES)
    assert sorted(os.listdir(tmp_path / "d")) == ["etcd", "etcdctl"]  # no temporary file left, no etcdutl
    assert "etcdutl" in etcd_release.missing_files(str(tmp_path / "d"), FILES)
