#!/usr/bin/python3
"""A homeserver double for sigil's tests: HTTPS on loopback with a
certificate from the test CA, answering what an identity server asks a
homeserver.  What it answers depends on the OpenID token asked about:

  good-<localpart>@<server>  200 {"sub": "@<localpart>:<server>"}
  unknown                    401 M_UNKNOWN_TOKEN
  nosub                      200 {}
  500                        500
  garbage                    200 with a body that is not JSON
  big                        200 with 6 KiB of JSON
  endless                    200 with a body that never ends
  slow                       answers after 10 s
  redirect-blocked           302 to https://127.0.0.2:<port>/...
  redirect-loop              302 to itself, for ever
  redirect-<token>           302 to the same server with <token>

POST /_matrix/federation/v1/3pid/onbind appends the body, one JSON line,
to --onbind-log after --onbind-delay seconds and answers 200 {}; with
--onbind-fail N it answers 500 to the first N.

/.well-known/matrix/server answers {"m.server": <--delegate>}.
/_matrix/key/v2/server answers the double's key (ed25519:hs1, seed from
--key-seed), signed by itself under --server-name; asked under a Host of
127.0.0.1 it answers garbage instead (a broken key server).

With --stall it completes TLS on every connection and then says nothing
(for 60 s), whatever is asked.  With --trickle it answers 200 with its
headers and then one byte of the body every 0.3 s (for 60 s): fast
enough for any low-speed limit, so only a total deadline ends it.  With
--conn-log FILE it appends a line to FILE for every connection it
accepts (after the TLS handshake).

    homeserver-double.py --port P --cert C --key K [--delegate NAME]
        [--well-known-port 443] [--server-name NAME --key-seed FILE]
        [--onbind-log FILE [--onbind-delay SECONDS] [--onbind-fail N]]
        [--stall | --trickle] [--conn-log FILE]
"""
import argparse
import base64
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlparse


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle(self):
        if self.server.stall:
            time.sleep(60)
            return None
        if self.server.trickle:
            try:
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: "
                                 b"application/json\r\nContent-Length: "
                                 b"1000\r\n\r\n")
                self.wfile.flush()
                for _ in range(200):
                    time.sleep(0.3)
                    self.wfile.write(b"a")
                    self.wfile.flush()
            except OSError:
                pass
            return None
        return super().handle()

    def log_message(self, fmt, *args):
        sys.stderr.write("double: %s %s\n" % (self.address_string(), fmt % args))

    def send_json(self, status, obj=None, raw=None):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path == "/.well-known/matrix/server":
            return self.send_json(200, {"m.server": self.server.delegate})
        if url.path == "/_matrix/key/v2/server":
            return self.server_keys()
        if url.path == "/_matrix/federation/v1/openid/userinfo":
            return self.userinfo(url.path, query.get("access_token", [""])[0])
        return self.send_json(404, {"errcode": "M_UNRECOGNIZED",
                                    "error": "not here"})

    def do_POST(self):
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if url.path != "/_matrix/federation/v1/3pid/onbind" or \
                not self.server.onbind_log:
            return self.send_json(404, {"errcode": "M_UNRECOGNIZED",
                                        "error": "not here"})
        with self.server.lock:
            if self.server.onbind_fail > 0:
                self.server.onbind_fail -= 1
                return self.send_json(500, {"errcode": "M_UNKNOWN"})
        time.sleep(self.server.onbind_delay)
        obj = json.loads(body)
        with self.server.lock, open(self.server.onbind_log, "a") as f:
            f.write(json.dumps(obj, sort_keys=True) + "\n")
        return self.send_json(200, {})

    def server_keys(self):
        from signedjson.key import decode_signing_key_base64, encode_verify_key_base64
        from signedjson.sign import sign_json
        if self.headers.get("Host", "").startswith("127.0.0.1"):
            return self.send_json(200, raw=b'{"server_name": 5, "verify_keys": "x"}')
        key = decode_signing_key_base64("ed25519", "hs1", self.server.seed)
        doc = {
            "server_name": self.server.server_name,
            "valid_until_ts": int(time.time() * 1000) + 3600 * 1000,
            "verify_keys": {"ed25519:hs1": {
                "key": encode_verify_key_base64(key.verify_key)}},
            "old_verify_keys": {},
        }
        return self.send_json(200, sign_json(doc, self.server.server_name, key))

    def userinfo(self, path, token):
        port = self.server.server_address[1]
        if token.startswith("good-") and "@" in token:
            local, server = token[5:].split("@", 1)
            return self.send_json(200, {"sub": "@%s:%s" % (local, server)})
        if token == "unknown":
            return self.send_json(401, {"errcode": "M_UNKNOWN_TOKEN",
                                        "error": "unknown token"})
        if token == "nosub":
            return self.send_json(200, {})
        if token == "500":
            return self.send_json(500, {"errcode": "M_UNKNOWN"})
        if token == "garbage":
            return self.send_json(200, raw=b"this is not json {")
        if token == "big":
            return self.send_json(200, {"sub": "@big:x", "pad": "x" * 6144})
        if token == "endless":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            deadline = time.time() + 30
            try:
                self.wfile.write(b'{"sub": "')
                while time.time() < deadline:
                    self.wfile.write(b"a" * 1024)
            except OSError:
                pass
            self.close_connection = True
            return None
        if token == "slow":
            time.sleep(10)
            return self.send_json(200, {"sub": "@slow:localhost"})
        if token == "redirect-blocked":
            return self.redirect("https://127.0.0.2:%d%s?access_token=x"
                                 % (port, path))
        if token == "redirect-loop":
            return self.redirect("https://localhost:%d%s?access_token=%s"
                                 % (port, path, token))
        if token.startswith("redirect-"):
            return self.redirect("https://localhost:%d%s?access_token=%s"
                                 % (port, path, quote(token[9:])))
        return self.send_json(401, {"errcode": "M_UNKNOWN_TOKEN",
                                    "error": "unknown token"})


class Server(ThreadingHTTPServer):
    def process_request(self, request, client_address):
        if self.conn_log:
            with self.lock, open(self.conn_log, "a") as f:
                f.write("%s:%d\n" % client_address[:2])
        return super().process_request(request, client_address)


def serve(port, args):
    httpd = Server(("127.0.0.1", port), Handler)
    httpd.stall = args.stall
    httpd.trickle = args.trickle
    httpd.conn_log = args.conn_log
    httpd.daemon_threads = True
    httpd.delegate = args.delegate
    httpd.server_name = args.server_name
    httpd.seed = args.seed
    httpd.onbind_log = args.onbind_log
    httpd.onbind_delay = args.onbind_delay
    httpd.onbind_fail = args.onbind_fail
    httpd.lock = threading.Lock()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    return httpd


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--delegate", default="")
    p.add_argument("--well-known-port", type=int, default=0)
    p.add_argument("--server-name", default="")
    p.add_argument("--key-seed", default="")
    p.add_argument("--onbind-log", default="")
    p.add_argument("--onbind-delay", type=float, default=0)
    p.add_argument("--onbind-fail", type=int, default=0)
    p.add_argument("--stall", action="store_true")
    p.add_argument("--trickle", action="store_true")
    p.add_argument("--conn-log", default="")
    args = p.parse_args()
    args.seed = ""
    if args.key_seed:
        with open(args.key_seed) as f:
            args.seed = f.read().strip().rstrip("=")
    servers = [serve(args.port, args)]
    if args.well_known_port:
        try:
            servers.append(serve(args.well_known_port, args))
        except OSError as e:
            sys.stderr.write("double: no well-known port: %s\n" % e)
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
