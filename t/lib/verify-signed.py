#!/usr/bin/python3
"""Checks a signed JSON object with python3-signedjson, an implementation
of Matrix signing other than sigil's own.

    verify-signed.py SERVER_NAME KEY_ID PUBLIC_KEY_BASE64 < signed.json

Exits 0 when the signature verifies, 1 (with the reason) when it does not.
"""
import json
import sys

from signedjson.key import decode_verify_key_bytes
from signedjson.sign import SignatureVerifyException, verify_signed_json
from unpaddedbase64 import decode_base64


def main():
    server, key_id, public_key = sys.argv[1:4]
    signed = json.load(sys.stdin)
    verify_key = decode_verify_key_bytes(key_id, decode_base64(public_key))
    try:
        verify_signed_json(signed, server, verify_key)
    except SignatureVerifyException as e:
        print("not verified: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
