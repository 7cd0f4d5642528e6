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
# Counters in slots of 1 s: one whose last slot left its 11-slot window,
# one still in it.
my $slot = int($now / 1000);
psql("INSERT INTO rate_limits VALUES"
    . " ('cleanold', 1000, " . ($slot - 12) . ", 1, array_fill(0::bigint, ARRAY[11]), 1),"
    . " ('cleannew', 1000, " . ($slot - 5) . ", 1, array_fill(0::bigint, ARRAY[11]), 1)");
psql("INSERT INTO accounts VALUES ('\@clean:x', 0) ON CONFLICT DO NOTHING");
psql("INSERT INTO account_tokens VALUES ('cleanold', '\@clean:x', 0, 1),"
    . " ('cleannew', '\@clean:x', 0, NULL),"
    . " ('cleanlater', '\@clean:x', 0, " . ($now + 3600_000) . ")");
psql("INSERT INTO ephemeral_public_keys VALUES ('cleankeyold', 0, 1),"
    . " ('cleankeynew', 0, " . ($now + 3600_000) . "), ('cleankeyheld', 0, 1),"
    . " ('cleankeyforever', 0, NULL)");
psql("INSERT INTO onbind_outbox (id, destination, body, created_ts,"
    . " next_attempt_ts) VALUES (900001, 'x', '{}', 1, " . ($now + 3600_000)
    . "), (900002, 'x', '{}', $now, " . ($now + 3600_000) . ")");
psql("INSERT INTO invites (token, medium, address, room_id, sender,"
    . " ephemeral_public_key, created_ts, expires_ts, outbox_id) VALUES"
    . " ('cleaninvold', 'email', 'a\@x', '!r:x', '\@s:x', 'cleankeyold', 0, 1, NULL),"
    . " ('cleaninvnew', 'email', 'a\@x', '!r:x', '\@s:x', 'cleankeynew', 0, "
    . ($now + 3600_000) . ", NULL),"
    . " ('cleaninvheld', 'email', 'a\@x', '!r:x', '\@s:x', 'cleankeyheld', 0, 1,"
    . " 900002)");

my $out = `deploy/sigil-cleanup 'host=$dir/pgsock dbname=sigil user=sigil' 2>&1`;
is($?, 0, 'sigil-cleanup runs');
like($out, qr/removed \d+ sessions, \d+ rate-limit counters, \d+ expired tokens, \d+ undeliverable onbinds, \d+ expired invites, \d+ ephemeral keys/,
    'and says what it removed');
is(psql("SELECT string_agg(sid, ',' ORDER BY sid) FROM validation_sessions"
    . " WHERE sid LIKE 'clean%'"), 'cleannew', 'the old session went');
is(psql("SELECT string_agg(bucket, ',' ORDER BY bucket) FROM rate_limits"
    . " WHERE bucket LIKE 'clean%'"), 'cleannew', 'the old counter went');
is(psql("SELECT string_agg(token_hash, ',' ORDER BY token_hash) FROM"
    . " account_tokens WHERE token_hash LIKE 'clean%'"),
    'cleanlater,cleannew', 'the expired token went, the others stayed');
is(psql("SELECT string_agg(id::text, ',' ORDER BY id) FROM onbind_outbox"
    . " WHERE id > 900000"), '900002',
    'an onbind queued for 30 days went, a recent one stayed');
is(psql("SELECT string_agg(token, ',' ORDER BY token) FROM invites"
    . " WHERE token LIKE 'clean%'"), 'cleaninvheld,cleaninvnew',
    'the expired invite went; a fresh one and one on its way stayed');
is(psql("SELECT string_agg(public_key, ',' ORDER BY public_key) FROM"
    . " ephemeral_public_keys WHERE public_key LIKE 'cleankey%'"),
    'cleankeyforever,cleankeyheld,cleankeynew',
    'an expired key without an invite went; the others stayed');
# Runs right after it find (almost) nothing, and say only what they
# removed: nothing at all, when nothing went (cron mails what a job
# prints).  Counters of other tests' clients may run out meanwhile.
my ($quiet, @zero);
for (1 .. 10) {
	$out = `deploy/sigil-cleanup 'host=$dir/pgsock dbname=sigil user=sigil' 2>&1`;
	push @zero, $out if $out =~ /(?:^removed |, )0 /;
	if ($out eq '') { $quiet = 1; last }
}
ok($quiet, 'a run that finds nothing says nothing') or diag($out);
is_deeply(\@zero, [], 'and a run names only what it removed');
psql('DELETE FROM onbind_outbox WHERE id > 900000');
psql("DELETE FROM invites WHERE token LIKE 'clean%'");
psql("DELETE FROM ephemeral_public_keys WHERE public_key LIKE 'cleankey%'");

done_testing();
