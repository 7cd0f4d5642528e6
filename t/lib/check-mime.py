#!/usr/bin/python3
"""Parses a message with Python's email package (an implementation other
than sigil's) and prints what the tests check, one fact a line:

    parts=<n> types=<type,...> subject=<decoded subject> html=<html part>
"""
import sys
from email import message_from_bytes, policy

msg = message_from_bytes(open(sys.argv[1], "rb").read(), policy=policy.default)
parts = [p for p in msg.walk() if not p.is_multipart()]
print("multipart=%s" % msg.is_multipart())
print("parts=%d" % len(parts))
print("types=%s" % ",".join(p.get_content_type() for p in parts))
print("subject=%s" % msg["Subject"])
print("defects=%d" % sum(len(p.defects) for p in msg.walk()))
for p in parts:
    if p.get_content_type() == "text/html":
        print("html=%s" % p.get_content().replace("\n", " "))
