#!/usr/bin/env python3
"""Resolves a board's module list against an unpacked kernel's modules.dep,
modules.softdep (pre:) and modules.alias, copies the modules into an initramfs
staging tree and writes /lib/modules/strata.load: "<level> <path> <for>" lines,
where a module's level is one more than the highest level of what it needs and
<for> lists the board modules (NAME...) that pull it in, comma-separated.
strata-init loads level by level, in parallel within a level, with no modprobe
at boot: the storage modules first, the others once its plan needs them
(init/core/module_plan.h).

usage: modorder.py MODULES_DIR STAGING NAME...
"""
import os
import shutil
import sys


def norm(name):
    return name.replace("-", "_")


def main():
    moddir, staging, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    deps, by_name = {}, {}
    with open(os.path.join(moddir, "modules.dep")) as f:
        for line in f:
            path, _, rest = line.partition(":")
            deps[path] = rest.split()
            by_name[norm(os.path.basename(path)[:-3])] = path
    builtin = set()
    bpath = os.path.join(moddir, "modules.builtin")
    if os.path.exists(bpath):
        with open(bpath) as f:
            builtin = {norm(os.path.basename(l.strip())[:-3]) for l in f if l.strip()}
    aliases = {}
    apath = os.path.join(moddir, "modules.alias")
    if os.path.exists(apath):
        with open(apath) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[0] == "alias":
                    aliases.setdefault(parts[1], []).append(norm(parts[2]))
    softpre = {}
    spath = os.path.join(moddir, "modules.softdep")
    if os.path.exists(spath):
        with open(spath) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[0] == "softdep" and "pre:" in parts:
                    i = parts.index("pre:") + 1
                    pre = []
                    while i < len(parts) and not parts[i].endswith(":"):
                        pre.append(parts[i])
                        i += 1
                    softpre[norm(parts[1])] = pre

    def resolve(name, soft=False):
        """A module name or alias -> module path, or None when built in.
        A soft dependency names what the module will ask the kernel for at run
        time (request_module("crypto-crc32") for "crc32"): the aliases decide
        first, since the plain name can be a different, built-in library."""
        n = norm(name)
        if soft:
            cands = [c for c in aliases.get("crypto-" + name, []) + aliases.get(name, [])
                     if c in by_name or c in builtin]
            if cands:
                return pick(cands)
        if n in builtin:
            return None
        if n in by_name:
            return by_name[n]
        cands = [c for c in aliases.get(name, []) if c in by_name or c in builtin]
        if cands:
            return pick(cands)
        sys.exit(f"modorder: module '{name}' is neither a module nor built into this kernel ({moddir})")

    def pick(cands):
        """One implementation: none if one is built in; else the generic one,
        which runs on every CPU (an accelerated one may not)."""
        if any(c in builtin for c in cands):
            return None
        return by_name[sorted(cands, key=lambda c: (not c.endswith("_generic"), c))[0]]

    level = {}
    needed_by = {}
    closure = {}

    def mark(path, name, seen):
        if path in seen:
            return
        seen.add(path)
        needed_by.setdefault(path, set()).add(norm(name))
        for d in closure.get(path, ()):
            mark(d, name, seen)

    def visit(path, stack=()):
        if path in level:
            return level[path]
        if path in stack:
            sys.exit(f"modorder: dependency cycle at {path}")
        need = list(deps[path])
        for s in softpre.get(norm(os.path.basename(path)[:-3]), []):
            p = resolve(s, soft=True)
            if p:
                need.append(p)
        lv = 0
        for d in need:
            lv = max(lv, visit(d, stack + (path,)) + 1)
        closure[path] = need
        level[path] = lv
        return lv

    for n in names:
        p = resolve(n)
        if p:
            visit(p)
            mark(p, n, set())
        else:
            print(f"modorder: {n} is built into the kernel", file=sys.stderr)

    outdir = os.path.join(staging, "lib/modules")
    os.makedirs(outdir, exist_ok=True)
    lines = []
    for path in sorted(level, key=lambda p: (level[p], p)):
        dest = "/lib/modules/" + os.path.basename(path)
        shutil.copyfile(os.path.join(moddir, path), staging + dest)
        lines.append(f"{level[path]} {dest} {','.join(sorted(needed_by[path]))}")
    with open(os.path.join(outdir, "strata.load"), "w") as f:
        f.write("# level path for (written by tools/modorder.py)\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
