# deploy/sigil-import-sydent on a sydent installation made the way
# sydent's own code makes it (t/lib/make-sydent-db: its schema through
# every migration, each row with its store class's statement and units,
# its config file as sydent rewrites it).  What each row means after the
# import: a dry run changes nothing; bindings answer v1 lookups with the
# mxid, ts, not_before and not_after sydent answers, tombstones are not
# bindings; a pending invite is signable by sign-ed25519 and delivered on
# bind; sydent's tokens work with their accepted terms, logged-out ones
# do not; the key file is owned by the workers' user.  Then the
# cut-over: sydent goes on changing things, a second run brings exactly
# those changes (and leaves what sigil did itself), a third brings
# nothing.
use strict;
use warnings;
use lib 't/lib';
use Digest::SHA qw(sha256);
use JSON::PP;
use MIME::Base64;
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $conn = "host=$dir/pgsock dbname=sigil user=sigil";
my $hs = $ENV{SIGIL_TEST_HS};
my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';
my $s = "$dir/sydent";
my $json = JSON::PP->new->canonical;

sub sydent {
	my $out = `t/lib/make-sydent-db $s $_[0]`;
	$? == 0 or BAIL_OUT("make-sydent-db $_[0] failed");
	return decode_json($out);
}
my $sy = sydent('start');

# The key file's directory belongs to the workers' user.
my ($nobody, $nogroup) = (getpwnam('nobody'))[2, 3];
my $daemon = (getpwnam('daemon'))[2];
mkdir "$s/keys" or die;
chown $nobody, $nogroup, "$s/keys" or die;

# The config as sydent wrote it: every default in [DEFAULT], among them
# an empty signing key and server name; the real ones in their sections.
my $conf_text = slurp("$s/sydent.conf");
like($conf_text, qr/^\[DEFAULT\]\n(?:.*\n)*?ed25519\.signingkey = \n/m,
    'sydent.conf is as sydent writes it: an empty key in [DEFAULT]');
like($conf_text, qr/^\[crypto\]\ned25519\.signingkey = ed25519 0 \S+$/m,
    'and the real one under [crypto]');
spew("$s/nokey.conf", $conf_text =~ s/^(\[crypto\]\ned25519\.signingkey =).*$/$1/mr
    =~ s/^(\[DEFAULT\]\n)/$1ed25519.signingkey = ed25519 0 AAAA\n/mr);
my $nokey = `deploy/sigil-import-sydent -n -c $s/nokey.conf $s/sydent.db '$conn' 2>&1`;
isnt($?, 0, 'an empty key under [crypto] wins over [DEFAULT]: refused');
like($nokey, qr/no "ed25519.signingkey = .*" in \[crypto\]/, 'and says so');
my $out = `deploy/sigil-import-sydent -c $s/sydent.conf -k $s/keys/k -u nosuchuser $s/sydent.db '$conn' 2>&1`;
isnt($?, 0, '-u with an unknown user: refused');
ok(!-e "$s/keys/k", 'before anything is written');

# sydent's terms file, converted: what the stack serves (t/data/terms.json).
my $terms = `deploy/sigil-terms-from-sydent t/data/sydent-terms.yaml`;
is($?, 0, 'sydent\'s terms YAML converts');
spew("$s/terms.json", $terms);
is_deeply(decode_json($terms), decode_json(slurp('t/data/terms.json')),
    'to the terms_file sigil serves');
spew("$s/bad-terms.yaml", "master_version: '1'\ndocs:\n  tos:\n"
    . "    version: '1'\n    langs:\n      en: {name: ToS}\n");
like(`deploy/sigil-terms-from-sydent $s/bad-terms.yaml 2>&1`,
    qr/lang en of tos needs a name and a url/,
    'a lang without its url: refused, as sydent refuses it');

my $import = "deploy/sigil-import-sydent -c $s/sydent.conf"
    . " -k $s/keys/signing.key -t $s/terms.json";
my $bindings = psql('SELECT count(*) FROM bindings');
my $pepper = psql('SELECT pepper FROM lookup_pepper');
# The dry run as a role that may read sigil's tables but not write them:
# it must not need to (an insert rolled back would leave dead rows).
system('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d',
    "host=$dir/pgsock dbname=sigil user=postgres", '-c',
    'CREATE ROLE sigil_reader LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA '
    . 'public TO sigil_reader') == 0 or BAIL_OUT('cannot make a reader role');
$out = `$import -n $s/sydent.db 'host=$dir/pgsock dbname=sigil user=sigil_reader' 2>&1`;
is($?, 0, 'a dry run, by a role that cannot write: it writes nothing')
    or diag($out);
# 8 bindings: the quoted local part is refused, "gone" is a tombstone,
# "rebound" is one binding (the newer); 3 pending invites: the sent one
# and the delivered (deleted) one are not pending, the address literal
# is refused; 6 keys, one per invite ever stored; 2 tokens, the
# logged-out one is gone; 2 of the 3 URLs are current terms.
like($out, qr/would import: 1 pepper, 0 bindings rebound, 0 bindings unbound, 8 bindings, 6 ephemeral keys, 3 pending invites, 0 invites sydent delivered, 2 accounts, 2 tokens, 0 tokens logged out, 2 accepted terms \(sydent has 8 bindings, 4 pending invites, 6 keys, 2 accounts, 2 tokens, 3 accepted URLs\)/,
    'counts what it would import') or diag($out);
like($out, qr/^not imported: 2 rows whose email address sigil refuses/m,
    'and what it would not: a quoted local part, an address literal');
is(psql('SELECT count(*) FROM bindings'), $bindings, 'and imports nothing');
like($out, qr/would write the signing key ed25519:0 /,
    'it finds the key under [crypto]');
like($out, qr/^sydent's server name: localhost$/m,
    'and the server name under [general]');
is(psql('SELECT pepper FROM lookup_pepper'), $pepper, 'nor the pepper');
ok(!-e "$s/keys/signing.key", 'nor writes the key');

# A first import (sydent has more than twice the bindings sigil has)
# drops the indexes of bindings other than its primary key and makes
# them again after the insert: all of them, as they were.
my $indexes_sql = "SELECT string_agg(indexdef, '; ' ORDER BY indexname)"
    . " FROM pg_indexes WHERE tablename = 'bindings'";
my $indexes = psql($indexes_sql);
$out = `$import $s/sydent.db '$conn' 2>&1`;
is($?, 0, 'the import') or diag($out);
is(psql($indexes_sql), $indexes,
    'the indexes of bindings are all there after it, as they were');
ok(wait_for(sub { psql("SELECT last_analyze IS NOT NULL FROM "
    . "pg_stat_user_tables WHERE relname = 'bindings'") eq 't' }, 30),
    'the import analyzed the tables it filled');
like($out, qr/imported: 1 pepper, 0 bindings rebound, 0 bindings unbound, 8 bindings, 6 ephemeral keys, 3 pending invites, 0 invites sydent delivered, 2 accounts, 2 tokens, 0 tokens logged out, 2 accepted terms/,
    'says what it imported') or diag($out);
like($out, qr/^server_name = localhost$/m, 'the config lines: the server name');
like($out, qr/^signing_key = \Q$s\E\/keys\/signing.key$/m, 'the key');
like($out, qr/^signing_key_id = ed25519:0$/m, 'with its id');
my @st = stat "$s/keys/signing.key";
is(sprintf('%o', $st[2] & 0777), '600', 'the key file is 0600');
is("$st[4]:$st[5]", "$nobody:$nogroup",
    'owned by the owner of its directory (not root)');
is_deeply([glob("$s/keys/.sigil-key*")], [], 'no temporary file left');

# Each binding answers v1 lookups as sydent's lookup answered it: the
# same mxid, ts, not_before and not_after (all in ms).
sub same_as_sydent {
	my ($medium, $address, $sydent, $what) = @_;
	my $r = get("$v1/lookup?medium=$medium&address="
	    . ($address =~ s/([^A-Za-z0-9.\-_])/sprintf('%%%02X', ord $1)/ger));
	if (!defined $sydent) {
		is($r->{content}, '{}', "$what: no binding, as in sydent");
		return;
	}
	is_deeply({ map { $_ => $r->{json}{$_} } qw(mxid ts not_before not_after) },
	    { map { $_ => $sydent->{$_} } qw(mxid ts not_before not_after) },
	    "$what: mxid, ts, not_before, not_after as sydent answers them");
}
for my $k (sort keys %{ $sy->{answers} }) {
	my ($medium, $address) = split / /, $k;
	same_as_sydent($medium, $address, $sy->{answers}{$k}, $k);
}
same_as_sydent('email', 'MIXED.case@example.org',
    $sy->{answers}{'email Mixed.Case@Example.ORG'},
    'a mixed-case address an old sydent left, in another case');
is(psql("SELECT address FROM bindings WHERE mxid = '\@imp2:example.org'"),
    "strasse\@b\xc3\xbccher.example",
    'in the canonical form of the workers (folded, IDNA domain in Unicode)');
is(psql("SELECT count(*) FROM bindings WHERE mxid = '\@quoted:example.org'")
    . psql("SELECT count(*) FROM invites WHERE token = '$sy->{literal_invite}{token}'"),
    '00', 'a quoted local part and an address literal are not imported');
is(psql("SELECT count(*) FROM bindings WHERE address = 'gone\@example.org'"),
    0, 'a sydent tombstone is not a binding');

# Accounts, tokens, terms.
my $auth = { Authorization => "Bearer $sy->{token}" };
my $r = get("$v2/hash_details", $auth);
is($r->{status}, 200, 'a sydent token works, its terms accepted')
    or diag($r->{content});
is($r->{json}{lookup_pepper}, $sy->{pepper}, 'the pepper is sydent\'s');
is_error(get("$v2/hash_details", { Authorization => "Bearer $sy->{token2}" }),
    403, 'M_TERMS_NOT_SIGNED', 'another\'s token works, its terms not accepted');
my $hash = encode_base64(sha256("447700900123 msisdn $sy->{pepper}"), '')
    =~ tr{+/}{-_}r =~ s/=+$//r;
$r = post("$v2/lookup", { algorithm => 'sha256', pepper => $sy->{pepper},
    addresses => [$hash] }, $auth);
is($r->{json}{mappings}{$hash}, '@phone:example.org',
    'a hash computed as clients of sydent computed it is found');
is(get("$v2/account", $auth)->{json}{user_id}, '@sy:example.org',
    'the account is sydent\'s user');

# The pending invite: its times were seconds in sydent.
my $inv = $sy->{invite};
ok(psql("SELECT abs(created_ts - extract(epoch FROM now()) * 1000) < 600000"
    . " AND expires_ts - created_ts = 2592000000 FROM invites"
    . " WHERE token = '$inv->{token}'") eq 't',
    'an imported invite was made now, not in 1970 (received_ts in seconds)');
is(psql("SELECT address FROM invites WHERE token = '$sy->{old_invite}{token}'"),
    'old.invite@example.org', 'an old sydent\'s mixed-case invite, folded');
is(get("$v2/pubkey/ephemeral/isvalid?public_key=$inv->{public_key}")->{content},
    '{"valid":true}', 'the ephemeral key is valid');
$r = post("$v1/sign-ed25519", { mxid => "\@new:$hs",
    token => $inv->{token}, private_key => $inv->{private_key} });
is($r->{status}, 200, 'sign-ed25519 for an imported invite') or diag($r->{content});
ok(verify_signed($r->{content}, 'localhost', 'ed25519:0', $inv->{public_key}),
    'signed with the key sydent handed out');
is_error(post("$v1/sign-ed25519", { mxid => "\@new:$hs",
    token => $inv->{token}, private_key => 'A' x 43 }), 400,
    'M_INVALID_PARAM', 'but not with a key sydent never handed out');
for my $t (qw(sent_invite delivered_invite)) {
	is_error(post("$v1/sign-ed25519", { mxid => "\@new:$hs",
	    token => $sy->{$t}{token}, private_key => $sy->{$t}{private_key} }),
	    404, 'M_UNRECOGNIZED', "an invite sydent sent is not pending ($t)");
}

# Delivered on bind, to the homeserver double.
my $log = "$dir/onbind.log";
# (the lines in a list first: "() = split" would count at most one)
my $before = my @lines = split /\n/, slurp($log);
my $sid = validated_session('Invited@Example.org', 'import1');
$r = post("$v1/3pid/bind", { sid => $sid, client_secret => 'import1',
    mxid => "\@new:$hs" });
is($r->{status}, 200, 'a bind of the invited address') or diag($r->{content});
ok(wait_for(sub { deliver_onbind(); (@lines = split /\n/, slurp($log)) > $before }, 30),
    'an onbind reaches the homeserver');
my $body = decode_json((split /\n/, slurp($log))[-1]);
is_deeply([map { $_->{token} } @{ $body->{invites} }], [$inv->{token}],
    'carrying the imported invite');
ok(verify_signed($json->encode($body->{invites}[0]{signed}), 'localhost',
    conf_value('signing_key_id'), get("$v2/pubkey/" . conf_value('signing_key_id'))
    ->{json}{public_key}), 'its signed part verifies');

# The signing key loads and is sydent's.
open(my $fh, '<', "$dir/sigil.conf") or die;
my $conf = join '', grep { !/^signing_key/ && !/^(old|revoked)_key/ } <$fh>;
close $fh;
my $w = start_worker('pubkey', $conf . "signing_key = $s/keys/signing.key\n"
    . "signing_key_id = ed25519:0\n");
$r = fcgi_request($w, 'GET', "$v2/pubkey/ed25519:0");
is($r->{json}{public_key}, $sy->{server_pub}, 'sigil serves sydent\'s public key');
stop_worker($w);

# The cut-over: sigil binds an address itself; sydent, still running,
# binds, unbinds, rebinds, delivers an invite, stores one, logs a token
# out, registers someone.  The second run brings exactly that.
$sid = validated_session('rebound@example.org', 'import2');
post("$v1/3pid/bind", { sid => $sid, client_secret => 'import2',
    mxid => "\@mine:$hs" });
my $later = sydent('later');
$out = `$import -u daemon $s/sydent.db '$conn' 2>&1`;
is($?, 0, 'the second run') or diag($out);
like($out, qr/imported: 0 pepper, 1 bindings rebound, 1 bindings unbound, 1 bindings, 1 ephemeral keys, 1 pending invites, 1 invites sydent delivered, 1 accounts, 1 tokens, 1 tokens logged out, 0 accepted terms/,
    'brings only what changed since') or diag($out);
for my $k (sort keys %{ $later->{answers} }) {
	next if $k eq 'email rebound@example.org';
	my ($medium, $address) = split / /, $k;
	same_as_sydent($medium, $address, $later->{answers}{$k}, "then $k");
}
is(get("$v1/lookup?medium=email&address=rebound%40example.org")->{json}{mxid},
    "\@mine:$hs", 'what sigil bound itself stays');
is(psql("SELECT delivered_ts IS NOT NULL AND outbox_id IS NULL FROM invites"
    . " WHERE token = '$sy->{later_invite}{token}'"), 't',
    'an invite sydent delivered meanwhile is marked delivered');
is_error(get("$v2/account", { Authorization => "Bearer $sy->{token2}" }), 401,
    'M_UNAUTHORIZED', 'a token logged out in sydent meanwhile is gone');
is_error(get("$v2/account", { Authorization => "Bearer $later->{token3}" }),
    403, 'M_TERMS_NOT_SIGNED', 'a new one works (no terms accepted yet)');
is(psql("SELECT address FROM invites WHERE token = '$later->{new_invite}{token}'"),
    'new.invite@example.org', 'a new invite came');
@st = stat "$s/keys/signing.key";
is("$st[4]:$st[2]", "$daemon:" . (0100600), 'with -u the key file is that user\'s, 0600');

# Again: nothing twice.
$out = `$import $s/sydent.db '$conn' 2>&1`;
like($out, qr/imported: 0 pepper, 0 bindings rebound, 0 bindings unbound, 0 bindings, 0 ephemeral keys, 0 pending invites, 0 invites sydent delivered, 0 accounts, 0 tokens, 0 tokens logged out, 0 accepted terms/,
    'a third run imports nothing') or diag($out);
$out = `deploy/sigil-import-sydent $s/nosuch.db '$conn' 2>&1`;
isnt($?, 0, 'a missing database: an error');

done_testing();
