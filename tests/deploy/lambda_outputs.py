"""Real outputs of the rowcache Lambda runtime, for tests/deploy/render_mappings.mjs.

Runs the real binary as `rowcache lambda` against the fake Runtime API of
tests/e2e/fake_lambda.py, once per scenario, hands it the given events (the
bytes API Gateway's request template produced) and reports what it posted:

    stdin:  {"binary": PATH, "scenarios": [{"name": ..., "env": {...},
             "events": [{"event": "<raw text>", "deadline_passed": false}, ...]}]}
    stdout: {"NAME": [{"kind": "response" | "error" | "init_error",
                       "body": "<raw text>", "error_type": "..."}, ...], ...}

"response" is a result (POST .../response), "error" a function error (POST
.../error), "init_error" an initialization failure (POST /runtime/init/error);
after an init error the process has exited and the scenario's other events
are not run. The value "{tmp}" in an env value is a fresh temporary directory.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from fake_lambda import FakeRuntime  # noqa: E402


def run_scenario(binary, sc):
    tmp = tempfile.mkdtemp(prefix="rowcache-vtl-")
    rt = FakeRuntime()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_LAMBDA_RUNTIME_API": rt.api}
    env.update({k: v.replace("{tmp}", tmp) for k, v in sc.get("env", {}).items()})
    proc = subprocess.Popen([binary, "lambda"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    out = []
    try:
        for ev in sc.get("events", []):
            deadline = int(time.time() * 1000) + (-1000 if ev.get("deadline_passed") else 20_000)
            rid = rt.invoke(ev["event"].encode(), deadline_ms=deadline)
            while True:
                with rt.cond:
                    rt.cond.wait_for(lambda: rid in rt.results or rt.init_error is not None or proc.poll() is not None, 1)
                    got = rt.results.get(rid)
                    init = rt.init_error
                if got or init or proc.poll() is not None:
                    break
            if got:
                kind, body, headers = got
                out.append({"kind": kind, "body": body.decode(),
                            "error_type": headers.get("Lambda-Runtime-Function-Error-Type", "")})
                continue
            if init:
                headers, body = init
                out.append({"kind": "init_error", "body": body.decode(),
                            "error_type": headers.get("Lambda-Runtime-Function-Error-Type", "")})
                break
            err = proc.stderr.read() if proc.poll() is not None else ""
            raise RuntimeError(f"scenario {sc['name']}: no answer ({err.strip()})")
        if sc.get("init_error_only") and not out:
            init = rt.wait_init_error(20)
            if init is None:
                raise RuntimeError(f"scenario {sc['name']}: no init error")
            headers, body = init
            out.append({"kind": "init_error", "body": body.decode(),
                        "error_type": headers.get("Lambda-Runtime-Function-Error-Type", "")})
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        rt.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main():
    req = json.load(sys.stdin)
    binary = req["binary"]
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        sys.exit(f"lambda_outputs.py: no executable rowcache binary at {binary}")
    json.dump({sc["name"]: run_scenario(binary, sc) for sc in req["scenarios"]}, sys.stdout)


if __name__ == "__main__":
    main()
