"""A rogue MySQL server asks the real binary for a local file (/etc/passwd):
only the bulk loader's own LOAD DATA statement may be answered, and only with
the batch it sends from memory. Also: what ssl-mode does with a server that
offers no TLS. The server is a fake (tests/e2e/fake_mysql.py: handshake with
mysql_native_password, text queries, LOCAL INFILE requests); no real database
is needed.

Checks:
- rowcache serve: no serving connection announces CLIENT_LOCAL_FILES; a server
  that answers a query with a LOCAL INFILE request for /etc/passwd (after a
  read request made the service reconnect, and on a write's START
  TRANSACTION) gets an empty packet, never the file;
- the fake is able to see a leak: the mariadb client with --local-infile=1
  against it sends /etc/passwd (control);
- rowcache load: only the loader's connection announces local files; its
  LOAD DATA statement feeds the rows from memory; a request for another file
  in answer to that statement, or for any file in answer to another statement
  on that connection, is refused without sending anything;
- a server without TLS: ssl-mode=VERIFY_IDENTITY stops before authenticating;
  REQUIRED and VERIFY_CA refuse the connection (after the handshake: Connector/C
  3.3 does not stop earlier), and DISABLED connects.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_mysql import FakeMysql  # noqa: E402
from rowcache_e2e import Checks, Server, args  # noqa: E402

SECRET = "/etc/passwd"


def passwd_bytes():
    with open(SECRET, "rb") as f:
        return f.read()


def leaked(srv):
    """(filename, bytes) replies that carried data."""
    return [(f, d) for c in srv.connections for f, d in c.infile_replies if d]


def main():
    a = args()
    c = Checks()
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="rowcache-infile-")
    try:
        # ------------------------------------------------ serve: every connection
        # The first connection (the service's start) is answered normally; after
        # that every query is answered with a request for /etc/passwd, and a
        # prepared statement kills its connection (so a read reconnects).
        def rogue(conn, query):
            if conn.number == 1:
                return None
            return ("infile", SECRET)

        srv = FakeMysql(rogue, password="pw", prepare="kill")
        svc = None
        try:
            db = f"mysql://rowcache:pw@127.0.0.1:{srv.port}/rowcache"
            svc = Server(a.binary, "--db", db, "--cache", "none", "--db-timeout", "3", "--db-pool", "2")
            c.check("serve starts against the fake server", svc.alive())
            status, body = svc.post({"USE_CACHE": "False", "REQUEST": "read", "SQLS": [1]})
            status2, body2 = svc.post({"USE_CACHE": "False", "REQUEST": "write",
                                       "SQLS": [{"hero": "h", "power": "p", "name": "n", "xp": 1, "color": "c"}]})
            asked = [(cn.number, f) for cn in srv.connections for f, _ in cn.infile_replies]
            c.check("the rogue server asked the service for /etc/passwd (on a new connection after a read, "
                    "and on a write)", len(asked) >= 2, f"{asked} read {status} {body} write {status2} {body2}")
            c.check("... and got nothing: every reply to a file request was an empty packet",
                    asked and not leaked(srv), f"{leaked(srv)[:1]}")
            c.check("... the requests failed (503/500), the service stayed up",
                    status >= 500 and status2 >= 500 and svc.alive(), f"{status} {status2}")
            caps = [(cn.number, cn.announced_local_files) for cn in srv.connections if cn.caps is not None]
            c.check("no serving connection announces CLIENT_LOCAL_FILES",
                    caps and not any(x for _, x in caps), f"{caps}")
        finally:
            if svc:
                svc.stop()
            srv.close()

        # -------------------------------------------------- control: a real leak
        mariadb = shutil.which("mariadb") or shutil.which("mysql")
        if mariadb:
            srv = FakeMysql(lambda conn, query: ("infile", SECRET))
            try:
                subprocess.run([mariadb, "--local-infile=1", "--skip-ssl", "-h127.0.0.1", f"-P{srv.port}", "-urowcache",
                                "-ppw", "-e", "SELECT 1"], capture_output=True, timeout=20)
                got = leaked(srv)
                c.check("control: `mariadb --local-infile=1` against the fake sends /etc/passwd (the fake sees a leak)",
                        got and got[0][1] == passwd_bytes(), f"{[(f, len(d)) for f, d in got]}")
            finally:
                srv.close()
        else:
            c.skip("control with the mariadb client", "mariadb not installed")

        # ------------------------------------------------------------ rowcache load
        csv = os.path.join(tmp, "rows.csv")
        with open(csv, "w") as f:
            f.write("id,hero,power,name,xp,color\n")
            for i in range(1, 101):
                f.write(f"{i},yes,fly,name{i},{i},black\n")

        def load(policy):
            srv = FakeMysql(policy)
            try:
                r = subprocess.run([a.binary, "load", "--db", f"mysql://rowcache:pw@127.0.0.1:{srv.port}/rowcache",
                                    "--from", csv, "--quiet"], capture_output=True, text=True, timeout=60)
                return srv, r
            finally:
                srv.close()

        # An honest server: LOAD DATA gets the batch, from memory.
        def honest(conn, query):
            if query.startswith("LOAD DATA LOCAL INFILE 'rowcache-batch'"):
                return ("infile", "rowcache-batch")
            return None

        srv, r = load(honest)
        replies = [(cn.number, f, d) for cn in srv.connections for f, d in cn.infile_replies]
        rows = replies[0][2].decode().splitlines() if replies else []
        c.check("load: LOAD DATA LOCAL sends the batch from memory (100 tab-separated rows) and succeeds",
                r.returncode == 0 and len(replies) == 1 and len(rows) == 100 and rows[0].split("\t")[:2] == ["1", "yes"],
                f"exit {r.returncode} {r.stderr[-300:]} {[(n, f, len(d)) for n, f, d in replies]}")
        announcing = [cn.number for cn in srv.connections if cn.announced_local_files]
        loader_conn = replies[0][0] if replies else None
        c.check("load: only the loader's own connection announces CLIENT_LOCAL_FILES",
                announcing == [loader_conn] and len(srv.connections) >= 2,
                f"announcing {announcing}, loader {loader_conn}, connections {len(srv.connections)}")

        # LOAD DATA answered with a request for another file.
        def other_file(conn, query):
            if query.startswith("LOAD DATA"):
                return ("infile", SECRET)
            return None

        srv, r = load(other_file)
        asked = [f for cn in srv.connections for f, _ in cn.infile_replies]
        c.check("load: a request for /etc/passwd in answer to the loader's LOAD DATA is refused, nothing sent",
                asked == [SECRET] and not leaked(srv), f"{asked} {leaked(srv)[:1]}")
        c.check("... and the load fails saying so",
                r.returncode != 0 and "refused" in r.stderr and SECRET in r.stderr, f"exit {r.returncode} {r.stderr[-400:]}")

        # The loader's connection asked for a file outside its LOAD DATA statement.
        def outside(conn, query):
            if conn.announced_local_files and not query.startswith("LOAD DATA"):
                return ("infile", SECRET)
            return honest(conn, query)

        srv, r = load(outside)
        asked = [(cn.number, f) for cn in srv.connections for f, _ in cn.infile_replies]
        c.check("load: a request for /etc/passwd on the loader's connection outside its LOAD DATA is refused",
                asked and all(f == SECRET for _, f in asked) and not leaked(srv) and r.returncode != 0,
                f"{asked} {leaked(srv)[:1]} exit {r.returncode} {r.stderr[-300:]}")

        # ------------------------------------------------ ssl-mode, server without TLS
        ca = os.path.join(tmp, "ca.pem")
        subprocess.run(["openssl", "req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-days", "2", "-subj", "/CN=rowcache fake CA",
                        "-keyout", os.path.join(tmp, "ca.key"), "-out", ca], check=True, capture_output=True)
        for mode, q in [("VERIFY_IDENTITY", f"ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
                        ("VERIFY_CA", f"ssl-mode=VERIFY_CA&ssl-ca={ca}"), ("REQUIRED", "ssl-mode=REQUIRED"),
                        ("DISABLED", "ssl-mode=DISABLED")]:
            srv = FakeMysql(honest)
            try:
                r = subprocess.run([a.binary, "load", "--db",
                                    f"mysql://rowcache:pw@127.0.0.1:{srv.port}/rowcache?{q}",
                                    "--from", csv, "--quiet"], capture_output=True, text=True, timeout=60)
                conns = srv.connections
                authed = [cn.number for cn in conns if cn.user is not None]
                if mode == "DISABLED":
                    c.check("ssl-mode=DISABLED: connects to a server without TLS", r.returncode == 0,
                            f"exit {r.returncode} {r.stderr[-300:]}")
                elif mode == "VERIFY_IDENTITY":
                    c.check("ssl-mode=VERIFY_IDENTITY, server without TLS: refused before authenticating",
                            r.returncode != 0 and not authed and "SSL is required" in r.stderr,
                            f"exit {r.returncode} authed {authed} {r.stderr[-300:]}")
                else:
                    c.check(f"ssl-mode={mode}, server without TLS: refused (after the handshake; Connector/C 3.3)",
                            r.returncode != 0 and "did not use TLS" in r.stderr and
                            all(not cn.queries for cn in conns),
                            f"exit {r.returncode} {[cn.queries for cn in conns]} {r.stderr[-300:]}")
            finally:
                srv.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"time  {time.time() - t0:.1f} s")
    c.finish()


if __name__ == "__main__":
    main()
