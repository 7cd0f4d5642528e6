#!/usr/bin/python3
# make bench: what one plain-CGI request costs a shared host, measured on
# the program itself without a web server: N processes, each started with
# the request in its environment (and body on stdin) as Apache's mod_cgi
# starts it, their CPU time (user + system, from the children's rusage)
# and wall time per request, medians of five batches.
#
#   cgi-cost.py PROGRAM CONFIG N METHOD PATH [QUERY [BODY-FORMAT]]
#
# BODY-FORMAT may hold {i}, the request's number (fresh client secrets).
import os
import resource
import statistics
import subprocess
import sys
import time

prog, conf, n, method, path = sys.argv[1:6]
query = sys.argv[6] if len(sys.argv) > 6 else ''
body_fmt = sys.argv[7] if len(sys.argv) > 7 else None
n = int(n)


def one(i):
    body = body_fmt.format(i=i).encode() if body_fmt else b''
    env = {'REQUEST_METHOD': method, 'REDIRECT_URL': path,
           'SCRIPT_NAME': '/sigil/' + os.path.basename(prog) + '.cgi',
           'QUERY_STRING': query, 'REMOTE_ADDR': '127.0.0.1',
           'CONTENT_LENGTH': str(len(body)), 'SIGIL_CONFIG': conf,
           'GATEWAY_INTERFACE': 'CGI/1.1', 'SERVER_PROTOCOL': 'HTTP/1.1'}
    if body:
        env['CONTENT_TYPE'] = 'application/json'
    r = subprocess.run([prog], env=env, input=body, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, check=False)
    if not r.stdout.startswith(b'Status: 2'):
        sys.exit('cgi-cost: %s answered %r' % (path, r.stdout[:200]))


cpu, wall = [], []
i = 0
for batch in range(5):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    for _ in range(n):
        i += 1
        one(i)
    t1 = time.monotonic()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu.append((after.ru_utime + after.ru_stime - before.ru_utime -
                before.ru_stime) * 1000 / n)
    wall.append((t1 - t0) * 1000 / n)
print('%.2f %.2f' % (statistics.median(cpu), statistics.median(wall)))
