# Bindings and lookups through the real stack: bind on v1 and v2, the
# signed association checked by python3-signedjson against /pubkey, v1
# lookup and bulk_lookup, v2 hash_details and lookup (sha256 with the
# spec's vectors, and none), canonical addresses, caps, a stale pepper,
# and pepper rotation while lookups run.
use strict;
use warnings;
use lib 't/lib';
use Digest::SHA qw(sha256);
use MIME::Base64;
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';
my $conn = "host=$dir/pgsock dbname=sigil user=sigil";
my $key_id = conf_value('signing_key_id');
my $pub = get("$v2/pubkey/$key_id")->{json}{public_key};
my $n = 0;

sub validated {
	my ($email) = @_;
	my $secret = 'bind' . ++$n;
	return (validated_session($email, $secret), $secret);
}
sub hash_of {
	my ($address, $medium, $pepper) = @_;
	return encode_base64(sha256("$address $medium $pepper"), '')
	    =~ tr{+/}{-_}r =~ s/=+$//r;
}

# The spec's vectors, checked with Perl's own SHA-256 first.
is(hash_of('alice@example.com', 'email', 'matrixrocks'),
    '4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZUc', 'spec vector 1');
is(hash_of('bob@example.com', 'email', 'matrixrocks'),
    'LJwSazmv46n0hlMlsb_iYxI0_HXEqy_yj6Jm636cdT8', 'spec vector 2');
is(hash_of('18005552067', 'msisdn', 'matrixrocks'),
    'nlo35_T5fzSGZzJApqu8lgIudJvmOQtDaHtr-I4rU7I', 'spec vector 3');

# Bind on v1.
my ($sid, $secret) = validated('Alice@Example.COM');
my $r = post("$v1/3pid/bind",
    { sid => $sid, client_secret => $secret, mxid => '@alice:example.org' });
is($r->{status}, 200, 'v1 bind') or diag($r->{content});
is_deeply([sort keys %{ $r->{json} }], [qw(address medium mxid not_after
    not_before signatures ts)], 'the association has exactly its seven fields');
is($r->{json}{address}, 'alice@example.com', 'the canonical address');
ok(verify_signed($r->{content}, 'localhost', $key_id, $pub),
    'its signature verifies with python3-signedjson and /pubkey');

# Bind errors.
is_error(post("$v1/3pid/bind", { sid => 'nosuch', client_secret => $secret,
    mxid => '@alice:example.org' }), 404, 'M_NO_VALID_SESSION',
    'an unknown sid: 404 M_NO_VALID_SESSION');
is_error(post("$v1/3pid/bind", { sid => $sid, client_secret => 'wrong',
    mxid => '@alice:example.org' }), 404, 'M_NO_VALID_SESSION',
    'a wrong client_secret: 404 M_NO_VALID_SESSION');
is_error(post("$v1/3pid/bind", { sid => $sid, client_secret => $secret,
    mxid => 'alice' }), 400, 'M_INVALID_PARAM', 'a bad mxid: 400');
$r = post("$v1/validate/email/requestToken",
    { client_secret => 'unval', email => 'unval@example.org', send_attempt => 1 });
is_error(post("$v1/3pid/bind", { sid => $r->{json}{sid}, client_secret => 'unval',
    mxid => '@u:example.org' }), 400, 'M_SESSION_NOT_VALIDATED',
    'an unvalidated session: 400 M_SESSION_NOT_VALIDATED');
my ($osid, $osecret) = validated('old@example.org');
psql("UPDATE validation_sessions SET modified_ts = modified_ts - 25 * 3600000"
    . " WHERE sid = '$osid'");
is_error(post("$v1/3pid/bind", { sid => $osid, client_secret => $osecret,
    mxid => '@o:example.org' }), 400, 'M_SESSION_EXPIRED',
    'an expired session: 400 M_SESSION_EXPIRED');

# v1 lookup, in another case.
$r = get("$v1/lookup?medium=email&address=ALICE%40example.com");
is($r->{status}, 200, 'v1 lookup');
is($r->{json}{mxid}, '@alice:example.org', 'finds the binding in any case');
is_deeply([sort keys %{ $r->{json} }], [qw(address medium mxid not_after
    not_before signatures ts)], 'exactly the seven fields');
ok(verify_signed($r->{content}, 'localhost', $key_id, $pub),
    'signed, and python3-signedjson agrees');

# The signature bind made is stored with the key that made it, and v1
# lookup answers it rather than signing again (sql/008).
my ($stored, $by) = split /\|/, psql("SELECT b.signature || '|' || k.key_id"
    . " || ' ' || k.public_key FROM bindings b JOIN signing_keys k"
    . " ON k.id = b.signed_by WHERE b.address = 'alice\@example.com'");
is($stored, $r->{json}{signatures}{localhost}{$key_id},
    'bind stored the signature lookup answers');
is($by, "$key_id $pub", 'signed_by names the key id and public key');
psql("UPDATE bindings SET signature = 'stored' WHERE address ="
    . " 'alice\@example.com'");
is(get("$v1/lookup?medium=email&address=alice%40example.com")
    ->{json}{signatures}{localhost}{$key_id}, 'stored',
    'lookup answers what is stored, without signing');
psql("UPDATE bindings SET signature = NULL, signed_by = NULL WHERE address ="
    . " 'alice\@example.com'");
$r = get("$v1/lookup?medium=email&address=alice%40example.com");
ok(verify_signed($r->{content}, 'localhost', $key_id, $pub),
    'a binding without a stored signature (an import) is signed at lookup');
is($r->{json}{signatures}{localhost}{$key_id}, $stored,
    '... to the same signature (Ed25519 is deterministic)');

# Another key under the same key id: what the old key stored is not
# passed off as the new key's; the worker signs afresh.
psql("UPDATE bindings SET signature = '$stored', signed_by = (SELECT id"
    . " FROM signing_keys WHERE key_id = '$key_id') WHERE address ="
    . " 'alice\@example.com'");
system("deploy/sigil-keygen '$dir/other.key' '$key_id' >/dev/null") == 0
    or die 'sigil-keygen';
open(my $cf, '<', "$dir/sigil.conf") or die;
my $w = start_worker('lookup', join('', grep { !/^signing_key\s/ } <$cf>)
    . "signing_key = $dir/other.key\n");
my $other = fcgi_request($w, 'GET',
    "$v1/lookup?medium=email&address=alice%40example.com");
stop_worker($w);
my $other_pub = `openssl pkey -in '$dir/other.key' -pubout -outform DER |
    tail -c 32 | base64 | tr -d '=\n'`;
isnt($other->{json}{signatures}{localhost}{$key_id}, $stored,
    'a new key under an old key id: the stored signature is not answered');
ok(verify_signed($other->{content}, 'localhost', $key_id, $other_pub),
    '... the association is signed with the new key');
is(psql("SELECT count(*) FROM signing_keys WHERE key_id = '$key_id'"), 2,
    'both keys are registered, each with its own number');
is(get("$v1/lookup?medium=email&address=nobody%40example.org")->{content},
    '{}', 'an unbound address: {}');
is(get("$v1/lookup?medium=carrier-pigeon&address=x")->{content}, '{}',
    'an unknown medium: {}');
is_error(get("$v1/lookup?medium=email"), 400, 'M_MISSING_PARAMS',
    'no address: 400 M_MISSING_PARAMS');

# Rebinding to another user replaces.
my ($sid2, $secret2) = validated('alice@example.com');
$r = post("$v1/3pid/bind",
    { sid => $sid2, client_secret => $secret2, mxid => '@alice2:example.org' });
is($r->{status}, 200, 'binding the same address again');
is(get("$v1/lookup?medium=email&address=alice%40example.com")->{json}{mxid},
    '@alice2:example.org', 'the new user replaces the old');

# v2 bind: only to the token's user.
my $tok = register_user('bea');
my $hs = $ENV{SIGIL_TEST_HS};
my $auth = { Authorization => "Bearer $tok" };
my ($bsid, $bsecret) = validated('bea@example.org');
is_error(post("$v2/3pid/bind", { sid => $bsid, client_secret => $bsecret,
    mxid => '@alice:example.org' }), 401, 'M_UNAUTHORIZED',
    'v2 bind without a token: 401');
is_error(post("$v2/3pid/bind", { sid => $bsid, client_secret => $bsecret,
    mxid => '@mallory:example.org' }, $auth), 403, 'M_UNAUTHORIZED',
    'v2 bind to another user: 403');
$r = post("$v2/3pid/bind", { sid => $bsid, client_secret => $bsecret,
    mxid => "\@bea:$hs" }, $auth);
is($r->{status}, 200, 'v2 bind to the token\'s user') or diag($r->{content});
ok(verify_signed($r->{content}, 'localhost', $key_id, $pub), 'signed');

# bulk_lookup.
$r = post("$v1/bulk_lookup", { threepids => [['email', 'BEA@example.org'],
    ['email', 'nobody@example.org'], ['msisdn', '447911123456'],
    ['email', 'not an address']] });
is($r->{status}, 200, 'bulk_lookup');
is_deeply($r->{json}{threepids}, [['email', 'BEA@example.org', "\@bea:$hs"]],
    'the bound one, with the address as sent');
is_error(post("$v1/bulk_lookup", { threepids => [['email']] }), 400,
    'M_INVALID_PARAM', 'a malformed entry: 400 M_INVALID_PARAM');
is_error(post("$v1/bulk_lookup", { threepids => [[1, 2]] }), 400,
    'M_INVALID_PARAM', 'numbers in an entry: 400');
is_error(post("$v1/bulk_lookup", { threepids => 'x' }), 400,
    'M_INVALID_PARAM', 'threepids not a list: 400');
is_error(post("$v1/bulk_lookup", { threepids => [map { ['email', "a$_\@b.c"] }
    1 .. 10_001] }), 400, 'M_TOO_LARGE', '10,001 threepids: 400 M_TOO_LARGE');
$r = post("$v1/bulk_lookup", { threepids => [map { ['email', "a$_\@b.c"] }
    1 .. 10_000], });
is($r->{status}, 200, '10,000 threepids are looked up');

# v2 hash_details and lookup.
is_error(get("$v2/hash_details"), 401, 'M_UNAUTHORIZED',
    'hash_details needs a token');
$r = get("$v2/hash_details", $auth);
is($r->{status}, 200, 'hash_details');
my $pepper = $r->{json}{lookup_pepper};
like($pepper, qr/^[a-zA-Z0-9]{20,}$/, 'a pepper of 20 or more [a-zA-Z0-9]');
is_deeply($r->{json}{algorithms}, ['none', 'sha256'], 'none and sha256');
$r = get("$v2/hash_details?access_token=$tok");
is($r->{status}, 200, 'hash_details with ?access_token= (allow_access_token_query'
    . ' is on by default: Synapse asks so)') or diag($r->{content});
is($r->{json}{lookup_pepper}, $pepper, 'the same pepper');
is_error(get("$v2/hash_details?access_token=nosuch"), 401, 'M_UNAUTHORIZED',
    'hash_details with an unknown ?access_token=: 401');

# The gate of v2 lookup, which rides in the lookup's own query.
my %ask = (algorithm => 'sha256', pepper => $pepper,
    addresses => [hash_of('alice@example.com', 'email', $pepper)]);
is_error(post("$v2/lookup", \%ask), 401, 'M_UNAUTHORIZED',
    'v2 lookup without a token: 401');
is_error(post("$v2/lookup", \%ask, { Authorization => 'Bearer nosuch' }),
    401, 'M_UNAUTHORIZED', 'v2 lookup with an unknown token: 401');
is_error(post("$v2/lookup", { %ask, algorithm => 'none',
    addresses => ['alice@example.com email'] },
    { Authorization => 'Bearer nosuch' }), 401, 'M_UNAUTHORIZED',
    'v2 lookup "none" with an unknown token: 401');
my $hs_name = $ENV{SIGIL_TEST_HS};
my $reg = post("$v2/account/register", { access_token => "good-noterms\@$hs_name",
    token_type => 'Bearer', matrix_server_name => $hs_name, expires_in => 60 });
my $noterms = { Authorization => "Bearer $reg->{json}{token}" };
is_error(post("$v2/lookup", \%ask, $noterms), 403, 'M_TERMS_NOT_SIGNED',
    'v2 lookup before the terms: 403 M_TERMS_NOT_SIGNED');
is_error(post("$v2/lookup", { %ask, algorithm => 'none',
    addresses => ['alice@example.com email'] }, $noterms), 403,
    'M_TERMS_NOT_SIGNED', 'v2 lookup "none" before the terms: 403');
# hash_details asks the gate inside its pepper query too.
is_error(get("$v2/hash_details", { Authorization => 'Bearer nosuch' }), 401,
    'M_UNAUTHORIZED', 'hash_details with an unknown token: 401');
$r = get("$v2/hash_details", $noterms);
is_error($r, 403, 'M_TERMS_NOT_SIGNED',
    'hash_details before the terms: 403 M_TERMS_NOT_SIGNED');
unlike($r->{content}, qr/\Q$pepper\E/, '... and no pepper in that answer');
psql("UPDATE account_tokens SET expires_ts = 1 WHERE user_id = '\@noterms:"
    . "$hs_name'");
is_error(get("$v2/hash_details", $noterms), 401, 'M_UNAUTHORIZED',
    'hash_details with an expired token: 401');
$r = post("$v2/lookup", \%ask, $auth);
is($r->{status}, 200, 'and with a good token, an answer');

my $h = hash_of("bea\@example.org", 'email', $pepper);
$r = post("$v2/lookup", { algorithm => 'sha256', pepper => $pepper,
    addresses => [$h, hash_of('nobody@example.org', 'email', $pepper)] },
    $auth);
is($r->{status}, 200, 'v2 sha256 lookup') or diag($r->{content});
is_deeply($r->{json}{mappings}, { $h => "\@bea:$hs" },
    'maps the hash as sent to the user');
$r = post("$v2/lookup", { algorithm => 'none', pepper => $pepper,
    addresses => ['BEA@Example.org email', 'nobody@example.org email',
    'noseparator'] }, $auth);
is_deeply($r->{json}{mappings}, { 'BEA@Example.org email' => "\@bea:$hs" },
    'v2 none lookup, case-folded, keyed as sent');
$r = post("$v2/lookup", { algorithm => 'sha256', pepper => 'stale',
    addresses => [$h] }, $auth);
is_error($r, 400, 'M_INVALID_PEPPER', 'a wrong pepper: 400 M_INVALID_PEPPER');
is($r->{json}{lookup_pepper}, $pepper, 'with the current pepper');
is($r->{json}{algorithm}, 'sha256', 'and the algorithm');
is_error(post("$v2/lookup", { algorithm => 'md5', pepper => $pepper,
    addresses => [$h] }, $auth), 400, 'M_INVALID_PARAM',
    'an unknown algorithm: 400 M_INVALID_PARAM');
is_error(post("$v2/lookup", { algorithm => 'sha256', pepper => $pepper,
    addresses => [1] }, $auth), 400, 'M_INVALID_PARAM', 'a number: 400');
is_error(post("$v2/lookup", { algorithm => 'sha256', pepper => $pepper },
    $auth), 400, 'M_MISSING_PARAMS', 'no addresses: 400 M_MISSING_PARAMS');
is_error(post("$v2/lookup", { algorithm => 'sha256', pepper => $pepper,
    addresses => [map { "h$_" } 1 .. 10_001] }, $auth), 400, 'M_TOO_LARGE',
    '10,001 addresses: 400 M_TOO_LARGE');
my $t0 = time;
$r = post("$v2/lookup", { algorithm => 'sha256', pepper => $pepper,
    addresses => [(map { "h$_" } 1 .. 9_999), $h] }, $auth);
is_deeply($r->{json}{mappings}, { $h => "\@bea:$hs" },
    '10,000 hashes in one request find the one bound');

# The spec's vectors against the server: pepper "matrixrocks".
my $out = `deploy/sigil-rotate-pepper '$conn' matrixrocks12345678901 2>&1`;
like($out, qr/rehashed \d+ bindings/, 'sigil-rotate-pepper sets a pepper');
psql("UPDATE lookup_pepper SET pepper = 'matrixrocks'");
psql("UPDATE bindings SET lookup_hash = sigil_lookup_hash(address, medium,"
    . " 'matrixrocks')");
my ($ssid, $ssecret) = validated('alice@example.com');
post("$v1/3pid/bind", { sid => $ssid, client_secret => $ssecret,
    mxid => '@alice:example.org' });
$r = post("$v2/lookup", { algorithm => 'sha256', pepper => 'matrixrocks',
    addresses => ['4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZUc'] }, $auth);
is($r->{json}{mappings}{'4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZUc'},
    '@alice:example.org', "the spec's alice vector finds the binding");

# Rotation while lookups run: every answer is either the right mapping or
# M_INVALID_PEPPER carrying the new pepper; never an empty mapping.
my $child = fork();
if ($child == 0) {
	my ($bad, $cur) = (0, 'matrixrocks');
	for (1 .. 300) {
		my $x = post("$v2/lookup", { algorithm => 'sha256', pepper => $cur,
		    addresses => [hash_of('alice@example.com', 'email', $cur)] },
		    $auth);
		if ($x->{status} == 200) {
			$bad++ unless ($x->{json}{mappings}{hash_of(
			    'alice@example.com', 'email', $cur)} // '') eq
			    '@alice:example.org';
		} elsif (($x->{json}{errcode} // '') eq 'M_INVALID_PEPPER') {
			$cur = $x->{json}{lookup_pepper};
		} else {
			$bad++;
		}
	}
	exit($bad == 0 ? 0 : 1);
}
for (1 .. 5) {
	system("deploy/sigil-rotate-pepper '$conn' >/dev/null") == 0 or die;
	select(undef, undef, undef, 0.05);
}
waitpid($child, 0);
is($? >> 8, 0, 'lookups during five rotations: right answers or '
    . 'M_INVALID_PEPPER, never an empty mapping');
my $new = get("$v2/hash_details", $auth)->{json}{lookup_pepper};
$r = post("$v2/lookup", { algorithm => 'sha256', pepper => $new,
    addresses => [hash_of('alice@example.com', 'email', $new)] }, $auth);
is_deeply($r->{json}{mappings}, { hash_of('alice@example.com', 'email', $new)
    => '@alice:example.org' }, 'after rotation the new pepper finds it');
like(`deploy/sigil-rotate-pepper '$conn' short 2>&1`, qr/20 or more/,
    'sigil-rotate-pepper refuses a short pepper');

done_testing();
