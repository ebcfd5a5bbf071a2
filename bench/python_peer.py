"""A careful, straightforward Python implementation of the same API, kept only
as a peer for benchmarks: ThreadingHTTPServer, one pymysql and one redis-py
connection per thread (pooled), one MGET for the cache, one IN query for the
misses, pipelined fills, write-through, parameters bound (no SQL injection).

    /usr/bin/python3 bench/python_peer.py --port 8090 --mysql-port 13306 --redis-port 16379 --table heroes
"""
import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pymysql
import redis

ARGS = None
LOCAL = threading.local()
FIELDS = ("id", "hero", "power", "name", "xp", "color")


def conns():
    if not hasattr(LOCAL, "db"):
        LOCAL.db = pymysql.connect(host="127.0.0.1", port=ARGS.mysql_port, user="rowcache", password="rowcache",
                                   database="rowcache", charset="utf8mb4", autocommit=True)
        LOCAL.r = redis.Redis(host="127.0.0.1", port=ARGS.redis_port)
    return LOCAL.db, LOCAL.r


def key(i):
    return f"{ARGS.prefix}{i}"


def handle(event):
    db, r = conns()
    use_cache = str(event.get("USE_CACHE", "True")).lower() == "true"
    sqls = event["SQLS"]
    if event["REQUEST"] == "read":
        ids = [int(i) for i in sqls]
        found = {}
        if use_cache and ids:
            for i, v in zip(ids, r.mget([key(i) for i in ids])):
                if v is not None:
                    found[i] = json.loads(v)
        missing = sorted({i for i in ids if i not in found})
        if missing:
            with db.cursor() as cur:
                cur.execute(f"SELECT id, hero, power, name, xp, color FROM {ARGS.table} WHERE id IN "
                            f"({', '.join(['%s'] * len(missing))})", missing)
                rows = [dict(zip(FIELDS, row)) for row in cur.fetchall()]
            if use_cache and rows:
                p = r.pipeline(transaction=False)
                for row in rows:
                    p.set(key(row["id"]), json.dumps(row), ex=300)
                p.execute()
            for row in rows:
                found[row["id"]] = row
        return {"statusCode": 200, "body": [found.get(i) for i in ids]}
    ids = []
    db.begin()
    try:
        with db.cursor() as cur:
            for row in sqls:
                cur.execute(f"INSERT INTO {ARGS.table} (hero, power, name, xp, color) VALUES (%s, %s, %s, %s, %s)",
                            (row["hero"], row["power"], row["name"], int(row["xp"]), row["color"]))
                ids.append(cur.lastrowid)
        db.commit()
    except Exception:
        db.rollback()
        raise
    if use_cache:
        p = r.pipeline(transaction=False)
        for i, row in zip(ids, sqls):
            p.set(key(i), json.dumps(dict(row, id=i, xp=int(row["xp"]))), ex=300)
        p.execute()
    return {"statusCode": 200, "body": "write success", "ids": ids}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle plus
    # delayed ACKs add 40 ms to every keep-alive response.
    disable_nagle_algorithm = True

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        try:
            out = handle(json.loads(self.rfile.read(n)))
            code = 200
        except Exception as e:  # the peer is for benchmarks; errors are plain 400s
            out, code = {"statusCode": 400, "body": {"error": str(e)}}, 400
        data = json.dumps(out).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=8090)
    p.add_argument("--mysql-port", type=int, default=13306)
    p.add_argument("--redis-port", type=int, default=16379)
    p.add_argument("--table", default="heroes")
    p.add_argument("--prefix", default="peer:heroes:")
    ARGS = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    print(f"python peer listening on http://127.0.0.1:{srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
