# Key rotation and revocation with deploy/sigil-rotate-key and
# deploy/sigil-revoke-key, on copies of the stack's configuration served
# by workers of their own: the new key signs, the old one stays published
# and valid until it is revoked, and a v1 lookup of a binding the old key
# signed is signed afresh with the new one.  Also a sydent key file
# (no signing_key_id), and what the scripts refuse.
use strict;
use warnings;
use lib 't/lib';
use MIME::Base64;
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';
my $conf = "$dir/rotate.conf";
spew($conf, slurp("$dir/sigil.conf"));
my $old_id = conf_value('signing_key_id');
my $old_pub = get("$v2/pubkey/$old_id")->{json}{public_key};
sub q_escape { $_[0] =~ s{([+/=])}{sprintf('%%%02X', ord $1)}ger }
sub run { my $out = `$_[0] 2>&1`; return ($? >> 8, $out) }

# A binding the current key signed (and bind stored that signature).
my $sid = validated_session('rotate@example.org', 'rot1');
my $r = post("$v1/3pid/bind", { sid => $sid, client_secret => 'rot1',
    mxid => '@rot:example.org' });
is($r->{status}, 200, 'a binding under the current key') or diag($r->{content});

my ($rc, $out) = run("deploy/sigil-rotate-key '$conf' '$dir/new.key'"
    . " ed25519:rotated");
is($rc, 0, 'sigil-rotate-key') or diag($out);
my $text = slurp($conf);
like($text, qr{^signing_key = \Q$dir\E/new\.key$}m,
    'signing_key points at the new key');
like($text, qr/^signing_key_id = ed25519:rotated$/m, '... under its id');
like($text, qr/^old_key = \Q$old_id $old_pub\E$/m,
    'the old key is an old_key, with the public key pubkey served');
is(scalar(() = $text =~ /^signing_key\s*=/mg), 1, 'one signing_key line');
is((stat("$dir/new.key"))[2] & 07777, 0600, 'the new key file is 0600');

# The new key belongs to whoever the current one does (the workers'
# user), or to -u's user: run as root, a key left root's would stop the
# workers at their next start.
SKIP: {
	skip 'chown needs root', 5 if $> != 0;
	my $oconf = "$dir/owner.conf";
	system("cp -p '$dir/new.key' '$dir/owned.key'") == 0 or die;
	chown scalar(getpwnam('nobody')), scalar(getgrnam('nogroup')),
	    "$dir/owned.key" or die;
	spew($oconf, $text =~ s{^signing_key = .*$}{signing_key = $dir/owned.key}mr);
	my ($orc, $oout) = run("deploy/sigil-rotate-key '$oconf' '$dir/owned2.key'");
	is($orc, 0, 'rotating a key the workers own') or diag($oout);
	is(scalar getpwuid((stat("$dir/owned2.key"))[4] // 0), 'nobody',
	    'the new key is theirs too');
	($orc, $oout) = run("deploy/sigil-rotate-key -u www-data '$oconf'"
	    . " '$dir/owned3.key'");
	is(scalar getpwuid((stat("$dir/owned3.key"))[4] // 0), 'www-data',
	    "-u: that user's") or diag($oout);
	($orc, $oout) = run("deploy/sigil-keygen -u nosuchuser '$dir/owned4.key'");
	isnt($orc, 0, 'sigil-keygen -u naming no user: refused');
	ok(!-e "$dir/owned4.key", 'and writes nothing');
}

my $pk = start_worker('pubkey', $text);
$r = fcgi_request($pk, 'GET', "$v2/pubkey/ed25519:rotated");
is($r->{status}, 200, 'the new key is published');
my $new_pub = $r->{json}{public_key};
isnt($new_pub, $old_pub, '... and it is another key');
is(fcgi_request($pk, 'GET', "$v2/pubkey/$old_id")->{json}{public_key},
    $old_pub, 'the old key stays published');
ok(fcgi_request($pk, 'GET', "$v2/pubkey/isvalid?public_key="
    . q_escape($old_pub))->{json}{valid}, 'and valid');
stop_worker($pk);

my $lk = start_worker('lookup', $text);
$r = fcgi_request($lk, 'GET',
    "$v1/lookup?medium=email&address=rotate%40example.org");
stop_worker($lk);
is_deeply([keys %{ $r->{json}{signatures}{localhost} }], ['ed25519:rotated'],
    'v1 lookup after the rotation: signed by the new key only');
ok(verify_signed($r->{content}, 'localhost', 'ed25519:rotated', $new_pub),
    '... and python3-signedjson verifies it with the new public key');

# What rotation refuses.
($rc, $out) = run("deploy/sigil-rotate-key '$conf' '$dir/x.key'"
    . " ed25519:rotated");
isnt($rc, 0, 'rotating to the id in use is refused');
like($out, qr/another id/, '... saying why');
($rc, $out) = run("deploy/sigil-rotate-key '$conf' '$dir/x.key' '$old_id'");
isnt($rc, 0, 'rotating to an id listed as old_key is refused');
($rc, $out) = run("deploy/sigil-rotate-key '$conf' '$dir/new.key'");
isnt($rc, 0, 'an existing key file is never overwritten');
is(slurp($conf), $text, 'and the refusals left the configuration alone');
($rc, $out) = run("deploy/sigil-rotate-key '$dir/nosuch.conf'");
isnt($rc, 0, 'a configuration that does not exist is refused');

# Revocation.
($rc, $out) = run("deploy/sigil-revoke-key '$conf' ed25519:rotated");
isnt($rc, 0, 'the current signing key cannot be revoked');
like($out, qr/rotate it first/, '... the operator is told to rotate first');
($rc, $out) = run("deploy/sigil-revoke-key '$conf' ed25519:nosuch");
isnt($rc, 0, 'a key the configuration does not list is refused');
is(slurp($conf), $text, 'and neither changed the configuration');
($rc, $out) = run("deploy/sigil-revoke-key '$conf' '$old_id'");
is($rc, 0, 'sigil-revoke-key of the old key') or diag($out);
$text = slurp($conf);
like($text, qr/^revoked_key = \Q$old_id $old_pub\E$/m,
    'its old_key line is now a revoked_key line');
unlike($text, qr/^old_key = \Q$old_id\E /m, 'and no old_key line is left');
($rc, $out) = run("deploy/sigil-revoke-key '$conf' '$old_id'");
isnt($rc, 0, 'revoking it again is refused');
like($out, qr/already revoked/, '... as already revoked');
$pk = start_worker('pubkey', $text);
ok(!fcgi_request($pk, 'GET', "$v2/pubkey/isvalid?public_key="
    . q_escape($old_pub))->{json}{valid}, 'isvalid: the revoked key is false');
is(fcgi_request($pk, 'GET', "$v2/pubkey/$old_id")->{status}, 404,
    'pubkey/{keyId} no longer serves it');
ok(fcgi_request($pk, 'GET', "$v2/pubkey/isvalid?public_key="
    . q_escape($new_pub))->{json}{valid}, 'the new key is valid');
stop_worker($pk);

# A sydent key file, with no signing_key_id: the id and public key the
# old_key line gets are the ones sigil serves for that file.
my $seed = encode_base64(join('', map { chr($_ * 7 % 256) } 1 .. 32), '')
    =~ s/=+$//r;
spew("$dir/sydent.key", "ed25519 0 $seed\n");
chmod 0600, "$dir/sydent.key";
my $sconf = "$dir/sydent-key.conf";
spew($sconf, join('', grep { !/^signing_key/ } split /^/, slurp($conf))
    . "signing_key = $dir/sydent.key\n");
$pk = start_worker('pubkey', slurp($sconf));
my $sydent_pub = fcgi_request($pk, 'GET', "$v2/pubkey/ed25519:0")
    ->{json}{public_key};
stop_worker($pk);
ok($sydent_pub, 'a worker serves the sydent key as ed25519:0');
($rc, $out) = run("deploy/sigil-rotate-key '$sconf'");
is($rc, 0, 'sigil-rotate-key with a sydent key file') or diag($out);
like(slurp($sconf), qr/^old_key = ed25519:0 \Q$sydent_pub\E$/m,
    'its old_key line has the id and public key sigil served');
like(slurp($sconf), qr/^signing_key = \Q$dir\E\/signing-a_[0-9a-f]{8}\.key$/m,
    'the new key file sits beside the old one, named by its random id');

done_testing();
