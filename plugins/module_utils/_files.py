# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The remote half of quorum.etcd.files: compare wanted files, directories and links with what a host has and write
only what differs, atomically.

Pure functions over plain dicts (no AnsibleModule), so the unit tests run them against a temporary directory.
An item (as the action plugin sends it) is a dict with ``dest``, ``state`` (file, directory, link), for files
``content`` (bytes, or None for a file that must only exist), for links ``src`` (the target), optional ``owner``,
``group``, ``mode``, ``secret``, ``validate``, ``force`` and ``atomic``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import hashlib
import os
import pwd
import re
import shlex
import stat
import tempfile

# Text files larger than this get no content diff (the size ansible-core uses by default for diffs).
MAX_DIFF_BYTES = 104448


class FilesError(Exception):
    """A wanted item that cannot be written (or checked); the message names the path. ``written``: the paths written
    before the failure."""

    def __init__(self, msg, written=None):
        super(FilesError, self).__init__(msg)
        self.written = written or []


def parse_mode(mode):
    """Permission bits from an octal string ("0644", "644") or an int (YAML 0644 is already 420); None stays None."""
    if mode is None:
        return None
    if isinstance(mode, int) and not isinstance(mode, bool):
        value = mode
    elif isinstance(mode, str) and re.match(r"^0?[0-7]{3,4}$", mode.strip()):
        value = int(mode.strip(), 8)
    else:
        raise FilesError("mode %r must be an octal number such as '0644'" % (mode,))
    if value < 0 or value > 0o7777:
        raise FilesError("mode %r is out of range" % (mode,))
    return value


def _lookup_id(name, by_name):
    """uid/gid of a name or a number; None when the name is unknown on this host."""
    if name is None:
        return None
    text = str(name)
    if text.isdigit():
        return int(text)
    try:
        return by_name(text)
    except KeyError:
        return None


def uid_of(owner):
    return _lookup_id(owner, lambda n: pwd.getpwnam(n).pw_uid)


def gid_of(group):
    return _lookup_id(group, lambda n: grp.getgrnam(n).gr_gid)


def _name_of_uid(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _name_of_gid(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def sha1(data):
    return hashlib.sha1(data).hexdigest()


def _read(path):
    # read() until EOF: files under /proc report a size of 0
    with open(path, "rb") as f:
        return f.read()


def inspect(dest, follow=False):
    """What is at ``dest`` (without following a last-component link unless ``follow``): state, uid, gid, mode, link
    target."""
    try:
        st = os.stat(dest) if follow else os.lstat(dest)
    except (FileNotFoundError, NotADirectoryError):
        return {"state": "absent"}
    if stat.S_ISLNK(st.st_mode):
        state = "link"
    elif stat.S_ISDIR(st.st_mode):
        state = "directory"
    elif stat.S_ISREG(st.st_mode):
        state = "file"
    else:
        state = "other"
    now = {"state": state, "uid": st.st_uid, "gid": st.st_gid, "mode": stat.S_IMODE(st.st_mode)}
    if state == "link":
        now["target"] = os.readlink(dest)
    return now


def _describe(now):
    """The attributes of ``now`` as text lines (for diffs)."""
    if now["state"] == "absent":
        return "state: absent\n"
    lines = ["state: %s" % now["state"], "owner: %s" % _name_of_uid(now["uid"]),
             "group: %s" % _name_of_gid(now["gid"])]
    if now["state"] == "link":
        lines.append("target: %s" % now["target"])
    else:
        lines.append("mode: %04o" % now["mode"])
    return "\n".join(lines) + "\n"


def plan(item, check_mode=False):
    """Compare one item with the host: returns a dict with ``now`` (what is there), ``reasons`` (what differs, empty
    when nothing does), ``uid``/``gid``/``mode`` wanted (None: left as they are) and ``old`` (the current content of a
    file whose content is compared). Raises FilesError for what cannot be done (a directory where a file is wanted, an
    unknown owner outside check mode, a file that must exist and does not)."""
    dest = item["dest"]
    state = item.get("state") or "file"
    must_exist = state == "file" and item.get("content") is None
    # A file that must only exist is judged through a link (the file module's follow), like a directory.
    now = inspect(dest, follow=must_exist)
    if state == "directory" and now["state"] == "link":
        if not os.path.isdir(dest):
            raise FilesError("%s is a link to %s, wanted a directory: not replaced" % (dest, now["target"]))
        now = inspect(dest, follow=True)  # a link to a directory serves as the directory (like the file module)
    out = {"now": now, "reasons": [], "old": None, "warning": None}
    if must_exist and now["state"] == "absent":
        if not check_mode:
            raise FilesError("%s is missing (an item without content must exist; it is not created)" % dest)
        # Check mode: an earlier task of the run may have created it for real.
        out["warning"] = "%s is missing (it must exist; in check mode an earlier task may not have created it)" % dest
        return out
    if now["state"] != "absent" and item.get("force") is False:
        return out  # only created when missing
    uid, gid = uid_of(item.get("owner")), gid_of(item.get("group"))
    for key, wanted, value in (("owner", item.get("owner"), uid), ("group", item.get("group"), gid)):
        if wanted is not None and value is None:
            if not check_mode:
                raise FilesError("%s: %s %s does not exist on this host" % (dest, key, wanted))
            out["reasons"].append("%s %s does not exist yet" % (key, wanted))
    out.update(uid=uid, gid=gid, mode=parse_mode(item.get("mode")))
    if state == "link" and out["mode"] is not None:
        raise FilesError("%s: a link has no mode of its own; leave mode out" % dest)

    if now["state"] == "absent":
        out["reasons"].insert(0, "missing")
        return out
    if now["state"] != state:
        if now["state"] == "directory" or state == "directory":
            raise FilesError("%s is a %s, wanted a %s: not replaced" % (dest, now["state"], state))
        if now["state"] == "other":
            raise FilesError("%s is not a file, directory or link: not replaced" % dest)
        out["reasons"].insert(0, "is a %s, wanted a %s" % (now["state"], state))
        return out
    if state == "link":
        if now["target"] != item["src"]:
            out["reasons"].append("points to %s, wanted %s" % (now["target"], item["src"]))
    elif state == "file" and item.get("content") is not None:
        out["old"] = _read(dest)
        if sha1(out["old"]) != sha1(item["content"]):
            out["reasons"].append("content differs")
    if uid is not None and now["uid"] != uid:
        out["reasons"].append("owner is %s, wanted %s" % (_name_of_uid(now["uid"]), item["owner"]))
    if gid is not None and now["gid"] != gid:
        out["reasons"].append("group is %s, wanted %s" % (_name_of_gid(now["gid"]), item["group"]))
    if out["mode"] is not None and state != "link" and now["mode"] != out["mode"]:
        out["reasons"].append("mode is %04o, wanted %04o" % (now["mode"], out["mode"]))
    return out


def _as_text(data):
    if data is None or len(data) > MAX_DIFF_BYTES or b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def diff_of(item, p):
    """Before/after entries for ansible's diff output: the content of text files (never of secret items), then the
    attributes when they change."""
    dest = item["dest"]
    state = item.get("state") or "file"
    out = []
    content = item.get("content")
    replaced = state == "file" and content is not None and p["now"]["state"] != "file"
    content_changed = replaced or "content differs" in p["reasons"]
    if content_changed:
        if item.get("secret"):
            out.append({"before_header": dest, "after_header": dest,
                        "before": "(secret content, not shown)\n", "after": "(secret content, changed, not shown)\n"})
        else:
            before = _as_text(p["old"]) if p["old"] is not None else ""
            after = _as_text(content)
            if before is None or after is None:
                out.append({"before_header": dest, "after_header": dest,
                            "before": "(binary or large content)\n", "after": "(binary or large content, changed)\n"})
            else:
                out.append({"before_header": dest, "after_header": dest, "before": before, "after": after})
    after_now = {"state": state,
                 "uid": p["uid"] if p["uid"] is not None else p["now"].get("uid", os.geteuid()),
                 "gid": p["gid"] if p["gid"] is not None else p["now"].get("gid", os.getegid()),
                 "mode": p["mode"] if p["mode"] is not None else p["now"].get("mode", 0o644 if state == "file" else 0o755),
                 "target": item.get("src")}
    before_text, after_text = _describe(p["now"]), _describe(after_now)
    if before_text != after_text:
        out.append({"before_header": dest + " (attributes)", "after_header": dest + " (attributes)",
                    "before": before_text, "after": after_text})
    return out


def _validate(item, path, run_command):
    command = item.get("validate")
    if not command:
        return
    argv = [arg.replace("%s", path) if "%s" in arg else arg for arg in shlex.split(command)]
    rc, out, err = run_command(argv)
    if rc != 0:
        raise FilesError("%s: validation failed (%s, rc %s): %s" % (item["dest"], command, rc, (err or out).strip()))


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _ids(p, now):
    """Owner and group to set: the wanted ones, else those of what is replaced, else the writer's (-1: unchanged)."""
    uid = p["uid"] if p["uid"] is not None else now.get("uid", -1)
    gid = p["gid"] if p["gid"] is not None else now.get("gid", -1)
    return uid, gid


def _write_file(item, p, run_command):
    dest = item["dest"]
    now = p["now"]
    uid, gid = _ids(p, now)
    if p["mode"] is not None:
        mode = p["mode"]
    elif now["state"] == "file":
        mode = now["mode"]
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    if item.get("atomic") is False:
        # In place: kernel files (/proc/sys, /sys) cannot be replaced by a rename, and refuse chown and chmod
        # (EPERM even for root): only what the item asks for is set.
        with open(dest, "wb") as f:
            f.write(item["content"])
        if p["mode"] is not None:
            os.chmod(dest, mode)
        if p["uid"] is not None or p["gid"] is not None:
            os.chown(dest, -1 if p["uid"] is None else p["uid"], -1 if p["gid"] is None else p["gid"])
        return
    directory = os.path.dirname(dest) or "."
    if not os.path.isdir(directory):
        raise FilesError("%s: the directory %s does not exist (list it as an item before the file)" % (dest, directory))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(dest) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(item["content"])
            f.flush()
            os.fchmod(f.fileno(), mode)
            if (uid, gid) != (-1, -1):
                os.fchown(f.fileno(), uid, gid)
            os.fsync(f.fileno())
        _validate(item, tmp, run_command)
        os.rename(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def _write_link(item, p):
    dest = item["dest"]
    directory = os.path.dirname(dest) or "."
    if not os.path.isdir(directory):
        raise FilesError("%s: the directory %s does not exist (list it as an item before the link)" % (dest, directory))
    tmp = os.path.join(directory, ".%s.%s.tmp" % (os.path.basename(dest), os.getpid()))
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(item["src"], tmp)
    try:
        uid, gid = _ids(p, p["now"])
        if (uid, gid) != (-1, -1):
            os.lchown(tmp, uid, gid)
        os.rename(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def _write_directory(item, p):
    dest = item["dest"]
    if not os.path.isdir(dest):
        os.makedirs(dest)
    if p["mode"] is not None:
        os.chmod(dest, p["mode"])
    uid, gid = _ids(p, {})
    if (uid, gid) != (-1, -1):
        os.chown(dest, uid, gid)


def _fix_attributes(item, p):
    """Owner, group and mode of something whose type and content are right."""
    dest = item["dest"]
    uid, gid = _ids(p, {})
    if (item.get("state") or "file") == "link":
        os.lchown(dest, uid, gid)
        return
    if (uid, gid) != (-1, -1):
        os.chown(dest, uid, gid)
    if p["mode"] is not None:
        os.chmod(dest, p["mode"])


def apply(items, check_mode=False, diff_mode=False, run_command=None):
    """Compare every item, then write what differs, in order. Returns (results, changed_paths, diff, warnings).

    Every item is compared before the first write, so an item that cannot be done stops the run with nothing
    written. Each file is written to a temporary file in its directory (mode and owner set, validated), then renamed
    over the old one; owner, group or mode alone are changed in place."""
    plans = []
    for item in items:
        plans.append(plan(item, check_mode=check_mode))
    results, changed_paths, diffs, warnings = [], [], [], []
    written = []
    for item, p in zip(items, plans):
        if p["warning"]:
            warnings.append(p["warning"])
        state = item.get("state") or "file"
        changed = bool(p["reasons"])
        results.append({"dest": item["dest"], "state": state, "changed": changed, "reasons": list(p["reasons"]),
                        "before_state": p["now"]["state"]})
        if not changed:
            continue
        changed_paths.append(item["dest"])
        if diff_mode:
            diffs.extend(diff_of(item, p))
        if check_mode:
            continue
        try:
            _write(item, p, run_command)
        except (OSError, FilesError) as e:
            msg = str(e) if isinstance(e, FilesError) else "%s: %s" % (item["dest"], e)
            raise FilesError(msg, written=written)
        written.append(item["dest"])
    return results, changed_paths, diffs, warnings


def _write(item, p, run_command):
    state = item.get("state") or "file"
    # Only owner, group or mode differ: change them in place.
    rewrite = p["now"]["state"] != state or any(
        r == "content differs" or r.startswith("points to") for r in p["reasons"])
    if state == "directory":
        _write_directory(item, p)
    elif not rewrite:
        _fix_attributes(item, p)
    elif state == "link":
        _write_link(item, p)
    else:
        _write_file(item, p, run_command)
