"""End-to-end: bearer-token authentication of `rowcache serve`.

--auth-token / ROWCACHE_AUTH_TOKEN / --auth-token-file: POST / needs
"Authorization: Bearer TOKEN" (401 with WWW-Authenticate: Bearer and nothing
changed otherwise, counted in /metrics), GET /healthz stays open, GET /metrics
needs the token unless --metrics-public. The token never appears in a log line
or an answer. Without a token, a non-loopback --listen logs one warning.
With MariaDB + Redis also through the fast read path (cached reads answered on
the I/O threads).
"""
import http.client
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rowcache_e2e import Checks, Server, args, mariadb, require_servers, unique  # noqa: E402

TOKEN = "tok-3f9c2a7b1e5d4c6a8b0f2e4d6c8a0b1c"
ROW = {"hero": "yes", "power": "fly", "name": "batman", "xp": 100, "color": "black"}


def request(srv, method, path, body=None, token=None, auth=None):
    """(status, headers dict (lower-case names), text)."""
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = auth
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body)
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, text


def metric(srv, name, token=TOKEN):
    return srv.metric(name, token=token)


def suite(c, srv, tag, outputs):
    p = f"[{tag}] "
    code, hdrs, text = request(srv, "POST", "/", {"REQUEST": "write", "SQLS": [ROW]})
    outputs.append(text)
    c.check(p + "POST / without a token: 401 JSON with WWW-Authenticate: Bearer",
            code == 401 and hdrs.get("www-authenticate") == "Bearer" and json.loads(text)["statusCode"] == 401,
            f"{code} {hdrs} {text}")
    code, hdrs, text = request(srv, "POST", "/", {"REQUEST": "write", "SQLS": [ROW]}, token=TOKEN + "x")
    outputs.append(text)
    c.check(p + "a wrong token: 401", code == 401 and hdrs.get("www-authenticate") == "Bearer", f"{code} {text}")
    for bad in (TOKEN, f"Basic {TOKEN}", f"Bearer{TOKEN}", "Bearer ", f"Bearer {TOKEN[:-1]}"):
        code, _, text = request(srv, "POST", "/", {"REQUEST": "write", "SQLS": [ROW]}, auth=bad)
        outputs.append(text)
        c.check(p + f"Authorization: {bad.replace(TOKEN, 'TOKEN')[:24]!r}: 401", code == 401, f"{code} {text}")
    code, _, text = request(srv, "POST", "/", {"REQUEST": "write", "SQLS": [ROW]}, token=TOKEN)
    c.check(p + "the right token: the write succeeds", code == 200, f"{code} {text}")
    wid = json.loads(text)["ids"][0]
    code, _, text = request(srv, "POST", "/", {"REQUEST": "read", "SQLS": [wid, wid + 1, wid + 2]}, token=TOKEN)
    c.check(p + "... and the refused writes changed nothing", code == 200
            and json.loads(text)["body"][1:] == [None, None], text)
    code, _, text = request(srv, "POST", "/", {"REQUEST": "read", "SQLS": [wid]}, auth=f"bearer   {TOKEN}")
    c.check(p + "the scheme is case-insensitive", code == 200, f"{code} {text}")
    # A cached read (on the fast path when there is one) needs the token too.
    for _ in range(2):
        code, _, text = request(srv, "POST", "/", {"USE_CACHE": "True", "REQUEST": "read", "SQLS": [wid]})
    outputs.append(text)
    c.check(p + "a cached read without the token: 401", code == 401, f"{code} {text}")
    code, _, text = request(srv, "GET", "/healthz")
    c.check(p + "GET /healthz without a token: 200", code == 200, f"{code} {text}")
    code, hdrs, text = request(srv, "GET", "/metrics")
    outputs.append(text)
    c.check(p + "GET /metrics without a token: 401", code == 401 and hdrs.get("www-authenticate") == "Bearer",
            f"{code} {text}")
    n = metric(srv, "rowcache_http_unauthorized_total")
    c.check(p + "the 401s are counted (rowcache_http_unauthorized_total)", n == 10, f"{n}")
    return wid


def main():
    a = args()
    c = Checks()
    tmp = tempfile.mkdtemp()
    outputs = []

    srv = Server(a.binary, "--db", f"sqlite:{tmp}/a.db", "--cache", "memory://", "--auth-token", TOKEN)
    try:
        suite(c, srv, "sqlite+memory, --auth-token", outputs)
    finally:
        srv.stop()
    outputs += [srv.banner, srv.proc.stdout.read(), srv.proc.stderr.read()]
    c.check("no warning on loopback with a token", "warning" not in outputs[-1], outputs[-1])

    servers = require_servers()
    if servers is None:
        c.skip("through the fast read path", "ROWCACHE_TEST_MYSQL / ROWCACHE_TEST_REDIS not set")
    else:
        mysql_url, redis_url = servers
        table = unique("e2e_auth")
        srv = Server(a.binary, "--db", f"{mysql_url}?table={table}", "--cache", redis_url, "--key-prefix",
                     table + ":", "--auth-token", TOKEN)
        try:
            suite(c, srv, "mariadb+redis, fast path", outputs)
        finally:
            srv.stop()
            mariadb(f"DROP TABLE IF EXISTS {table}")
        outputs += [srv.proc.stdout.read(), srv.proc.stderr.read()]

    # rowcache bench against a server that wants the token: it sends it (every workload request, the
    # preparing writes and the /metrics scrapes), and the report does not hold it.
    srv = Server(a.binary, "--db", f"sqlite:{tmp}/b.db", "--cache", "memory://", "--auth-token", TOKEN)
    try:
        report = os.path.join(tmp, "bench.json")
        bench = [a.binary, "bench", "--target", f"http://127.0.0.1:{srv.port}/", "--duration", "1", "--warmup", "0",
                 "--connections", "2", "--hot-set", "20", "--quiet", "--json", report]
        p = subprocess.run(bench + ["--auth-token", TOKEN], capture_output=True, text=True, timeout=120)
        doc = json.load(open(report)) if p.returncode == 0 else {}
        runs = doc.get("runs", [])
        ok = p.returncode == 0 and runs and all(r.get("requests", 0) > 0 and r["errors"]["total"] == 0 and
                                                r.get("cache_hit_ratio") is not None for r in runs)
        c.check("rowcache bench --auth-token: every request answered, no errors, cache figures scraped from /metrics",
                ok, f"{p.returncode} {p.stderr[-300:]} {runs[:1]}")
        c.check("... the token is not in the report (the command is redacted)",
                TOKEN not in open(report).read() and "--auth-token ***" in doc.get("command", ""), doc.get("command"))
        p = subprocess.run(bench, capture_output=True, text=True, timeout=120)
        outputs.append(p.stdout + p.stderr)
        c.check("rowcache bench without the token: the server's 401s show as errors or a failed set-up",
                p.returncode != 0 or "401" in p.stdout + p.stderr, p.stdout[-300:] + p.stderr[-300:])
    finally:
        srv.stop()
    outputs += [srv.proc.stderr.read()]

    # The token from the environment, and from a file (trailing newline dropped); --metrics-public.
    path = os.path.join(tmp, "token")
    with open(path, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(path, 0o600)
    srv = Server(a.binary, "--db", f"sqlite:{tmp}/a.db", env=dict(os.environ, ROWCACHE_AUTH_TOKEN=TOKEN))
    try:
        c.check("ROWCACHE_AUTH_TOKEN: 401 without, 200 with",
                request(srv, "POST", "/", {"REQUEST": "read", "SQLS": [1]})[0] == 401
                and request(srv, "POST", "/", {"REQUEST": "read", "SQLS": [1]}, token=TOKEN)[0] == 200)
    finally:
        srv.stop()
    outputs += [srv.proc.stderr.read()]
    srv = Server(a.binary, "--db", f"sqlite:{tmp}/a.db", "--auth-token-file", path, "--metrics-public")
    try:
        c.check("--auth-token-file: 401 without, 200 with",
                request(srv, "POST", "/", {"REQUEST": "read", "SQLS": [1]})[0] == 401
                and request(srv, "POST", "/", {"REQUEST": "read", "SQLS": [1]}, token=TOKEN)[0] == 200)
        code, _, text = request(srv, "GET", "/metrics")
        c.check("--metrics-public: GET /metrics without a token: 200", code == 200 and "rowcache_http" in text,
                f"{code}")
    finally:
        srv.stop()
    outputs += [srv.proc.stderr.read()]

    # Bad configurations: exit 2, the token not in the message.
    empty = os.path.join(tmp, "empty")
    open(empty, "w").close()
    spaced = os.path.join(tmp, "spaced")
    with open(spaced, "w") as f:
        f.write(TOKEN + " more\n")
    for name, extra, env in (
            ("--auth-token and --auth-token-file together", ["--auth-token", TOKEN, "--auth-token-file", path], {}),
            ("an empty token file", ["--auth-token-file", empty], {}),
            ("a token file that does not exist", ["--auth-token-file", os.path.join(tmp, "nope")], {}),
            ("a token with a space", ["--auth-token-file", spaced], {}),
            ("a token of 15 characters (the default --auth-token-min-length is 16)", ["--auth-token", TOKEN[:15]], {}),
            ("a token shorter than --auth-token-min-length",
             ["--auth-token", TOKEN, "--auth-token-min-length", str(len(TOKEN) + 1)], {}),
            ("ROWCACHE_AUTH_TOKEN and ROWCACHE_AUTH_TOKEN_FILE", [],
             {"ROWCACHE_AUTH_TOKEN": TOKEN, "ROWCACHE_AUTH_TOKEN_FILE": path})):
        r = subprocess.run([a.binary, "serve", "--listen", "127.0.0.1:0", "--db", f"sqlite:{tmp}/a.db", *extra],
                           capture_output=True, text=True, timeout=30, env=dict(os.environ, **env))
        outputs += [r.stdout, r.stderr]
        c.check(f"{name}: exit 2 with a message",
                r.returncode == 2 and "auth_token" in r.stderr.lower().replace("-", "_"),
                f"{r.returncode} {r.stderr}")

    srv = Server(a.binary, "--db", f"sqlite:{tmp}/a.db", "--auth-token", TOKEN[:16])
    try:
        status, _ = srv.post({"REQUEST": "read", "SQLS": [1]})
        c.check("a token of exactly --auth-token-min-length (16) characters is accepted", status == 401, f"{status}")
    finally:
        srv.stop()

    # Without a token: one warning line when listening beyond loopback, none on loopback.
    for listen, warn in (("0.0.0.0:0", True), ("127.0.0.1:0", False)):
        p = subprocess.Popen([a.binary, "serve", "--listen", listen, "--db", f"sqlite:{tmp}/a.db"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        banner = p.stdout.readline()
        p.terminate()
        _, err = p.communicate(timeout=15)
        warnings = [ln for ln in err.splitlines() if "warning" in ln and "auth-token" in ln]
        c.check(f"no token, --listen {listen}: {'one warning line' if warn else 'no warning'}",
                "listening on" in banner and len(warnings) == (1 if warn else 0), err)
    p = subprocess.Popen([a.binary, "serve", "--listen", "0.0.0.0:0", "--db", f"sqlite:{tmp}/a.db", "--auth-token",
                          TOKEN], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    banner = p.stdout.readline()
    p.terminate()
    _, err = p.communicate(timeout=15)
    outputs += [banner, err]
    c.check("a token, --listen 0.0.0.0:0: no warning", "warning" not in err, err)

    leaked = [o for o in outputs if TOKEN in o]
    c.check(f"the token appears in none of {len(outputs)} answers and outputs", not leaked, f"{leaked[:2]}")
    c.finish()


if __name__ == "__main__":
    main()
