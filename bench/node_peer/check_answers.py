"""Checks that the node peer answers exactly as rowcache does: the same reads
sent to both, byte for byte (HTTP status and body), each read twice (the
first may miss the cache, the second hits it), cached and uncached; bad
requests give the same HTTP status (their messages are compared and a
difference is only noted). With --writes, rows written through each are read
back through the other, cached and uncached. Exit 0 when every answer agrees.

    python3 bench/node_peer/check_answers.py --rowcache http://127.0.0.1:8080/ --peer http://127.0.0.1:8091/ [--writes]

The reads assume the table holds data/mp6input.csv's 25 rows as ids 1..25 and no id 1000.
"""
import argparse
import http.client
import json
import sys
import urllib.parse


def diff(x, y):
    """Where two (status, body) answers part, with some context."""
    if x[0] != y[0]:
        return f"HTTP {x[0]} from rowcache, {y[0]} from the peer:\n   rowcache {x[1][:300]}\n   peer     {y[1][:300]}"
    a, b = x[1], y[1]
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
    lo = max(0, i - 100)
    return f"bodies differ at byte {i}:\n   rowcache ...{a[lo:i + 100]}\n   peer     ...{b[lo:i + 100]}"


class Client:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)

    def post(self, body):
        self.conn.request("POST", "/", body=body.encode() if isinstance(body, str) else body)
        r = self.conn.getresponse()
        return r.status, r.read().decode()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rowcache", required=True)
    p.add_argument("--peer", required=True)
    p.add_argument("--writes", action="store_true", help="also write rows (they stay in the table)")
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args()
    rc, peer = Client(a.rowcache), Client(a.peer)
    failed, passed, notes = [], 0, []

    def same(body, label=None, twice=True):
        nonlocal passed
        for attempt in range(2 if twice else 1):
            x, y = rc.post(body), peer.post(body)
            if x != y:
                failed.append(f"{label or body[:80]} (attempt {attempt + 1}): {diff(x, y)}")
                return None
        passed += 1
        return x

    def read(ids, cache=None):
        ev = {"REQUEST": "read", "SQLS": ids}
        if cache is not None:
            ev["USE_CACHE"] = cache
        return json.dumps(ev)

    # Reads, each twice to each server.
    for ids in ([1, 2, 3], [1], [3, 2, 1, 2, 3], [1, 1000, 25], [1000], [], list(range(1, 26)),
                ["7", 8.0, "009"], [25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 1, 1, 1]):
        for cache in (None, "True", "False", "TRUE", "false", True, False):
            same(read(ids, cache))
    same(json.dumps({"REQUEST": "READ", "SQLS": [4, 5], "USE_CACHE": None, "extra": 1}))
    same(read(list(range(1, 1002)), "True"), "a read of 1,001 ids (1..1001)")

    # Bad requests: the same status; the same message where the peer copies rowcache's.
    for body in ('{"REQUEST": "read", "SQLS": ["one"]}', '{"REQUEST": "read", "SQLS": [0]}',
                 '{"REQUEST": "read", "SQLS": [2147483648]}', '{"REQUEST": "read", "SQLS": [1.5]}',
                 '{"REQUEST": "read", "SQLS": [null]}', '{"REQUEST": "read", "SQLS": 3}',
                 '{"REQUEST": "read"}', '{"SQLS": [1]}', '{"REQUEST": 1, "SQLS": [1]}',
                 '{"REQUEST": "fetch", "SQLS": [1]}', '{"REQUEST": "read", "SQLS": [1], "USE_CACHE": "yes"}',
                 '{"REQUEST": "read", "SQLS": [1], "USE_CACHE": 1}', '[1, 2]', '{"REQUEST": "read", "SQLS": [1]',
                 '{"REQUEST": "write", "SQLS": [{"hero": "yes", "power": "x", "name": "n", "color": "c"}]}',
                 '{"REQUEST": "write", "SQLS": [{"hero": "yes", "power": "x", "name": "n", "color": "c", "xp": "ten"}]}',
                 '{"REQUEST": "write", "SQLS": [{"hero": "yes", "power": "x", "name": "n", "color": "c", "xp": 1, "id": 3}]}',
                 '{"REQUEST": "write", "SQLS": [{"hero": "yes", "power": "x", "name": "n", "color": "c", "xp": 1, "z": 3}]}',
                 '{"REQUEST": "write", "SQLS": [{"hero": "123456789012345678901", "power": "x", "name": "n", "color": "c", "xp": 1}]}',
                 '{"REQUEST": "write", "SQLS": [{"hero": 5, "power": "x", "name": "n", "color": "c", "xp": 1}]}',
                 '{"REQUEST": "write", "SQLS": [{"hero": "h", "power": "x", "name": "n", "color": "c", "xp": 2147483648}]}',
                 '{"REQUEST": "write", "SQLS": [7]}'):
        (xs, xb), (ys, yb) = rc.post(body), peer.post(body)
        if xs != ys:
            failed.append(f"{body[:80]}: HTTP {xs} from rowcache, {ys} from the peer:\n   rowcache {xb}\n   peer     {yb}")
        else:
            passed += 1
            if xb != yb:
                notes.append(f"{body[:60]}: same status {xs}, other message:\n   rowcache {xb}\n   peer     {yb}")

    if a.writes:
        rows = [{"hero": "yes", "power": "fire", "name": "fireman", "color": "red", "xp": "10"},
                {"hero": "n\u00f6", "power": 'q"uo\\te', "name": "\u6f22\u5b57\U0001F600", "color": "tab\there", "xp": -2147483648},
                {"hero": "x" * 20, "power": "\u00e9" * 20, "name": "ctl\u0001\u001f\n", "color": "", "xp": 2147483647},
                {"hero": "</script>", "power": "\u2028\u2029", "name": "7", "color": "\u007f", "xp": 7.0}]
        for writer, other in ((peer, rc), (rc, peer)):
            for cache in ("True", "False"):
                body = json.dumps({"REQUEST": "write", "USE_CACHE": cache, "SQLS": rows})
                ws, wb = writer.post(body)
                try:
                    ids = json.loads(wb)["ids"]
                except (ValueError, KeyError, TypeError):
                    failed.append(f"write through the {'peer' if writer is peer else 'rowcache'}: {ws} {wb}")
                    continue
                want = '{"statusCode": 200, "body": "write success", "ids": [' + ", ".join(map(str, ids)) + "]}"
                if ws != 200 or wb != want:
                    failed.append(f"write answer: {ws} {wb}, expected 200 {want}")
                for c in ("True", "False"):
                    same(read(ids + [ids[0], 1000], c), f"read back {ids} (USE_CACHE {c}) after a write "
                         f"(USE_CACHE {cache}) through the {'peer' if writer is peer else 'rowcache'}")
                # the writer's own cached copy against the other's database read
                x, y = writer.post(read(ids, "True")), other.post(read(ids, "False"))
                if x != y:
                    failed.append(f"written rows {ids}: the writer's cached answer differs from the other's uncached one: "
                                  f"{diff(x, y)}")
                else:
                    passed += 1

    for n in notes if not a.quiet else []:
        print(f"note  {n}")
    for f in failed:
        print(f"FAIL  {f}")
    print(f"node peer answers: {passed} passed, {len(failed)} failed"
          f"{f' ({len(notes)} error messages differ, same status)' if notes else ''}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
