#!/usr/bin/python3
"""An SMS gateway double for sigil's tests: HTTPS on loopback with a
certificate from the test CA.  It keeps each message it accepts as
DIR/<n>.json ({"gateway", "to", "from", "text"}) and answers:

  POST /webhook                 the generic JSON webhook; a Bearer token
                                must match --token when given
  POST /2010-04-01/Accounts/<account>/Messages.json
                                Twilio's API; basic auth <account>:--token

A "to" number ending in 999 gets a 500 (a gateway failure).

    sms-double.py --port P --cert C --key K --dir DIR --token T
"""
import argparse
import base64
import json
import os
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("sms-double: %s\n" % (fmt % args))

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def keep(self, gateway, to, sender, text):
        if to.endswith("999"):
            return self.answer(500, {"error": "gateway failure"})
        self.server.count += 1
        path = os.path.join(self.server.dir, "%d.json" % self.server.count)
        with open(path + ".tmp", "w") as f:
            json.dump({"gateway": gateway, "to": to, "from": sender,
                       "text": text}, f)
        os.rename(path + ".tmp", path)
        return self.answer(201 if gateway == "twilio" else 200,
                           {"sid": "SM%d" % self.server.count})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        auth = self.headers.get("Authorization", "")
        token = self.server.token
        if self.path == "/webhook":
            if token and auth != "Bearer " + token:
                return self.answer(401, {"error": "bad token"})
            msg = json.loads(body)
            return self.keep("webhook", msg["to"], msg["from"], msg["text"])
        parts = self.path.split("/")
        if (len(parts) == 5 and parts[1] == "2010-04-01"
                and parts[2] == "Accounts" and parts[4] == "Messages.json"):
            want = "Basic " + base64.b64encode(
                ("%s:%s" % (parts[3], token)).encode()).decode()
            if auth != want:
                return self.answer(401, {"code": 20003})
            form = parse_qs(body.decode())
            return self.keep("twilio", form["To"][0], form["From"][0],
                             form["Body"][0])
        return self.answer(404, {"error": "not here"})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--token", default="")
    args = p.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    httpd.dir = args.dir
    httpd.token = args.token
    httpd.count = 0
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
