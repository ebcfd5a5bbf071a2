"""End-to-end: `rowcache load` on hostile CSV files. A 64 MB line of commas
and a 64 MB line without a line end are each one bad row and the loader's
peak RSS stays within 64 MiB of a small load's; a UTF-8 byte-order mark
does not spoil the first row; bad rows are printed escaped (no terminal
escapes reach stderr) and bounded; an id that leaves no room for the next
AUTO_INCREMENT (2147483647) is a bad row, so later writes still get ids
(SQLite and MariaDB)."""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from rowcache_e2e import Checks, Server, args, mariadb, proc_status_kib, require_servers, unique  # noqa: E402

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "data", "mp6input.csv")
HUGE = 64 * 1000 * 1000  # a 64 MB line
SLACK_KIB = 64 * 1024    # peak RSS allowed above a small load's


def vm_hwm_kib(pid):
    """The process's peak RSS so far (VmHWM), or None once it has exited."""
    return proc_status_kib(pid, "VmHWM")


def load(binary, *flags):
    """(exit code, stdout, stderr bytes, peak RSS in KiB) of one `rowcache load`. The peak is the
    process's own VmHWM, polled every 2 ms until it exits (VmHWM only grows, so the last reading
    is within 2 ms of the end; a loader that grows with its input is seen growing)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen([binary, "load", *flags], stdout=out, stderr=err)
        peak = 0
        while p.poll() is None:
            peak = max(peak, vm_hwm_kib(p.pid) or 0)
            time.sleep(0.002)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read().decode(errors="replace"), err.read(), peak


def write(path, *parts):
    """Writes the parts to path; a part may be (byte, count) for count copies of byte, written in
    1 MiB pieces so that this script stays small."""
    with open(path, "wb") as f:
        for part in parts:
            if isinstance(part, tuple):
                piece, count = part
                block = piece * (1 << 20)
                for _ in range(count >> 20):
                    f.write(block)
                f.write(piece * (count & ((1 << 20) - 1)))
            else:
                f.write(part)
    return path


def bounds(c, binary, tmp):
    db = f"sqlite:{tmp}/bounds.db"
    rc, out, err, base = load(binary, "--db", db, "--from", SAMPLE)
    c.check("a small load works (baseline)", rc == 0 and "25 new" in out, out + err.decode(errors="replace"))
    print(f"      baseline peak RSS {base // 1024} MiB")
    commas = write(f"{tmp}/commas.csv", b"101,a,b,c,1,d\n", (b",", HUGE), b"\n102,a,b,c,2,d\n")
    rc, out, err, peak = load(binary, "--db", db, "--from", commas)
    print(f"      64 MB line of commas: peak RSS {peak // 1024} MiB")
    c.check("a 64 MB line of commas is one bad row; the rows around it load",
            rc == 0 and b"line 2: record longer than 65536 bytes" in err and "2 new" in out
            and "1 bad rows" in out, out + err.decode(errors="replace")[:500])
    c.check("... and the loader's peak RSS stays within 64 MiB of a small load's",
            peak <= base + SLACK_KIB, f"peak {peak} KiB, baseline {base} KiB")
    endless = write(f"{tmp}/endless.csv", b"103,a,b,c,1,d\n", (b"x", HUGE))
    rc, out, err, peak = load(binary, "--db", db, "--from", endless)
    print(f"      64 MB line without a line end: peak RSS {peak // 1024} MiB")
    c.check("a 64 MB last line without a line end is one bad row",
            rc == 0 and b"line 2: record longer than 65536 bytes" in err and "1 new" in out,
            out + err.decode(errors="replace")[:500])
    c.check("... and the peak RSS stays within 64 MiB of a small load's", peak <= base + SLACK_KIB,
            f"peak {peak} KiB, baseline {base} KiB")
    fields = write(f"{tmp}/fields.csv", b"104" + b",x" * 100 + b"\n105,a,b,c,1,d\n")
    rc, out, err, _ = load(binary, "--db", db, "--from", fields)
    c.check("a record of 101 fields is a bad row (more than 64 fields)",
            rc == 0 and b"line 1: more than 64 fields" in err and "1 new" in out,
            out + err.decode(errors="replace"))
    rc, out, err, peak = load(binary, "--db", db, "--from", commas, "--strict")
    c.check("--strict: the 64 MB line stops the load, within the same memory",
            rc == 1 and b"nothing loaded" in err and b"line 2: record longer" in err and peak <= base + SLACK_KIB,
            f"rc {rc} peak {peak} KiB " + err.decode(errors="replace")[:300])


def escaping(c, binary, tmp):
    db = f"sqlite:{tmp}/escape.db"
    hostile = write(f"{tmp}/hostile.csv",
                    b"\x1b]0;owned\x07\x1b[2J" + b"A" * 5000 + b",a,b,c,1,d\n"
                    b"7,a,b,c,\x9b31m\xff\x1b[31m,d\n8,a,b,c,1,d\n")
    rc, out, err, _ = load(binary, "--db", db, "--from", hostile)
    lines = [line for line in err.split(b"\n") if line.startswith(b"bad row:")]
    c.check("bad rows are reported and the good row loads", rc == 0 and len(lines) == 2 and "1 new" in out,
            out + repr(err))
    c.check("no control byte or invalid UTF-8 reaches stderr",
            not any((b < 0x20 and b != 0x0a) or b == 0x7f for b in err) and _utf8(err), repr(err))
    c.check("the bytes are shown escaped as \\xNN",
            b"id: '\\x1b]0;owned\\x07\\x1b[2JAAA" in err and b"xp: '\\x9b31m\\xff\\x1b[31m'" in err, repr(err))
    c.check("each bad-row line is bounded", all(len(line) < 300 for line in lines), repr(lines))


def _utf8(data):
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def bom_and_ids(c, binary, db, tag, tmp):
    bom = write(f"{tmp}/bom.csv", b"\xef\xbb\xbfid,hero,power,name,xp,color\r\n1,yes,fly,batman,100,black\r\n")
    rc, out, err, _ = load(binary, "--db", db, "--from", bom)
    c.check(f"[{tag}] a byte-order mark before the header: the header is recognised, the row loads",
            rc == 0 and "1 new" in out and "0 bad rows" in out, out + err.decode(errors="replace"))
    bom = write(f"{tmp}/bom2.csv", b"\xef\xbb\xbf2,yes,run,superman,10,red\n")
    rc, out, err, _ = load(binary, "--db", db, "--from", bom)
    c.check(f"[{tag}] a byte-order mark before the first row: that row loads",
            rc == 0 and "1 new" in out and "0 bad rows" in out, out + err.decode(errors="replace"))
    ids = write(f"{tmp}/ids.csv", b"2147483647,max,b,c,1,d\n3,a,b,c,1,d\n")
    rc, out, err, _ = load(binary, "--db", db, "--from", ids)
    c.check(f"[{tag}] id 2147483647 is a bad row that says why; the other row loads",
            rc == 0 and b"line 1: id: 2147483647 leaves no room for the ids the database assigns" in err
            and "1 new" in out and "1 bad rows" in out, out + err.decode(errors="replace"))
    rc, out, err, _ = load(binary, "--db", db, "--from", ids, "--strict")
    c.check(f"[{tag}] --strict refuses the whole file", rc == 1 and b"leaves no room" in err,
            out + err.decode(errors="replace"))
    srv = Server(binary, "--db", db, "--cache", "memory://")
    try:
        new = {"hero": "n", "power": "p", "name": "n", "xp": 1, "color": "c"}
        code, doc = srv.post({"REQUEST": "write", "SQLS": [new]})
        c.check(f"[{tag}] after that load a write of a new row still gets an id",
                code == 200 and 3 < doc["ids"][0] < 2147483647, f"{code} {doc}")
        code, doc = srv.post({"USE_CACHE": "False", "REQUEST": "read", "SQLS": [1, 2, 2147483647]})
        body = doc.get("body") if isinstance(doc, dict) else None
        c.check(f"[{tag}] the byte-order-mark rows are served; id 2147483647 is absent",
                code == 200 and isinstance(body, list) and len(body) == 3 and (body[0] or {}).get("hero") == "yes"
                and (body[1] or {}).get("name") == "superman" and body[2] is None, f"{code} {doc}")
    finally:
        srv.stop()
    top = write(f"{tmp}/top.csv", b"2147483646,top,b,c,1,d\n")
    rc, out, err, _ = load(binary, "--db", db, "--from", top)
    c.check(f"[{tag}] id 2147483646 (the highest accepted) loads", rc == 0 and "1 new" in out,
            out + err.decode(errors="replace"))


def main():
    a = args()
    c = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        bounds(c, a.binary, tmp)
        escaping(c, a.binary, tmp)
        bom_and_ids(c, a.binary, f"sqlite:{tmp}/ids.db", "sqlite", tmp)
        servers = require_servers()
        if servers is None:
            c.skip("mariadb: byte-order mark and ids", "ROWCACHE_TEST_MYSQL not set")
        else:
            table = unique("e2e_loader_bounds")
            try:
                bom_and_ids(c, a.binary, f"{servers[0]}?table={table}", "mariadb", tmp)
            finally:
                mariadb(f"DROP TABLE IF EXISTS {table}")
    c.finish()


if __name__ == "__main__":
    main()
