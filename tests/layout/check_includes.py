#!/usr/bin/env python3
"""The module layering of src/, checked from the #include lines: each folder
may include its own headers, the public ones (include/rowcache/) and those of
the folders listed for it below, nothing else. The point of the table is what
it leaves out: the Redis client and the AWS client know nothing of caches or
front doors, the Lambda runtime client nothing of the service (exe/ wires
them together), the core (include/rowcache, src/core) no I/O at all.

Usage: check_includes.py [SRC_DIR]. Exit 0 when every include is allowed.
Before checking the real tree it checks a small tree with one forbidden
include and fails if that one is not caught."""
import os
import re
import sys
import tempfile

ALLOWED = {
    "core": set(),
    "net": set(),
    "redis": {"net"},
    "aws": {"net"},  # S3 implements rowcache/byte_source.h; load/ opens it, never the other way
    "lambda": {"net"},
    "store": {"net"},
    "cache": {"redis", "net"},
    "load": {"aws"},  # the S3 source (aws/ does not include load/: one direction only)
    "http": {"cache", "redis", "net"},
    "bench": set(),
    "exe": None,  # the executable wires everything together
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/[^"]+"', re.M)


def violations(src):
    found = []
    for module in sorted(os.listdir(src)):
        path = os.path.join(src, module)
        if not os.path.isdir(path):
            continue
        if module not in ALLOWED:
            found.append(f"src/{module}: a folder the layering table does not know; add it to {__file__}")
            continue
        allowed = ALLOWED[module]
        # A module's subfolders (src/store/mysql/) belong to it.
        files = sorted(os.path.relpath(os.path.join(d, n), path)
                       for d, _, names in os.walk(path) for n in names)
        for name in files:
            if not name.endswith((".h", ".cc")):
                continue
            with open(os.path.join(path, name), encoding="utf-8") as f:
                text = f.read()
            for dep in INCLUDE.findall(text):
                if allowed is None or dep in ("rowcache", module) or dep in allowed:
                    continue
                found.append(f"src/{module}/{name} includes {dep}/: not allowed for {module}/ "
                             f"(allowed: {', '.join(sorted(allowed)) or 'none'})")
    return found


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "src")
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "lambda"))
        with open(os.path.join(d, "lambda", "runtime.cc"), "w") as f:
            f.write('#include "net/http_client.h"\n#include "cache/redis_cache.h"\n')
        os.makedirs(os.path.join(d, "store", "mysql"))
        with open(os.path.join(d, "store", "mysql", "store.cc"), "w") as f:
            f.write('#include "net/transport.h"\n#include "http/server.h"\n')
        planted = violations(d)
        if len(planted) != 2 or "cache/" not in planted[0] or "store/mysql/store.cc includes http/" not in planted[1]:
            print(f"FAIL  the checker missed a planted forbidden include: {planted}")
            return 1
        print("ok    planted forbidden includes (lambda/ -> cache/, store/mysql/ -> http/) are caught")
    found = violations(src)
    for v in found:
        print(f"FAIL  {v}")
    if not found:
        print(f"ok    every #include under {os.path.normpath(src)} follows the layering table")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
