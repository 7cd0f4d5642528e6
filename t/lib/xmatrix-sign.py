#!/usr/bin/python3
"""Signs a request to an identity server the way a homeserver signs its
3pid/unbind: with python3-signedjson (what Synapse signs with, not
sigil's code) over {method, uri, origin, destination_is, content}, the
identity server's name under "destination_is" and no "destination", and
prints two lines: the Authorization header value

    X-Matrix origin="<origin>",key="ed25519:<version>",sig="<sig>",destination="<is>"

and the body as the homeserver sends it (canonical JSON).

    xmatrix-sign.py ORIGIN SEED_FILE KEY_VERSION METHOD URI IS_NAME < content.json

SEED_FILE holds the base64 Ed25519 seed (padded or not).
"""
import json
import sys

from canonicaljson import encode_canonical_json
from signedjson.key import decode_signing_key_base64
from signedjson.sign import sign_json


def main():
    origin, seed_file, version, method, uri, is_name = sys.argv[1:7]
    with open(seed_file) as f:
        seed = f.read().strip().rstrip("=")
    key = decode_signing_key_base64("ed25519", version, seed)
    content = json.load(sys.stdin)
    request = {
        "method": method,
        "uri": uri,
        "origin": origin,
        "destination_is": is_name,
        "content": content,
    }
    request = sign_json(request, origin, key)
    for key_id, sig in request["signatures"][origin].items():
        print('X-Matrix origin="%s",key="%s",sig="%s",destination="%s"'
              % (origin, key_id, sig, is_name))
    print(encode_canonical_json(content).decode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
