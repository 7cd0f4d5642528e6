# deploy/sigil-import-sydent on a SQLite database the test builds with
# sydent's schema: a dry run changes nothing, the import brings bindings
# (found by v1 and v2 lookups under sydent's pepper), pending invites and
# their ephemeral keys (sign-ed25519 works for them), accounts whose
# sydent tokens keep working with their accepted terms, and the signing
# key; a second run imports nothing twice.
use strict;
use warnings;
use lib 't/lib';
use Digest::SHA qw(sha256);
use MIME::Base64;
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $conn = "host=$dir/pgsock dbname=sigil user=sigil";
my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';
my $s = "$dir/sydent";
mkdir $s;
my $now = time * 1000;

# An ephemeral key sydent handed out, and sydent's signing key: seeds and
# public keys made by PyNaCl, not by sigil.
sub keypair {
	my $out = `/usr/bin/python3 -c 'import nacl.signing, base64
k = nacl.signing.SigningKey.generate()
e = lambda b, f: f(b).decode().rstrip("=")
print(e(bytes(k), base64.urlsafe_b64encode), e(bytes(k.verify_key), base64.urlsafe_b64encode), e(bytes(k), base64.b64encode), e(bytes(k.verify_key), base64.b64encode))'`;
	return split ' ', $out;
}
my ($eph_seed, $eph_pub) = keypair();
my (undef, undef, $server_seed, $server_pub) = keypair();

# sydent's schema (its db/*.sql and migrations, PRAGMA user_version 5).
my $sql = <<SQL;
CREATE TABLE local_threepid_associations (id integer primary key autoincrement,
    medium varchar(16) not null, address varchar(256) not null,
    lookup_hash varchar, mxid varchar(256), ts integer not null,
    notBefore bigint not null, notAfter bigint);
CREATE UNIQUE INDEX medium_address on local_threepid_associations(medium, address);
CREATE TABLE hashing_metadata (id integer primary key, lookup_pepper varchar(256));
CREATE TABLE invite_tokens (id integer primary key, medium varchar(16) not null,
    address varchar(256) not null, room_id varchar(256) not null,
    sender varchar(256) not null, token varchar(256) not null,
    received_ts bigint, sent_ts bigint);
CREATE TABLE ephemeral_public_keys (id integer primary key,
    public_key varchar(256) not null, verify_count bigint default 0,
    persistence_ts bigint);
CREATE TABLE accounts (user_id text not null primary key,
    created_ts bigint not null, consent_version text);
CREATE TABLE tokens (token text not null primary key, user_id text not null);
CREATE TABLE accepted_terms_urls (user_id text not null, url text not null);
PRAGMA user_version = 5;
INSERT INTO local_threepid_associations (medium, address, mxid, ts, notBefore, notAfter)
    VALUES ('email', 'imported\@example.org', '\@imp:example.org', $now, $now, NULL),
    ('email', 'gone\@example.org', NULL, $now, $now, NULL),
    ('msisdn', '447700900123', '\@phone:example.org', $now, $now, $now + 1000000),
    ('email', 'Stra\x{df}e\@XN--BCHER-KVA.Example', '\@imp2:example.org', $now, $now, NULL),
    ('email', '"quoted"\@example.org', '\@quoted:example.org', $now, $now, NULL);
INSERT INTO hashing_metadata VALUES (0, 'sydentpepper123');
INSERT INTO invite_tokens (medium, address, room_id, sender, token, received_ts, sent_ts)
    VALUES ('email', 'invited\@example.org', '!r:example.org', '\@host:example.org',
        'sydentinvitetoken', $now, NULL),
    ('email', 'a\@[127.0.0.1]', '!r:example.org', '\@host:example.org',
        'sydentliteraltoken', $now, NULL),
    ('email', 'done\@example.org', '!r:example.org', '\@host:example.org',
        'sydentsenttoken', $now, 1);
INSERT INTO ephemeral_public_keys (public_key, persistence_ts)
    VALUES ('$eph_pub', ${\ int(time)});
INSERT INTO accounts VALUES ('\@sy:example.org', $now, NULL);
INSERT INTO tokens VALUES ('sydenttoken123', '\@sy:example.org');
INSERT INTO accepted_terms_urls VALUES
    ('\@sy:example.org', 'https://terms.example.org/privacy-1.0-en.html'),
    ('\@sy:example.org', 'https://terms.example.org/tos-2.0-en.html'),
    ('\@sy:example.org', 'https://old.example.org/tos-1.0.html');
SQL
open(my $fh, '|-', 'sqlite3', "$s/sydent.db") or die;
binmode($fh, ':utf8');
print $fh $sql;
close $fh or die 'sqlite3 failed';
# The configuration in the shape sydent writes itself when it makes its
# key: every default in [DEFAULT], an empty signing key among them, and
# the key later under [crypto].
open($fh, '>', "$s/sydent.conf") or die;
print $fh "[DEFAULT]\nserver.name = \nlog.path = \n"
    . "ed25519.signingkey = \nprometheus_port = \n\n"
    . "[general]\nserver.name = localhost\n\n[db]\ndb.file = sydent.db\n\n"
    . "[crypto]\n; sydent's own\nEd25519.SigningKey: ed25519 0 $server_seed\n";
close $fh;
open($fh, '>', "$s/nokey.conf") or die;
print $fh "[DEFAULT]\ned25519.signingkey = ed25519 0 $server_seed\n"
    . "[crypto]\ned25519.signingkey =\n";
close $fh;
my $nokey = `deploy/sigil-import-sydent -n -c $s/nokey.conf $s/sydent.db '$conn' 2>&1`;
isnt($?, 0, 'an empty key under [crypto] wins over [DEFAULT]: refused');
like($nokey, qr/no "ed25519.signingkey = .*" in \[crypto\]/, 'and says so');

my $import = "deploy/sigil-import-sydent -c $s/sydent.conf -k $s/signing.key"
    . " -t t/data/terms.json";
my $bindings = psql('SELECT count(*) FROM bindings');
my $pepper = psql('SELECT pepper FROM lookup_pepper');
# The dry run as a role that may read sigil's tables but not write them:
# it must not need to (an insert rolled back would leave dead rows).
system('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d',
    "host=$dir/pgsock dbname=sigil user=postgres", '-c',
    'CREATE ROLE sigil_reader LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA '
    . 'public TO sigil_reader') == 0 or BAIL_OUT('cannot make a reader role');
my $out = `$import -n $s/sydent.db 'host=$dir/pgsock dbname=sigil user=sigil_reader' 2>&1`;
is($?, 0, 'a dry run, by a role that cannot write: it writes nothing')
    or diag($out);
like($out, qr/would import: 1 pepper, 3 bindings, 1 ephemeral keys, 1 pending invites, 1 accounts, 1 tokens, 2 accepted terms \(of 4 sydent bindings, 2 pending invites, 1 keys, 1 accounts, 1 tokens, 3 accepted URLs\)/,
    'counts what it would import');
like($out, qr/^not imported: 2 rows whose email address sigil refuses/m,
    'and what it would not: a quoted local part, an address literal');
is(psql('SELECT count(*) FROM bindings'), $bindings, 'and imports nothing');
like($out, qr/would write the signing key ed25519:0 /,
    'it finds the key under [crypto]');
is(psql('SELECT pepper FROM lookup_pepper'), $pepper, 'nor the pepper');
ok(!-e "$s/signing.key", 'nor writes the key');

$out = `$import $s/sydent.db '$conn' 2>&1`;
is($?, 0, 'the import') or diag($out);
ok(wait_for(sub { psql("SELECT last_analyze IS NOT NULL FROM "
    . "pg_stat_user_tables WHERE relname = 'bindings'") eq 't' }, 30),
    'the import analyzed the tables it filled');
like($out, qr/imported: 1 pepper, 3 bindings, 1 ephemeral keys, 1 pending invites, 1 accounts, 1 tokens, 2 accepted terms/,
    'says what it imported');
like($out, qr/^signing_key = \Q$s\E\/signing.key$/m, 'and the key\'s config lines');
like($out, qr/^signing_key_id = ed25519:0$/m, 'with its id');
is(sprintf('%o', (stat "$s/signing.key")[2] & 0777), '600', 'the key file is 0600');

# Bindings, under sydent's pepper.
my $r = get("$v1/lookup?medium=email&address=Imported%40Example.org");
is($r->{json}{mxid}, '@imp:example.org', 'v1 lookup finds an imported binding');
is(psql("SELECT address FROM bindings WHERE mxid = '\@imp2:example.org'"),
    "strasse\@b\xc3\xbccher.example",
    'in the canonical form of the workers (folded, IDNA domain in Unicode)');
is(get("$v1/lookup?medium=email&address=strasse%40b%C3%BCcher.example")
    ->{json}{mxid}, '@imp2:example.org', 'which v1 lookup finds');
is(psql("SELECT count(*) FROM bindings WHERE mxid = '\@quoted:example.org'")
    . psql("SELECT count(*) FROM invites WHERE token = 'sydentliteraltoken'"),
    '00', 'a quoted local part and an address literal are not imported');
is(get("$v1/lookup?medium=email&address=gone%40example.org")->{content}, '{}',
    'a sydent tombstone is not a binding');
my $auth = { Authorization => 'Bearer sydenttoken123' };
$r = get("$v2/hash_details", $auth);
is($r->{status}, 200, 'a sydent token works, its terms accepted')
    or diag($r->{content});
is($r->{json}{lookup_pepper}, 'sydentpepper123', 'the pepper is sydent\'s');
my $hash = encode_base64(sha256('447700900123 msisdn sydentpepper123'), '')
    =~ tr{+/}{-_}r =~ s/=+$//r;
$r = post("$v2/lookup", { algorithm => 'sha256', pepper => 'sydentpepper123',
    addresses => [$hash] }, $auth);
is($r->{json}{mappings}{$hash}, '@phone:example.org',
    'a hash computed as clients of sydent computed it is found');
is(get("$v2/account", $auth)->{json}{user_id}, '@sy:example.org',
    'the account is sydent\'s user');

# The pending invite and its key.
is(get("$v2/pubkey/ephemeral/isvalid?public_key=$eph_pub")->{content},
    '{"valid":true}', 'the ephemeral key is valid');
$r = post("$v1/sign-ed25519", { mxid => '@new:example.org',
    token => 'sydentinvitetoken', private_key => $eph_seed });
is($r->{status}, 200, 'sign-ed25519 for an imported invite') or diag($r->{content});
ok(verify_signed($r->{content}, 'localhost', 'ed25519:0', $eph_pub),
    'signed with the key sydent handed out');
is_error(post("$v1/sign-ed25519", { mxid => '@new:example.org',
    token => 'sydentinvitetoken', private_key => 'A' x 43 }), 400,
    'M_INVALID_PARAM', 'but not with a key sydent never handed out');
is_error(post("$v1/sign-ed25519", { mxid => '@new:example.org',
    token => 'sydentsenttoken', private_key => $eph_seed }), 404,
    'M_UNRECOGNIZED', 'an invite sydent delivered is not imported');

# The signing key loads and is sydent's.
open($fh, '<', "$dir/sigil.conf") or die;
my $conf = join '', grep { !/^signing_key/ && !/^(old|revoked)_key/ } <$fh>;
my $w = start_worker('pubkey', $conf . "signing_key = $s/signing.key\n"
    . "signing_key_id = ed25519:0\n");
$r = fcgi_request($w, 'GET', "$v2/pubkey/ed25519:0");
is($r->{json}{public_key}, $server_pub, 'sigil serves sydent\'s public key');
stop_worker($w);

# Again: nothing twice.
$out = `$import $s/sydent.db '$conn' 2>&1`;
like($out, qr/imported: 0 pepper, 0 bindings, 0 ephemeral keys, 0 pending invites, 0 accounts, 0 tokens, 0 accepted terms/,
    'a second run imports nothing twice');
$out = `deploy/sigil-import-sydent $s/nosuch.db '$conn' 2>&1`;
isnt($?, 0, 'a missing database: an error');

done_testing();
