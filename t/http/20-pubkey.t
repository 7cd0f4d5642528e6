# pubkey/{keyId}, pubkey/isvalid and pubkey/ephemeral/isvalid on v1 and
# v2; and a signature made with the server's key file, checked by
# python3-signedjson against the public key the server publishes.
use strict;
use warnings;
use lib 't/lib';
use MIME::Base64;
use Test::More;
use SigilTest;

my $signing_id = conf_value('signing_key_id');
my ($old_id, $old_pub) = split ' ', conf_value('old_key');
my ($rev_id, $rev_pub) = split ' ', conf_value('revoked_key');
ok($signing_id && $old_pub && $rev_pub, 'the stack has three keys');

sub pub_of_file {
	my ($file) = @_;
	my $der = `openssl pkey -in '$file' -pubout -outform DER`;
	return encode_base64(substr($der, -32), '') =~ s/=+$//r;
}
my $signing_pub = pub_of_file(stack_dir() . '/keys/signing.key');

for my $v ('v1', 'v2') {
	my $r = get(api($v, "pubkey/$signing_id"));
	is($r->{status}, 200, "$v: the signing key is published");
	is($r->{json}{public_key}, $signing_pub,
	    "$v: as the key file's public key (openssl's reading)");
	$r = get(api($v, "pubkey/$old_id"));
	is($r->{json}{public_key}, $old_pub, "$v: an old key stays published");
	is_error(get(api($v, "pubkey/$rev_id")), 404, 'M_NOT_FOUND',
	    "$v: a revoked key is not served");
	is_error(get(api($v, 'pubkey/ed25519:nope')), 404, 'M_NOT_FOUND',
	    "$v: an unknown key id is 404 M_NOT_FOUND");
	is_error(get(api($v, 'pubkey/not-a-key-id')), 404, 'M_NOT_FOUND',
	    "$v: a malformed key id is 404 M_NOT_FOUND");
	$r = get(api($v, 'pubkey/' . ($signing_id =~ s/:/%3A/r)));
	is($r->{json}{public_key}, $signing_pub,
	    "$v: a percent-encoded colon in the key id works");
	is_error(post(api($v, "pubkey/$signing_id"), {}), 405,
	    'M_UNRECOGNIZED', "$v: POST to pubkey/{keyId} is 405");

	my $isvalid = sub {
		my $q = $_[0] =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ger;
		my $r = get(api($v, 'pubkey/isvalid?public_key=' . $q));
		return $r->{status} == 200 ? $r->{json}{valid} : "status $r->{status}";
	};
	is($isvalid->($signing_pub), JSON::PP::true,
	    "$v: isvalid: the signing key is valid");
	is($isvalid->($old_pub), JSON::PP::true, "$v: isvalid: an old key is valid");
	is($isvalid->($rev_pub), JSON::PP::false,
	    "$v: isvalid: a revoked key is invalid");
	is($isvalid->('A' x 43), JSON::PP::false,
	    "$v: isvalid: an unknown key is invalid");
	is($isvalid->('notbase64!'), JSON::PP::false,
	    "$v: isvalid: garbage is invalid, not an error");
	my $urlsafe = $signing_pub =~ tr{+/}{-_}r;
	is($isvalid->($urlsafe), JSON::PP::true,
	    "$v: isvalid: the URL-safe spelling of a key counts");
	is($isvalid->($signing_pub . '='),
	    JSON::PP::true, "$v: isvalid: the padded spelling counts");
	is_error(get(api($v, 'pubkey/isvalid')), 400, 'M_MISSING_PARAMS',
	    "$v: isvalid without public_key: 400 M_MISSING_PARAMS");
	is_error(post(api($v, 'pubkey/isvalid'), {}), 405, 'M_UNRECOGNIZED',
	    "$v: POST to isvalid is 405");

	is_error(get(api($v, 'pubkey/ephemeral/isvalid')), 400,
	    'M_MISSING_PARAMS', "$v: ephemeral/isvalid without public_key: 400");
}

# Ephemeral keys: an exact match in the database.
my $eph = 'c2lnaWwtZXBoZW1lcmFsLWtleS10ZXN0LTAxMjM0NTY';
my $ephv = sub {
	get(api($_[0], "pubkey/ephemeral/isvalid?public_key=$_[1]"))->{json}{valid};
};
is($ephv->('v2', $eph), JSON::PP::false, 'ephemeral: unknown key is invalid');
psql("INSERT INTO ephemeral_public_keys VALUES ('$eph', 0)");
is($ephv->('v2', $eph), JSON::PP::true, 'ephemeral: a stored key is valid (v2)');
is($ephv->('v1', $eph), JSON::PP::true, 'ephemeral: and on v1');
is($ephv->('v2', $eph . 'A'), JSON::PP::false,
    'ephemeral: a longer string does not match');
is($ephv->('v2', lc $eph), JSON::PP::false,
    'ephemeral: the match is case-sensitive');
is($ephv->('v2', "x%27%20OR%20%271%27%3D%271"), JSON::PP::false,
    'ephemeral: SQL in the key is only a string');

# A signature by sigil's signing code, with the server's own key file,
# checked by python3-signedjson against the key the server publishes.
my $obj = '{"address":"alice@example.com","medium":"email",'
    . '"mxid":"@alice:example.org","ts":1700000000000,'
    . '"unicode":"\u65e5\u672c","nested":{"b":[1,2],"a":null}}';
my $build = build_dir();
my $signed = `echo '$obj' | $build/t/sign-json '${\ stack_dir()}/keys/signing.key' localhost '$signing_id'`;
ok($? == 0 && $signed =~ /"signatures"/, 'sign-json signed the object');
ok(verify_signed($signed, 'localhost', $signing_id, $signing_pub),
    'python3-signedjson verifies it with the published key');
(my $tampered = $signed) =~ s/alice\@example.com/mallory\@example.com/;
ok(!verify_signed($tampered, 'localhost', $signing_id, $signing_pub),
    'python3-signedjson refuses it once a field changes');
ok(!verify_signed($signed, 'localhost', $signing_id, $old_pub),
    'python3-signedjson refuses it under another public key');

done_testing();
