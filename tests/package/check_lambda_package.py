"""Checks the Lambda package (build/lambda/rowcache-lambda.zip) the way
Lambda will use it: one executable `bootstrap` at the zip root, no shared
library needed and no glibc symbol newer than 2.34 (Amazon Linux 2023), and
it serves a fake Runtime API from the unzipped folder with an empty
environment, resolving host names. Prints the package size and the cold start
(process start to first response posted), then runs the full Lambda end-to-end
test (tests/e2e/test_lambda.py) on the unzipped bootstrap.

    python3 tests/package/check_lambda_package.py --zip build-lambda/lambda/rowcache-lambda.zip
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from fake_lambda import FakeRuntime  # noqa: E402
from rowcache_e2e import Checks, require_servers  # noqa: E402


def cold_start(boot, env):
    """Seconds from starting the process to its first response reaching the runtime API."""
    rt = FakeRuntime()
    e = dict(env, AWS_LAMBDA_RUNTIME_API=rt.api)
    rid = rt.invoke({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [1]})
    t0 = time.perf_counter()
    p = subprocess.Popen([boot], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    got = rt.result(rid, timeout=30)
    t = time.perf_counter() - t0
    p.kill()
    err = p.communicate()[1]
    rt.close()
    return t, got, err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zip", required=True)
    a = ap.parse_args()
    c = Checks()
    z = zipfile.ZipFile(a.zip)
    names = z.namelist()
    c.check("the zip holds exactly one file, bootstrap, at its root", names == ["bootstrap"], f"{names}")
    info = z.getinfo("bootstrap")
    mode = (info.external_attr >> 16) & 0o777
    c.check("bootstrap is executable in the zip (unix mode stored)", mode & 0o111 != 0, f"mode {oct(mode)}")
    d = tempfile.mkdtemp()
    boot = os.path.join(d, "bootstrap")
    with open(boot, "wb") as f:
        f.write(z.read("bootstrap"))
    os.chmod(boot, mode or 0o755)
    size_zip = os.path.getsize(a.zip)
    size_bin = os.path.getsize(boot)

    dyn = subprocess.run(["readelf", "-d", boot], capture_output=True, text=True).stdout
    c.check("no shared library needed (no NEEDED entry)", "NEEDED" not in dyn, dyn[:300])
    interp = subprocess.run(["readelf", "-l", boot], capture_output=True, text=True).stdout
    c.check("no program interpreter (fully static)", "INTERP" not in interp)
    syms = subprocess.run(["objdump", "-T", boot], capture_output=True, text=True)
    versions = sorted(set(re.findall(r"GLIBC_(\d+\.\d+)", syms.stdout + syms.stderr)),
                      key=lambda v: tuple(map(int, v.split("."))))
    too_new = [v for v in versions if tuple(map(int, v.split("."))) > (2, 34)]
    c.check("objdump -T: no GLIBC symbol version newer than 2.34", not too_new, f"{versions}")

    # Empty environment: only the runtime API address; the embedded defaults.
    t, got, err = cold_start(boot, {})
    ok = got is not None and got[0] == "response" and json.loads(got[1]).get("statusCode") == 200
    c.check("unzipped bootstrap, empty environment: answers an invocation", ok, f"{got} {err[-300:]}")

    servers = require_servers()
    mysql_url, redis_url = servers if servers else (None, None)
    times = {"embedded (sqlite:/tmp, memory://)": [], "MariaDB + Redis on loopback": []}
    for _ in range(5):
        times["embedded (sqlite:/tmp, memory://)"].append(cold_start(boot, {})[0])
    if servers:
        port = redis_url.rsplit(":", 1)[1].split("/")[0]
        env = {"ROWCACHE_DB": mysql_url, "ROWCACHE_CACHE": f"redis://localhost:{port}"}
        t, got, err = cold_start(boot, env)
        ok = got is not None and got[0] == "response"
        c.check("static bootstrap resolves host names (redis://localhost) and serves from MariaDB + Redis",
                ok and json.loads(got[1]).get("statusCode") == 200 and "localhost" in err, f"{got} {err[-300:]}")
        for _ in range(5):
            times["MariaDB + Redis on loopback"].append(cold_start(boot, env)[0])
    print(f"package: {a.zip}: {size_zip / 1e6:.1f} MB zipped, bootstrap {size_bin / 1e6:.1f} MB")
    for k, v in times.items():
        if v:
            print(f"cold start, process start to first response, {k}: median {statistics.median(v) * 1000:.1f} ms "
                  f"(min {min(v) * 1000:.1f}, max {max(v) * 1000:.1f}, n={len(v)})")

    r = subprocess.run([sys.executable, os.path.join(HERE, "..", "e2e", "test_lambda.py"), "--binary", boot])
    c.check("tests/e2e/test_lambda.py passes on the unzipped bootstrap", r.returncode == 0)
    c.finish()


if __name__ == "__main__":
    main()
