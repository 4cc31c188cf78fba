# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""etcd-backup: one snapshot of this etcd member, verified, with retention, off-host copy and metrics.

The backup role installs this file as /usr/local/sbin/etcd-backup (templates/etcd-backup.py.j2 adds the member's
settings and calls main()); the unit tests import it from roles/backup/files. The role and dr_restore run it with
ansible.builtin.script for these helpers:

  etcd_backup.py manifests DIR CLUSTER      the newest manifest of CLUSTER in DIR, and what was skipped (JSON)
  etcd_backup.py filesystems BACKUP_DIR DATA_DIR WAL_DIR
                                            whether the backups share a filesystem with etcd's data or WAL (JSON)
  etcd_backup.py snapshot-status ETCDUTL SNAPSHOT
                                            etcdutl snapshot status as JSON, or "snapshot corrupted: ..." (rc 1)
  etcd_backup.py snapshot-restore ETCDUTL SNAPSHOT ARGS...
                                            etcdutl snapshot restore; a damaged snapshot gives "snapshot corrupted"

A backup run (no sub-command) exits 0 on success and 1 on any failure, logged to stderr (the journal) with a
priority prefix; whatever fails, the state file and the metrics are written. --print-manifest prints the new
snapshot's manifest on stdout as JSON; --wait SECONDS waits that long for a run that holds the lock (the timer's)
instead of failing at once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import fcntl
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import traceback

NAME_RE = re.compile(r"^etcd-(?P<member>.+)-(?P<ts>\d{8}T\d{6}Z)\.db$")
TS_FORMAT = "%Y%m%dT%H%M%SZ"
SIDE_FILES = (".sha256", ".json")
# etcd's own default quota (--quota-backend-bytes 0 means this), used when the configuration does not say.
ETCD_DEFAULT_QUOTA = 2 * 1024 ** 3
INT_KEYS = ("snapshot_timeout", "retention_days", "retention_count", "min_free_bytes", "offhost_timeout",
            "wal_headroom_bytes")
STR_KEYS = ("member", "cluster", "backup_dir", "state_dir", "etcdctl", "etcdutl", "endpoint", "cacert", "cert", "key",
            "offhost_mode", "offhost_target", "offhost_ssh_key", "offhost_command", "textfile_dir", "data_dir",
            "wal_dir", "etcd_config", "shared_filesystem")
SHARED_FS_POLICIES = ("reserve", "refuse")

CONFIG = {}
# The member's settings (JSON), put in place of None by templates/etcd-backup.py.j2 when the role installs the script.
SETTINGS = None


class Failure(Exception):
    pass


def load_config(raw):
    """The member's settings with the types the script needs. Templating may hand numbers over as strings
    (ansible-core 2.16-2.18 render a templated "x | int" inside a dict as a string): every number is cast here, and a
    value that is not a number is refused with its name."""
    if isinstance(raw, str):
        raw = json.loads(raw)
    cfg = dict(raw)
    for k in INT_KEYS:
        v = cfg.get(k, 0)
        try:
            cfg[k] = int(str(v).strip() or "0")
        except ValueError:
            raise Failure("setting %s is not a whole number: %r" % (k, v))
        if cfg[k] < 0:
            raise Failure("setting %s must be 0 or more: %r" % (k, v))
    for k in STR_KEYS:
        v = cfg.get(k)
        cfg[k] = "" if v is None else str(v)
    opts = cfg.get("offhost_ssh_options") or []
    if isinstance(opts, str):
        opts = json.loads(opts) if opts.strip().startswith("[") else opts.split()
    cfg["offhost_ssh_options"] = [str(o) for o in opts]
    cfg["shared_filesystem"] = cfg["shared_filesystem"] or "reserve"
    if cfg["shared_filesystem"] not in SHARED_FS_POLICIES:
        raise Failure("setting shared_filesystem must be one of %s: %r"
                      % (", ".join(SHARED_FS_POLICIES), cfg["shared_filesystem"]))
    return cfg


def log(level, msg):
    # journald reads the <N> prefix as the priority (3 err, 4 warning, 6 info).
    prio = {"error": 3, "warning": 4, "info": 6}[level]
    sys.stderr.write("<%d>%s\n" % (prio, msg))
    sys.stderr.flush()


def run(argv, timeout, env=None, what=None):
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise Failure("%s timed out after %ss" % (what or argv[0], timeout))
    except OSError as e:
        raise Failure("%s: %s" % (what or argv[0], e))
    if proc.returncode != 0:
        output = (proc.stderr or proc.stdout).strip()[-2000:]
        raise Failure("%s failed (rc %d): %s" % (what or argv[0], proc.returncode, output))
    return proc.stdout


def credential(path):
    """The TLS file to use: the copy systemd hands the sandboxed service (LoadCredential=, named after the file)
    when there is one, else the file itself (a run outside the unit, as root)."""
    cdir = os.environ.get("CREDENTIALS_DIRECTORY", "")
    if cdir:
        candidate = os.path.join(cdir, os.path.basename(path))
        if os.path.isfile(candidate):
            return candidate
    return path


def etcdctl(*args, **kwargs):
    timeout = kwargs.get("timeout", 30)
    argv = [CONFIG["etcdctl"], "--endpoints", CONFIG["endpoint"], "--cacert", credential(CONFIG["cacert"]),
            "--cert", credential(CONFIG["cert"]), "--key", credential(CONFIG["key"]), "--dial-timeout", "5s"] + list(args)
    return run(argv, timeout + 10, what="etcdctl " + args[0] + (" " + args[1] if len(args) > 1 else ""))


def fsync_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path, content, mode=0o600):
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, content.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    os.rename(tmp, path)
    fsync_dir(os.path.dirname(path))


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_state():
    try:
        with open(os.path.join(CONFIG["state_dir"], "state.json")) as f:
            state = json.load(f)
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def save_state(state):
    os.makedirs(CONFIG["state_dir"], mode=0o700, exist_ok=True)
    write_atomic(os.path.join(CONFIG["state_dir"], "state.json"), json.dumps(state, indent=2, sort_keys=True) + "\n")


def number(value):
    """A metric value: numbers as they are, anything else (None, a string from an old state file) as a number or 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0


def write_metrics(state):
    tdir = CONFIG.get("textfile_dir", "")
    if not tdir:
        return
    label = '{member="%s"}' % CONFIG.get("member", "").replace("\\", "\\\\").replace('"', '\\"')
    metrics = [
        ("etcd_backup_last_success_timestamp_seconds", "gauge", "Time of the last successful snapshot.",
         state.get("last_success", 0)),
        ("etcd_backup_last_attempt_timestamp_seconds", "gauge", "Time of the last run.", state.get("last_attempt", 0)),
        ("etcd_backup_last_run_success", "gauge", "1 if the last run succeeded, else 0.",
         1 if state.get("last_result") == "success" else 0),
        ("etcd_backup_last_size_bytes", "gauge", "Size of the last successful snapshot.", state.get("last_size", 0)),
        ("etcd_backup_last_duration_seconds", "gauge", "Duration of the last successful run.",
         state.get("last_duration", 0)),
        ("etcd_backup_last_revision", "gauge", "etcd revision of the last successful snapshot.",
         state.get("last_revision", 0)),
        ("etcd_backup_last_keys", "gauge", "Keys in the last successful snapshot.", state.get("last_keys", 0)),
        ("etcd_backup_failures_total", "counter", "Failed runs.", state.get("failures_total", 0)),
        ("etcd_backup_snapshots", "gauge", "Snapshots kept in the local backup directory.", state.get("kept", 0)),
    ]
    if CONFIG.get("offhost_mode", "none") != "none":
        metrics += [
            ("etcd_backup_offhost_last_success_timestamp_seconds", "gauge", "Time of the last successful off-host copy.",
             state.get("offhost_last_success", 0)),
            ("etcd_backup_offhost_failures_total", "counter", "Failed off-host copies.",
             state.get("offhost_failures_total", 0)),
        ]
    lines = []
    for name, kind, help_text, value in metrics:
        lines += ["# HELP %s %s" % (name, help_text), "# TYPE %s %s" % (name, kind),
                  "%s%s %s" % (name, label, number(value))]
    try:
        os.makedirs(tdir, mode=0o755, exist_ok=True)
        write_atomic(os.path.join(tdir, "etcd_backup.prom"), "\n".join(lines) + "\n", mode=0o644)
    except OSError as e:
        log("warning", "could not write metrics to %s: %s" % (tdir, e))


def own_snapshots():
    out = []
    for name in os.listdir(CONFIG["backup_dir"]):
        m = NAME_RE.match(name)
        if m and m.group("member") == CONFIG["member"]:
            ts = datetime.datetime.strptime(m.group("ts"), TS_FORMAT).replace(tzinfo=datetime.timezone.utc)
            out.append((ts, name))
    return sorted(out, reverse=True)


def remove_snapshot(name):
    for suffix in ("",) + SIDE_FILES:
        try:
            os.unlink(os.path.join(CONFIG["backup_dir"], name + suffix))
        except FileNotFoundError:
            pass


def prune(current, now):
    """Retention by age and by count; never the snapshot just written. Returns how many are kept."""
    days, count = CONFIG["retention_days"], CONFIG["retention_count"]
    kept = 0
    for index, (ts, name) in enumerate(own_snapshots()):
        age_days = (now - ts).total_seconds() / 86400
        if name != current and days > 0 and age_days > days:
            log("info", "retention: removing %s (%.1f days old, limit %d days)" % (name, age_days, days))
            remove_snapshot(name)
        elif name != current and count > 0 and index >= count:
            log("info", "retention: removing %s (beyond the newest %d)" % (name, count))
            remove_snapshot(name)
        else:
            kept += 1
    fsync_dir(CONFIG["backup_dir"])
    return kept


def existing_ancestor(path):
    """The path itself or its nearest existing parent (a backup directory not created yet lies on its parent's
    filesystem)."""
    path = os.path.abspath(path)
    while not os.path.exists(path) and path != os.path.dirname(path):
        path = os.path.dirname(path)
    return path


def same_filesystem(a, b):
    return os.stat(existing_ancestor(a)).st_dev == os.stat(existing_ancestor(b)).st_dev


def filesystems(backup_dir, data_dir, wal_dir):
    """Whether the backup directory (or the parent it will be created in) shares a filesystem with etcd's data
    directory or its WAL directory (the role's check for etcd_backup_shared_filesystem=refuse)."""
    wal_dir = wal_dir or os.path.join(data_dir, "member", "wal")
    return {"backup_dir": backup_dir, "checked": existing_ancestor(backup_dir),
            "shares_data": same_filesystem(backup_dir, data_dir), "shares_wal": same_filesystem(backup_dir, wal_dir)}


def quota_bytes(config_file):
    """etcd's backend quota from its configuration file (quota-backend-bytes); etcd's default when unset or 0."""
    try:
        with open(config_file) as f:
            text = f.read()
    except OSError:
        return ETCD_DEFAULT_QUOTA
    m = re.search(r"^quota-backend-bytes:\s*['\"]?(\d+)['\"]?\s*$", text, re.M)
    value = int(m.group(1)) if m else 0
    return value or ETCD_DEFAULT_QUOTA


def space_needed(db_size, backup_dir, cfg):
    """Bytes that must be free on the backup filesystem before a snapshot is written, and why.

    Always: the snapshot (about the database size) plus the floor (min_free_bytes). When the backup directory shares
    a filesystem with etcd's data (or WAL) directory, the snapshot must not take the room etcd needs: the database
    may grow to its quota and the WAL needs its headroom, so that room is kept free as well (policy "reserve"), or the
    run is refused outright (policy "refuse")."""
    parts = [("snapshot", db_size), ("floor", cfg["min_free_bytes"])]
    wal_dir = cfg["wal_dir"] or os.path.join(cfg["data_dir"], "member", "wal")
    shares_data = bool(cfg["data_dir"]) and same_filesystem(backup_dir, cfg["data_dir"])
    shares_wal = bool(cfg["data_dir"]) and same_filesystem(backup_dir, wal_dir)
    if shares_data or shares_wal:
        if cfg["shared_filesystem"] == "refuse":
            raise Failure("%s is on the same filesystem as etcd's %s (etcd_backup_shared_filesystem=refuse): move the "
                          "backups to a filesystem of their own; nothing written"
                          % (backup_dir, "data directory " + cfg["data_dir"] if shares_data else "WAL directory " + wal_dir))
        if shares_data:
            parts.append(("database growth to its quota", max(0, quota_bytes(cfg["etcd_config"]) - db_size)))
        if shares_wal:
            parts.append(("WAL headroom", cfg["wal_headroom_bytes"]))
    return sum(p[1] for p in parts), parts


def check_space(bdir, db_size):
    st = os.statvfs(bdir)
    free = st.f_bavail * st.f_frsize
    need, parts = space_needed(db_size, bdir, CONFIG)
    if free < need:
        raise Failure("not enough free space in %s: %d bytes free, need %d (%s); nothing written"
                      % (bdir, free, need, " + ".join("%s %d" % p for p in parts)))
    return free, need


def offhost_copy(paths, manifest):
    mode = CONFIG["offhost_mode"]
    timeout = CONFIG["offhost_timeout"]
    start = time.monotonic()
    ssh = ["ssh"] + list(CONFIG["offhost_ssh_options"])
    if CONFIG["offhost_ssh_key"]:
        ssh += ["-i", CONFIG["offhost_ssh_key"]]
    if mode == "rsync":
        # The manifest goes last: its presence on the target marks a complete copy.
        run(["rsync", "--times", "--chmod=F600", "-e", " ".join(ssh)] + paths[:2] + [CONFIG["offhost_target"]],
            timeout, what="rsync")
        run(["rsync", "--times", "--chmod=F600", "-e", " ".join(ssh), paths[2], CONFIG["offhost_target"]],
            timeout, what="rsync")
    elif mode == "scp":
        scp = ["scp", "-B", "-p", "-q"] + list(CONFIG["offhost_ssh_options"])
        if CONFIG["offhost_ssh_key"]:
            scp += ["-i", CONFIG["offhost_ssh_key"]]
        run(scp + paths[:2] + [CONFIG["offhost_target"]], timeout, what="scp")
        run(scp + [paths[2], CONFIG["offhost_target"]], timeout, what="scp")
    elif mode == "command":
        env = dict(os.environ, ETCD_BACKUP_SNAPSHOT=paths[0], ETCD_BACKUP_CHECKSUM=paths[1],
                   ETCD_BACKUP_MANIFEST=paths[2], ETCD_BACKUP_NAME=manifest["file"],
                   ETCD_BACKUP_MEMBER=CONFIG["member"])
        run(["/bin/sh", "-c", CONFIG["offhost_command"]], timeout, env=env, what="off-host command")
    return time.monotonic() - start


def backup(now):
    bdir = CONFIG["backup_dir"]
    os.makedirs(bdir, mode=0o700, exist_ok=True)
    # Leftovers of an interrupted run (we hold the lock, so nobody else writes them).
    for name in os.listdir(bdir):
        if name.startswith(".etcd-") and (name.endswith(".tmp") or name.endswith(".tmp.part")):
            log("warning", "removing the leftover temporary file %s" % name)
            os.unlink(os.path.join(bdir, name))

    status = json.loads(etcdctl("endpoint", "status", "-w", "json"))[0]["Status"]
    if not int(status.get("leader", 0)):
        raise Failure("the local member has no leader; not taking a snapshot")
    db_size = int(status.get("dbSize", 0))
    check_space(bdir, db_size)

    name = "etcd-%s-%s.db" % (CONFIG["member"], now.strftime(TS_FORMAT))
    final = os.path.join(bdir, name)
    if os.path.exists(final):
        raise Failure("%s already exists" % final)
    tmp = os.path.join(bdir, "." + name + ".tmp")
    start = time.monotonic()
    etcdctl("snapshot", "save", tmp, "--command-timeout", "%ds" % CONFIG["snapshot_timeout"],
            timeout=CONFIG["snapshot_timeout"])
    os.chmod(tmp, 0o600)
    fsync_file(tmp)

    snap = json.loads(run([CONFIG["etcdutl"], "snapshot", "status", tmp, "-w", "json"], 600,
                          what="etcdutl snapshot status"))
    revision = int(snap["revision"])
    # The number of keys at the snapshot's revision, as clients see them (totalKey counts database entries).
    try:
        keys = int(json.loads(etcdctl("get", "", "--prefix", "--keys-only", "--limit", "1", "--rev", str(revision),
                                      "-w", "json")).get("count", 0))
    except Failure as e:
        log("warning", "could not count the keys at revision %d: %s" % (revision, e))
        keys = None
    digest = sha256_of(tmp)
    size = os.path.getsize(tmp)
    duration = time.monotonic() - start
    manifest = {
        "format": 1,
        "file": name,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "member": CONFIG["member"],
        "cluster": CONFIG["cluster"],
        "cluster_id": "%x" % int(status["header"]["cluster_id"]),
        "member_id": "%x" % int(status["header"]["member_id"]),
        "revision": revision,
        "hash": snap["hash"],
        "sha256": digest,
        "total_keys": snap["totalKey"],
        "keys": keys,
        "total_size": snap["totalSize"],
        "size": size,
        "etcd_version": status.get("version", ""),
        "storage_version": snap.get("version", ""),
        "duration_seconds": round(duration, 3),
    }
    # The snapshot first, the manifest last: a manifest means a complete, verified set.
    os.rename(tmp, final)
    fsync_dir(bdir)
    write_atomic(final + ".sha256", "%s  %s\n" % (digest, name))
    write_atomic(final + ".json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    log("info", "snapshot %s: revision %d, %d keys, %d bytes, sha256 %s, %.1fs"
        % (final, revision, keys if keys is not None else -1, size, digest, duration))
    return final, manifest


def take_lock(path, wait):
    """The run lock (flock). With wait > 0, a run that holds it (the timer's) is waited for, up to wait seconds.
    Returns the open lock file, or None when another run still holds it."""
    lock = open(path, "w")
    deadline = time.monotonic() + wait
    said = False
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return lock
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                lock.close()
                raise
        if time.monotonic() >= deadline:
            lock.close()
            return None
        if not said:
            log("info", "another etcd-backup run holds %s; waiting up to %ds for it to finish" % (path, wait))
            said = True
        time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))


def remove_temporaries():
    bdir = CONFIG.get("backup_dir", "")
    if not bdir or not os.path.isdir(bdir):
        return
    for name in os.listdir(bdir):
        if name.startswith(".etcd-") and ".tmp" in name:
            try:
                os.unlink(os.path.join(bdir, name))
            except OSError as e:
                log("warning", "could not remove the temporary file %s: %s" % (name, e))


def parse_args(argv):
    opts = {"print_manifest": False, "wait": 0}
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--print-manifest":
            opts["print_manifest"] = True
        elif a == "--wait" and args:
            opts["wait"] = int(args.pop(0))
        elif a.startswith("--wait="):
            opts["wait"] = int(a.split("=", 1)[1])
        else:
            raise Failure("unknown argument %r (usage: etcd-backup [--print-manifest] [--wait SECONDS])" % a)
    return opts


def run_backup(argv, raw_config):
    """One backup run. Whatever happens after the lock is taken, the state and the metrics are written."""
    global CONFIG
    os.umask(0o077)
    started = time.monotonic()
    try:
        opts = parse_args(argv)
        CONFIG = load_config(raw_config)
        os.makedirs(CONFIG["state_dir"], mode=0o700, exist_ok=True)
        lock = take_lock(os.path.join(CONFIG["state_dir"], "lock"), opts["wait"])
    except Exception as e:  # before the lock: nothing of ours to record, but say why and fail
        log("error", "etcd backup of member %s failed before it started: %s" % (CONFIG.get("member", "?"), describe(e)))
        return 1
    if lock is None:
        log("error", "another etcd-backup run holds %s; giving up%s"
            % (os.path.join(CONFIG["state_dir"], "lock"), " after %ds" % opts["wait"] if opts["wait"] else ""))
        return 1
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    state = load_state()
    state["last_attempt"] = int(time.time())
    state["last_result"] = "failure"
    rc = 0
    try:
        final, manifest = backup(now)
        state.update(last_success=int(time.time()), last_result="success", last_size=manifest["size"],
                     last_revision=manifest["revision"], last_keys=manifest["keys"] or 0,
                     last_snapshot=final)
        state["kept"] = prune(os.path.basename(final), now)
        if CONFIG["offhost_mode"] != "none":
            try:
                took = offhost_copy([final, final + ".sha256", final + ".json"], manifest)
                state["offhost_last_success"] = int(time.time())
                log("info", "off-host copy (%s) of %s succeeded in %.1fs" % (CONFIG["offhost_mode"], manifest["file"], took))
            except Failure as e:
                state["offhost_failures_total"] = int(number(state.get("offhost_failures_total", 0))) + 1
                state["last_result"] = "failure"
                log("error", "off-host copy (%s) of %s failed: %s (the local snapshot is kept)"
                    % (CONFIG["offhost_mode"], manifest["file"], e))
                rc = 1
        state["last_duration"] = round(time.monotonic() - started, 3)
        if opts["print_manifest"]:
            print(json.dumps(dict(manifest, path=final), sort_keys=True))
    except Exception as e:  # any failure, expected or not, is counted and reported
        state["last_result"] = "failure"
        log("error", "etcd backup of member %s failed: %s" % (CONFIG["member"], describe(e)))
        rc = 1
    finally:
        try:
            remove_temporaries()
        except Exception as e:
            log("warning", "could not clean up temporary files: %s" % describe(e))
    if rc:
        state["failures_total"] = int(number(state.get("failures_total", 0))) + 1
    try:
        save_state(state)
    except Exception as e:
        log("error", "could not write the state file: %s" % describe(e))
        rc = 1
    write_metrics(state)
    lock.close()
    return rc


def describe(e):
    """A one-line reason: the message of our own failures, the type and place of anything unexpected."""
    if isinstance(e, (Failure, OSError)):
        return str(e)
    tb = traceback.extract_tb(e.__traceback__)
    where = (" at line %d in %s()" % (tb[-1].lineno, tb[-1].name)) if tb else ""
    return "unexpected %s: %s%s" % (type(e).__name__, e, where)


# dr_restore helpers -------------------------------------------------------------------------------------------


def read_manifests(directory, cluster):
    """The newest manifest of `cluster` in `directory` (by its time, then name) and the manifests skipped because
    they belong to another cluster (or do not say which) or cannot be read."""
    result = {"newest": None, "matched": 0, "foreign": [], "unreadable": []}
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return result
    best = None
    for name in names:
        if not (name.endswith(".db.json") and NAME_RE.match(name[:-5])):
            continue
        path = os.path.join(directory, name)
        try:
            with open(path) as f:
                manifest = json.load(f)
            if not isinstance(manifest, dict):
                raise ValueError("not an object")
        except (OSError, ValueError) as e:
            result["unreadable"].append({"file": name, "error": str(e)})
            continue
        if manifest.get("cluster") != cluster:
            result["foreign"].append({"file": name, "cluster": manifest.get("cluster")})
            continue
        result["matched"] += 1
        entry = dict(manifest, path=path[:-5], manifest_path=path)
        sort_key = (str(manifest.get("time", "")), name)
        if best is None or sort_key > best[0]:
            best = (sort_key, entry)
    result["newest"] = best[1] if best else None
    return result


def summarize_etcdutl_error(text):
    """What etcdutl says about a snapshot it cannot read, in one line: an integrity hash mismatch prints two
    32-number byte lists, a truncated file often a Go panic with a stack dump."""
    text = text or ""
    if re.search(r"expected sha256", text):
        return "its integrity hash does not match its content (truncated or altered after it was taken)"
    # A Go panic, or a runtime fault (a truncated file read through mmap: "unexpected fault address", "fatal error:
    # fault", then the goroutines' stacks).
    m = re.search(r"^(?:panic|fatal error): (.+)$", text, re.M) or re.search(r"^(unexpected fault address .+)$", text, re.M)
    if m:
        return "etcdutl crashed reading it (%s)" % m.group(1).strip()[:200]
    lines = [ln.strip() for ln in text.splitlines()
             if ln.strip() and not ln.startswith(("goroutine ", "\t", "created by ", "[signal "))
             and not re.match(r"^\S+\(.*\)$", ln.strip())]
    if lines and re.search(r"^goroutine \d+ ", text, re.M):
        # Another kind of Go crash dump: its first line says what happened (SIGSEGV: segmentation violation, ...).
        return "etcdutl crashed reading it (%s)" % lines[0][:200]
    for ln in reversed(lines):
        if ln.lower().startswith("error"):
            return ln[:300]
    return (lines[-1][:300] if lines else "etcdutl failed without a message")


def snapshot_command(argv):
    """snapshot-status ETCDUTL SNAPSHOT | snapshot-restore ETCDUTL SNAPSHOT ARGS...: etcdutl, with a damaged
    snapshot reported as "snapshot corrupted: PATH: reason" on stdout (JSON) and rc 1."""
    action, etcdutl_bin, snapshot = argv[0], argv[1], argv[2]
    if action == "snapshot-status":
        cmd = [etcdutl_bin, "snapshot", "status", snapshot, "-w", "json"]
    else:
        cmd = [etcdutl_bin, "snapshot", "restore", snapshot] + list(argv[3:])
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=3600, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        print(json.dumps({"ok": False, "msg": "%s: %s" % (cmd[0], e)}))
        return 1
    if proc.returncode != 0:
        reason = summarize_etcdutl_error(proc.stderr + "\n" + proc.stdout)
        print(json.dumps({"ok": False, "corrupted": True,
                          "msg": "snapshot corrupted: %s: %s" % (snapshot, reason)}))
        return 1
    out = {"ok": True}
    if action == "snapshot-status":
        try:
            out["status"] = json.loads(proc.stdout)
        except ValueError:
            print(json.dumps({"ok": False, "corrupted": True,
                              "msg": "snapshot corrupted: %s: etcdutl printed no status" % snapshot}))
            return 1
    print(json.dumps(out))
    return 0


def main(argv=None, config=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "manifests" and len(argv) == 3:
        print(json.dumps(read_manifests(argv[1], argv[2]), sort_keys=True))
        return 0
    if argv and argv[0] == "filesystems" and len(argv) == 4:
        print(json.dumps(filesystems(argv[1], argv[2], argv[3]), sort_keys=True))
        return 0
    if argv and argv[0] in ("snapshot-status", "snapshot-restore") and len(argv) >= 3:
        return snapshot_command(argv)
    if config is None:
        log("error", "etcd-backup: no settings (this file is installed by the quorum.etcd backup role, which adds them)")
        return 2
    return run_backup(argv, config)


if __name__ == "__main__":
    sys.exit(main(config=SETTINGS))
