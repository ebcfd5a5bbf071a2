#!/usr/bin/env python3
"""The served table is read from the database and checked at start: serve,
load (and the Lambda, through the same OpenBackends) refuse with exit 2 and
one line naming table and column a table rowcache cannot serve -- no primary
key, a FLOAT key, a prefix-indexed key, a cascade child (unless
--allow-cascade-children), and, in this version, any table not shaped as
heroes. Real MariaDB and SQLite, the real binary."""
import os
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from rowcache_e2e import Checks, Server, args, mariadb, require_servers, unique  # noqa: E402

HEROES_COLUMNS = ("id INT AUTO_INCREMENT PRIMARY KEY, hero VARCHAR(20) NOT NULL, power VARCHAR(20) NOT NULL, "
                  "name VARCHAR(20) NOT NULL, xp INT NOT NULL, color VARCHAR(20) NOT NULL")


def start_fails(c, name, binary, db, want, *flags):
    """serve --db db must exit 2 at start with one stderr line containing want."""
    p = subprocess.run([binary, "serve", "--listen", "127.0.0.1:0", "--db", db, "--cache", "none", *flags],
                       capture_output=True, text=True, timeout=60)
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    c.check(f"{name}: serve exits 2", p.returncode == 2, f"rc={p.returncode} stderr={p.stderr!r}")
    c.check(f"{name}: one line naming it", len(lines) == 1 and want in lines[0], repr(p.stderr))


def main():
    a = args()
    c = Checks()
    servers = require_servers()
    if servers is None:
        c.skip("served table", "ROWCACHE_TEST_MYSQL not set")
        return c.finish()
    mysql_url = servers[0]
    made = []

    def table(tag, ddl):
        name = unique(tag)
        mariadb(ddl.format(t=name))
        made.insert(0, name)
        return name

    try:
        orders = table("orders", "CREATE TABLE {t} (tenant INT, code VARCHAR(16), total DECIMAL(12,2), "
                                 "placed DATETIME(3), PRIMARY KEY (tenant, code))")
        start_fails(c, "another shape", a.binary, f"{mysql_url}?table={orders}",
                    f"table {orders}: 4 columns; this version serves only tables shaped as heroes")
        nokey = table("nokey", "CREATE TABLE {t} (id INT, hero VARCHAR(20))")
        start_fails(c, "no primary key", a.binary, f"{mysql_url}?table={nokey}", f"table {nokey}: no primary key")
        floatkey = table("floatkey", "CREATE TABLE {t} (id DOUBLE PRIMARY KEY, v INT)")
        start_fails(c, "float key", a.binary, f"{mysql_url}?table={floatkey}",
                    f"table {floatkey}: column id: a FLOAT or DOUBLE column cannot be part of the primary key")
        prefix = table("prefix", "CREATE TABLE {t} (code VARCHAR(40) NOT NULL, v INT, PRIMARY KEY (code(10)))")
        start_fails(c, "prefix key", a.binary, f"{mysql_url}?table={prefix}",
                    f"table {prefix}: column code: the primary key holds only a prefix")
        wrongtype = table("wrongtype", "CREATE TABLE {t} (" + HEROES_COLUMNS.replace("xp INT", "xp VARCHAR(5)") + ")")
        start_fails(c, "a column of another type", a.binary, f"{mysql_url}?table={wrongtype}",
                    f"table {wrongtype}: column xp varchar(5) where heroes has xp int")

        parent = table("parent", "CREATE TABLE {t} (id INT PRIMARY KEY)")
        child = table("child", "CREATE TABLE {t} (" + HEROES_COLUMNS + ", parent INT, "
                               f"FOREIGN KEY (parent) REFERENCES {parent}(id) ON DELETE CASCADE)")
        # A cascade child is refused by its foreign key before its shape is looked at.
        start_fails(c, "cascade child", a.binary, f"{mysql_url}?table={child}",
                    f"table {child}: its rows change by ON UPDATE/DELETE CASCADE from table {parent}")
        # With --allow-cascade-children it passes that check (and is then refused for its extra column).
        start_fails(c, "cascade child allowed", a.binary, f"{mysql_url}?table={child}",
                    f"table {child}: 7 columns", "--allow-cascade-children")
        child2 = table("child2", "CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, hero VARCHAR(20) NOT NULL, "
                                 "power VARCHAR(20) NOT NULL, name VARCHAR(20) NOT NULL, xp INT NOT NULL, "
                                 f"color VARCHAR(20) NOT NULL, FOREIGN KEY (xp) REFERENCES {parent}(id) "
                                 "ON UPDATE CASCADE)")
        start_fails(c, "heroes-shaped cascade child", a.binary, f"{mysql_url}?table={child2}", "CASCADE")
        mariadb(f"INSERT INTO {parent} VALUES (5)")
        srv = Server(a.binary, "--db", f"{mysql_url}?table={child2}", "--cache", "none", "--allow-cascade-children")
        try:
            st, body = srv.post({"REQUEST": "write", "SQLS": [{"hero": "h", "power": "p", "name": "n", "xp": 5,
                                                               "color": "c"}]})
            c.check("cascade child served with --allow-cascade-children", st == 200, body)
        finally:
            srv.stop()

        # A heroes-shaped table of the user's (not created by rowcache) is served as before.
        mine = table("mine", "CREATE TABLE {t} (" + HEROES_COLUMNS.replace("VARCHAR(20)", "VARCHAR(30)") + ")")
        srv = Server(a.binary, "--db", f"{mysql_url}?table={mine}", "--cache", "none")
        try:
            st, body = srv.post({"REQUEST": "read", "SQLS": [1]})
            c.check("a wider heroes-shaped table is served", st == 200 and body["body"] == [None], body)
        finally:
            srv.stop()

        # load checks the same way.
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
            f.write("1,yes,fly,batman,100,black\n")
            csv = f.name
        p = subprocess.run([a.binary, "load", "--db", f"{mysql_url}?table={orders}", "--from", csv],
                           capture_output=True, text=True, timeout=60)
        os.unlink(csv)
        c.check("load refuses another shape with exit 2", p.returncode == 2 and orders in p.stderr,
                f"rc={p.returncode} {p.stderr!r}")
        c.check("load wrote nothing", mariadb(f"SELECT COUNT(*) FROM {orders}").strip() == "0")
    finally:
        for t in made:
            mariadb(f"DROP TABLE IF EXISTS {t}")

    # SQLite: the same checks on its own schema.
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "user.db")
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE events (at TEXT, what TEXT)")
        db.execute("CREATE TABLE heroes (id INTEGER PRIMARY KEY, hero TEXT NOT NULL, power TEXT NOT NULL, "
                   "name TEXT NOT NULL, xp INTEGER NOT NULL, color TEXT NOT NULL)")
        db.commit()
        db.close()
        start_fails(c, "sqlite: no primary key", a.binary, f"sqlite:{path}?table=events",
                    "table events: no primary key")
        srv = Server(a.binary, "--db", f"sqlite:{path}", "--cache", "none")
        try:
            st, body = srv.post({"REQUEST": "write", "SQLS": [{"hero": "h", "power": "p", "name": "n", "xp": 1,
                                                               "color": "c"}]})
            c.check("sqlite: a user's heroes table is served", st == 200 and body.get("ids") == [1], body)
        finally:
            srv.stop()
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
