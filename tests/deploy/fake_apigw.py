"""A stand-in for the stack's API (ApiAuth AWS_IAM) for deploy/load.sh --via api:
it verifies each request's Signature V4 (service execute-api, an independent
implementation of the algorithm: canonical request, string to sign, derived
key) and the session token, then answers as the function would for an empty
table: a read with null for every id, a write with the next ids (1, 2, 3...).

    python3 fake_apigw.py ACCESS_KEY SECRET_KEY REGION TOKEN LOG
prints "PORT" on its first line, serves until killed; appends one line per
request to LOG: "ok <signed headers>" or "refused <why>".
"""
import hashlib
import hmac
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCESS, SECRET, REGION, TOKEN, LOG = sys.argv[1:6]
next_id = [1]


def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def check(method, path, headers, body):
    """None if the request is signed right, else why not."""
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return f"no SigV4 authorization: {auth!r}"
    fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    access, date8, region, service, term = fields["Credential"].split("/")
    if (access, region, service, term) != (ACCESS, REGION, "execute-api", "aws4_request"):
        return f"credential scope {fields['Credential']}"
    signed = fields["SignedHeaders"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return f"host or x-amz-date not signed: {signed}"
    if headers.get("x-amz-security-token") != TOKEN:
        return "no or a wrong x-amz-security-token"
    url = urllib.parse.urlsplit(path)
    query = "&".join(sorted(url.query.split("&"))) if url.query else ""
    canonical = "\n".join([
        method, urllib.parse.quote(url.path, safe="/~"), query,
        "".join(f"{h}:{' '.join(headers[h].split())}\n" for h in signed), ";".join(signed),
        hashlib.sha256(body).hexdigest()])
    amz_date = headers["x-amz-date"]
    scope = f"{date8}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = sign(sign(sign(sign(("AWS4" + SECRET).encode(), date8), region), service), "aws4_request")
    if hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest() != fields["Signature"]:
        return "signature does not match"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, doc):
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {k.lower(): v for k, v in self.headers.items()}
        why = check("POST", self.path, headers, body)
        with open(LOG, "a") as log:
            signed = headers.get("authorization", "").split("SignedHeaders=")[-1].split(",")[0]
            log.write(f"refused {why}\n" if why else f"ok {signed}\n")
        if why:
            return self.send(403, {"message": why})
        req = json.loads(body)
        if req.get("REQUEST") == "read":
            return self.send(200, {"statusCode": 200, "body": [None] * len(req["SQLS"])})
        ids = list(range(next_id[0], next_id[0] + len(req["SQLS"])))
        next_id[0] += len(ids)
        self.send(200, {"statusCode": 200, "body": "write success", "ids": ids})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
