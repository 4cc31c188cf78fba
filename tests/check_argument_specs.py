"""Check that every role's defaults and argument specifications agree (run by `make lint`).

prometheus-community's collection diffs the variable names of defaults/main.yml against its argument specification
in CI; this check goes one step further, because a role's argument specification is what users read:

- every variable in a role's defaults/main.yml is declared in one of the role's entry points (meta/argument_specs.yml),
  with the same default; a default computed by a template (``{{ ... }}``) cannot be written as a default in the
  specification, so there the option must declare none (its description says what it defaults to);
- every option an entry point declares with a default gets that value from a defaults/main.yml the role sees: its own
  or one of the roles it depends on (meta/main.yml, transitively; a variable read by several roles is defined once,
  in the role the others depend on);
- every variable in defaults/main.yml is public, so it is prefixed ``etcd_``;
- a directory of roles/ without meta/main.yml is not a role yet: it is named on stderr and not checked;
- every ``tasks_from`` the playbooks and roles include or import (``quorum.etcd.ROLE``) has an entry point of that name
  in the role's argument specification, so its inputs are declared and checked when it is included.

Usage: python3 tests/check_argument_specs.py [REPO]   (default: the checkout this file is in)
Prints one line per disagreement and exits 1 when there is any.
"""

import os
import sys

import yaml

PREFIX = "etcd_"
COLLECTION = "quorum.etcd."


def _load(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _dependencies(meta):
    """Names of the collection's roles in a meta/main.yml's dependencies."""
    out = []
    for dep in (meta or {}).get("dependencies") or []:
        name = dep.get("role", dep.get("name")) if isinstance(dep, dict) else dep
        if isinstance(name, str):
            out.append(name[len(COLLECTION):] if name.startswith(COLLECTION) else name)
    return out


def load_roles(roles_dir):
    """{role: {'defaults': dict, 'specs': {entry point: options}, 'deps': [role]}} for every role in roles_dir."""
    roles = {}
    for name in sorted(os.listdir(roles_dir)):
        base = os.path.join(roles_dir, name)
        if not os.path.isdir(base):
            continue
        if not os.path.exists(os.path.join(base, "meta", "main.yml")):
            # Not a role yet (no meta/main.yml: no dependencies, no platforms): said, not checked.
            print("roles/%s: no meta/main.yml, not checked" % name, file=sys.stderr)
            continue
        specs = (_load(os.path.join(base, "meta", "argument_specs.yml")) or {}).get("argument_specs") or {}
        roles[name] = {
            "defaults": _load(os.path.join(base, "defaults", "main.yml")) or {},
            "specs": {ep: (spec or {}).get("options") or {} for ep, spec in specs.items()},
            "deps": _dependencies(_load(os.path.join(base, "meta", "main.yml"))),
        }
    return roles


def visible_defaults(roles, name, _seen=None):
    """The defaults a role sees: those of its dependencies (transitively), then its own (which win)."""
    seen = set() if _seen is None else _seen
    if name in seen or name not in roles:
        return {}
    seen.add(name)
    out = {}
    for dep in roles[name]["deps"]:
        for key, value in visible_defaults(roles, dep, seen).items():
            out.setdefault(key, value)
    out.update(roles[name]["defaults"])
    return out


def is_template(value):
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def same_value(option_type, declared, value):
    """Whether a specification default and a defaults/main.yml value are the same, read as the option's type."""
    try:
        if option_type == "int":
            return int(declared) == int(value) and not isinstance(value, bool)
        if option_type == "float":
            return float(declared) == float(value)
        if option_type == "bool":
            return isinstance(declared, bool) and isinstance(value, bool) and declared == value
        if option_type in ("str", "path", "raw", None) and not isinstance(value, (list, dict, bool)):
            return str(declared) == str(value) and isinstance(declared, (str, int, float)) == isinstance(value, (str, int, float))
    except (TypeError, ValueError):
        return False
    return declared == value


def check_role(roles, name):
    """Problems of one role, one sentence each."""
    role = roles[name]
    problems = []
    where = "roles/%s" % name
    declared = {}  # option -> [(entry point, spec)]
    for entry_point, options in role["specs"].items():
        for option, spec in options.items():
            declared.setdefault(option, []).append((entry_point, spec or {}))

    for var, value in role["defaults"].items():
        if not var.startswith(PREFIX):
            problems.append("%s: defaults/main.yml sets %s, which is not prefixed %s (a public variable)" % (where, var, PREFIX))
        if var not in declared:
            problems.append("%s: defaults/main.yml sets %s, which no entry point of meta/argument_specs.yml declares" % (where, var))
            continue
        for entry_point, spec in declared[var]:
            if is_template(value):
                if "default" in spec:
                    problems.append(
                        "%s: %s is computed in defaults/main.yml (%s), but entry point %s declares the default %r;"
                        " declare none and say in the description what it defaults to" % (where, var, value.strip(), entry_point, spec["default"]))
            elif "default" not in spec:
                problems.append("%s: entry point %s declares %s without its default %r (defaults/main.yml)" % (where, entry_point, var, value))

    seen = visible_defaults(roles, name)
    for option, entries in sorted(declared.items()):
        for entry_point, spec in entries:
            if "default" not in spec:
                continue
            if option not in seen:
                problems.append(
                    "%s: entry point %s declares %s with the default %r, but no defaults/main.yml the role sees sets it"
                    " (its own or a dependency's)" % (where, entry_point, option, spec["default"]))
            elif not is_template(seen[option]) and not same_value(spec.get("type"), spec["default"], seen[option]):
                problems.append(
                    "%s: entry point %s declares %s with the default %r, the defaults set %r" % (where, entry_point, option, spec["default"], seen[option]))
    return problems


INCLUDES = ("ansible.builtin.include_role", "ansible.builtin.import_role", "include_role", "import_role")


def _role_calls(node):
    """(role, tasks_from) of every include_role/import_role with tasks_from in a loaded YAML document."""
    if isinstance(node, list):
        for item in node:
            yield from _role_calls(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in INCLUDES and isinstance(value, dict) and "tasks_from" in value:
                yield value.get("name", ""), value["tasks_from"]
            else:
                yield from _role_calls(value)


def entry_point_problems(repo, roles):
    """A tasks_from without an entry point of that name in its role, one sentence each."""
    files = []
    for top in ("playbooks", "roles"):
        for base, _dirs, names in os.walk(os.path.join(repo, top)):
            files.extend(os.path.join(base, n) for n in sorted(names) if n.endswith(".yml"))
    if os.path.exists(os.path.join(repo, "site.yml")):
        files.append(os.path.join(repo, "site.yml"))
    problems = []
    for path in sorted(files):
        if os.sep + "meta" + os.sep in path or os.sep + "defaults" + os.sep in path or os.sep + "vars" + os.sep in path:
            continue
        try:
            doc = _load(path)
        except yaml.YAMLError:
            continue  # yamllint reports it
        for role, tasks_from in _role_calls(doc):
            if not isinstance(role, str) or not isinstance(tasks_from, str) or "{{" in role + tasks_from:
                continue  # templated: the names are not known here
            name = role[len(COLLECTION):] if role.startswith(COLLECTION) else role
            if name not in roles:
                continue  # another collection's role
            entry_point = os.path.splitext(tasks_from)[0]
            if entry_point not in roles[name]["specs"]:
                problems.append("%s: tasks_from %s of role %s has no entry point %s in roles/%s/meta/argument_specs.yml"
                                % (os.path.relpath(path, repo), tasks_from, role, entry_point, name))
    return problems


def check(repo):
    roles = load_roles(os.path.join(repo, "roles"))
    problems = []
    for name in roles:
        problems.extend(check_role(roles, name))
    return problems + entry_point_problems(repo, roles)


def main(argv):
    repo = argv[1] if len(argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    problems = check(repo)
    for problem in problems:
        print(problem)
    if problems:
        print("%d problem(s) with the roles' argument specifications" % len(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
