# deploy/sigil-cleanup removes what has expired and nothing else.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $now = time * 1000;
psql("INSERT INTO validation_sessions (sid, medium, address,"
    . " client_secret_hash, token, created_ts, modified_ts) VALUES"
    . " ('cleanold', 'email', 'old\@example.org', 'h1', 't', 0, "
    . ($now - 25 * 3600_000) . "),"
    . " ('cleannew', 'email', 'new\@example.org', 'h2', 't', 0, $now)");
psql("INSERT INTO rate_limits VALUES ('cleanold', 0, 1),"
    . " ('cleannew', $now, 1)");
psql("INSERT INTO accounts VALUES ('\@clean:x', 0) ON CONFLICT DO NOTHING");
psql("INSERT INTO account_tokens VALUES ('cleanold', '\@clean:x', 0, 1),"
    . " ('cleannew', '\@clean:x', 0, NULL),"
    . " ('cleanlater', '\@clean:x', 0, " . ($now + 3600_000) . ")");

my $out = `deploy/sigil-cleanup 'host=$dir/pgsock dbname=sigil user=sigil' 2>&1`;
is($?, 0, 'sigil-cleanup runs');
like($out, qr/removed \d+ sessions, \d+ rate-limit counters, \d+ expired tokens/,
    'and says what it removed');
is(psql("SELECT string_agg(sid, ',' ORDER BY sid) FROM validation_sessions"
    . " WHERE sid LIKE 'clean%'"), 'cleannew', 'the old session went');
is(psql("SELECT string_agg(bucket, ',' ORDER BY bucket) FROM rate_limits"
    . " WHERE bucket LIKE 'clean%'"), 'cleannew', 'the old counter went');
is(psql("SELECT string_agg(token_hash, ',' ORDER BY token_hash) FROM"
    . " account_tokens WHERE token_hash LIKE 'clean%'"),
    'cleanlater,cleannew', 'the expired token went, the others stayed');
$out = `deploy/sigil-cleanup 'host=$dir/pgsock dbname=sigil user=sigil' 2>&1`;
like($out, qr/removed 0 sessions, 0 rate-limit counters, 0 expired tokens/,
    'a second run finds nothing');

done_testing();
