"""End-to-end: `rowcache load` with the sample CSV into SQLite and MariaDB,
then served by `rowcache serve`."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from rowcache_e2e import Checks, Server, args, mariadb, require_servers, unique  # noqa: E402

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "data", "mp6input.csv")


def load(binary, *flags):
    p = subprocess.run([binary, "load", *flags], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def run(c, binary, db, tag):
    rc, out, err = load(binary, "--db", db, "--from", SAMPLE)
    c.check(f"[{tag}] loads the sample: 25 new rows", rc == 0 and "loaded 25 rows" in out and "25 new" in out,
            out + err)
    rc, out, err = load(binary, "--db", db, "--from", SAMPLE)
    c.check(f"[{tag}] a re-run adds nothing", rc == 0 and "0 new" in out and "25 kept" in out, out + err)
    tmp = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False)
    tmp.write('id,hero,power,name,xp,color\n1,replaced,"fly, high",batman,100,black\n'
              '40,a,b,c,notanumber,d\n41,"say ""hi""",b,c,7,d\n')
    tmp.close()
    rc, out, err = load(binary, "--db", db, "--from", tmp.name, "--strict")
    c.check(f"[{tag}] --strict with a bad row loads nothing and exits 1",
            rc == 1 and "line 3: xp" in err and "nothing loaded" in err, out + err)
    rc, out, err = load(binary, "--db", db, "--from", tmp.name, "--replace")
    c.check(f"[{tag}] default mode skips the bad row, reports its line, loads the rest",
            rc == 0 and "line 3: xp" in err and "1 new, 1 replaced" in out and "1 bad rows" in out, out + err)
    srv = Server(binary, "--db", db, "--cache", "memory://")
    try:
        code, doc = srv.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [1, 2, 25, 41, 40]})
        body = doc["body"]
        c.check(f"[{tag}] the service serves the loaded rows",
                code == 200 and body[0] == {"id": 1, "hero": "replaced", "power": "fly, high", "name": "batman",
                                            "xp": 100, "color": "black"}
                and body[1]["name"] == "superman" and body[2] is not None and body[3]["hero"] == 'say "hi"'
                and body[4] is None, f"{doc}")
        code, doc = srv.post({"REQUEST": "write", "SQLS": [{"hero": "n", "power": "p", "name": "n", "xp": 1,
                                                            "color": "c"}]})
        c.check(f"[{tag}] new ids continue after the loaded ones", code == 200 and doc["ids"][0] > 41, f"{doc}")
    finally:
        srv.stop()
    os.unlink(tmp.name)
    rc, out, err = load(binary, "--db", db, "--from", "/nonexistent.csv")
    c.check(f"[{tag}] a missing file: clear message, exit 1", rc == 1 and "no such file" in err, err)


def main():
    a = args()
    c = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        run(c, a.binary, f"sqlite:{tmp}/l.db", "sqlite")
    servers = require_servers()
    if servers is None:
        c.skip("mariadb load", "ROWCACHE_TEST_MYSQL not set")
    else:
        table = unique("e2e_load")
        try:
            run(c, a.binary, f"{servers[0]}?table={table}", "mariadb")
        finally:
            mariadb(f"DROP TABLE IF EXISTS {table}")
    rc, out, err = load(a.binary, "--db", "mysql://rowcache:x@127.0.0.1:1/rowcache", "--from", SAMPLE)
    c.check("database down: clear message, exit 1", rc == 1 and "127.0.0.1:1" in err, err)
    c.finish()


if __name__ == "__main__":
    main()
