# Unbind: by a validated session for exactly that 3PID, or by an X-Matrix
# signature of the homeserver that owns the user (the double signs with
# its own key, served at /_matrix/key/v2/server), signed as Synapse signs
# (destination_is) or as the server-server spec says (destination); and
# the refusals: 403 M_FORBIDDEN without credentials, for another
# destination or an invalid signature (the unbind response table of
# v1 and v2 lists 403 for missing or invalid credentials, and no 401;
# Synapse, synapse/handlers/identity.py:320-331 at a58ad44eb0ce, reads a
# 403 as it read the 401: not 400, 404 or 501 ("no unbind support"), so
# a failure it answers its client 500 for, keeping the binding), 502
# when the key cannot be had, each logged with its reason and never the
# signature.
use strict;
use warnings;
use lib 't/lib';
use Crypt::PK::Ed25519;
use JSON::PP;
use MIME::Base64;
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';
my $hs = $ENV{SIGIL_TEST_HS};
my ($hs_port) = $hs =~ /:(\d+)$/;
my $canon = JSON::PP->new->canonical(1)->utf8(1);
my $n = 0;

sub validated {
	my ($email) = @_;
	my $secret = 'unb' . ++$n;
	return (validated_session($email, $secret), $secret);
}
sub bind_to {
	my ($email, $mxid) = @_;
	my ($sid, $secret) = validated($email);
	my $r = post("$v1/3pid/bind", { sid => $sid, client_secret => $secret,
	    mxid => $mxid });
	die "bind: $r->{content}" unless $r->{status} == 200;
	return ($sid, $secret);
}
sub bound_to {
	my ($email) = @_;
	return get("$v1/lookup?medium=email&address=$email")->{json}{mxid};
}
sub b64 { encode_base64($_[0], '') =~ s/=+$//r }

# The double's signing key, and another one.
open(my $fh, '<', "$dir/tls/hs-signing.seed") or die;
my $seed = decode_base64(scalar <$fh>);
my $hs_key = Crypt::PK::Ed25519->new;
$hs_key->import_key_raw($seed, 'private');
my $other_key = Crypt::PK::Ed25519->new;
$other_key->generate_key;

# An X-Matrix header for body, as Synapse makes it (destination_is in the
# signed JSON), or with dest_key => 'destination' as the spec has it;
# no_dest leaves destination out of the header.
sub xmatrix {
	my (%a) = @_;
	my $obj = { method => 'POST', uri => $a{uri}, origin => $a{origin},
	    ($a{dest_key} // 'destination_is') => 'localhost',
	    content => $a{sign_body} // $a{body} };
	my $sig = b64(($a{key} // $hs_key)->sign_message($canon->encode($obj)));
	return sprintf('X-Matrix origin="%s",key="ed25519:hs1",sig="%s"%s',
	    $a{origin}, $sig, $a{no_dest} ? '' : ',destination="localhost"');
}
sub bind_log { program_log('bind') }
sub unbind_x {
	my (%a) = @_;
	my $uri = $a{uri} // "$v2/3pid/unbind";
	return post($uri, $a{body}, { Authorization => xmatrix(%a, uri => $uri) });
}

# By session.
my ($sid, $secret) = bind_to('una@example.org', '@una:example.org');
is(bound_to('una@example.org'), '@una:example.org', 'bound');
my $r = post("$v2/3pid/unbind", { sid => $sid, client_secret => $secret,
    mxid => '@una:example.org',
    threepid => { medium => 'email', address => 'UNA@example.org' } });
is($r->{status}, 200, 'unbind with the session, no Bearer token')
    or diag($r->{content});
is($r->{content}, '{}', 'answers {}');
ok(!defined bound_to('una@example.org'), 'nothing found after unbind');
my ($osid, $osecret) = validated('other@example.org');
bind_to('unb@example.org', '@unb:example.org');
is_error(post("$v1/3pid/unbind", { sid => $osid, client_secret => $osecret,
    mxid => '@unb:example.org',
    threepid => { medium => 'email', address => 'unb@example.org' } }), 403,
    'M_FORBIDDEN', 'a session for another 3PID: 403 M_FORBIDDEN');
is(bound_to('unb@example.org'), '@unb:example.org', 'still bound');
is_error(post("$v1/3pid/unbind", { mxid => '@unb:example.org',
    threepid => { medium => 'email', address => 'unb@example.org' } }), 403,
    'M_FORBIDDEN', 'neither a session nor a signature: 403');
is_error(post("$v2/3pid/unbind", { mxid => '@unb:example.org', sid => $osid,
    threepid => { medium => 'email', address => 'unb@example.org' } }), 403,
    'M_FORBIDDEN', 'a sid without its client_secret: 403');
is_error(post("$v1/3pid/unbind", { mxid => '@unb:example.org' }), 400,
    'M_MISSING_PARAMS', 'no threepid: 400 M_MISSING_PARAMS');

# By X-Matrix.
my $user = "\@xavier:$hs";
bind_to('xavier@example.org', $user);
my $body = { mxid => $user,
    threepid => { medium => 'email', address => 'xavier@example.org' } };
$r = unbind_x(origin => $hs, body => $body, key => $other_key);
is_error($r, 403, 'M_FORBIDDEN', 'signed with another key: 403');
is($r->{json}{error}, 'Invalid homeserver signature', "the spec's message");
my $bad_sig = (xmatrix(origin => $hs, body => $body, key => $other_key,
    uri => "$v2/3pid/unbind") =~ /sig="([^"]+)"/)[0];
$r = unbind_x(origin => $hs, body => $body,
    sign_body => { %$body, mxid => "\@other:$hs" });
is_error($r, 403, 'M_FORBIDDEN', 'a signature over another body: 403');
is(bound_to('xavier@example.org'), $user, 'still bound');
$r = unbind_x(origin => $hs, body => $body, uri => "$v1/3pid/unbind",
    sign_uri => 1);
is($r->{status}, 200, 'a good signature on the v1 path unbinds')
    or diag($r->{content});
ok(!defined bound_to('xavier@example.org'), 'nothing found after unbind');
$r = unbind_x(origin => $hs, body => $body);
is($r->{content}, '{}', 'unbinding what is not bound: {}');

# Signed as the server-server spec says: "destination" in the signed JSON.
my $m = 0;
sub fresh {
	my $addr = 'xs' . ++$m . '@example.org';
	bind_to($addr, $user);
	return ($addr, { mxid => $user,
	    threepid => { medium => 'email', address => $addr } });
}
my ($addr, $bd) = fresh();
$r = unbind_x(origin => $hs, body => $bd, dest_key => 'destination');
is($r->{status}, 200, 'signed with "destination" (the spec\'s form) unbinds')
    or diag($r->{content});
ok(!defined bound_to($addr), 'nothing found after unbind');
($addr, $bd) = fresh();
$r = unbind_x(origin => $hs, body => $bd, dest_key => 'destination',
    no_dest => 1);
is($r->{status}, 200, 'and so without destination in the header')
    or diag($r->{content});
ok(!defined bound_to($addr), 'nothing found after unbind');
($addr, $bd) = fresh();
$r = unbind_x(origin => $hs, body => $bd, no_dest => 1);
is($r->{status}, 200, 'Synapse\'s form without destination in the header')
    or diag($r->{content});
($addr, $bd) = fresh();
$r = unbind_x(origin => $hs, body => $bd, dest_key => 'destination',
    key => $other_key);
is_error($r, 403, 'M_FORBIDDEN', 'the spec\'s form with another key: 403');
is(bound_to($addr), $user, 'still bound');
$r = post("$v2/3pid/unbind", $bd, { Authorization => xmatrix(origin => $hs,
    uri => "$v2/3pid/unbind", body => $bd) =~ s/ed25519:hs1/ed25519:nope/r });
is_error($r, 403, 'M_FORBIDDEN', 'a key id the homeserver does not have: 403');
$r = unbind_x(origin => $hs, body => $bd);
is($r->{status}, 200, 'which does not stop its good signatures')
    or diag($r->{content});
($addr, $bd) = fresh();
$body = $bd;

bind_to('yves@example.org', '@yves:elsewhere.example');
$r = unbind_x(origin => $hs, body => { mxid => '@yves:elsewhere.example',
    threepid => { medium => 'email', address => 'yves@example.org' } });
is_error($r, 403, 'M_FORBIDDEN', "another server's user: 403 M_FORBIDDEN");
is(bound_to('yves@example.org'), '@yves:elsewhere.example', 'still bound');

bind_to('zoe@example.org', "\@zoe:127.0.0.1:$hs_port");
$r = unbind_x(origin => "127.0.0.1:$hs_port", body => {
    mxid => "\@zoe:127.0.0.1:$hs_port",
    threepid => { medium => 'email', address => 'zoe@example.org' } });
is_error($r, 502, 'M_UNKNOWN', 'a key server answering garbage: 502');
is(bound_to('zoe@example.org'), "\@zoe:127.0.0.1:$hs_port", 'still bound');

$r = post("$v2/3pid/unbind", $body,
    { Authorization => 'X-Matrix origin=' });
is_error($r, 403, 'M_FORBIDDEN', 'a malformed header: 403');
$r = post("$v2/3pid/unbind", $body, { Authorization => 'Bearer x' });
is_error($r, 403, 'M_FORBIDDEN', 'a Bearer token is no credential here: 403');
$r = post("$v2/3pid/unbind", $body, { Authorization => xmatrix(origin => $hs,
    uri => "$v2/3pid/unbind", body => $body) =~ s/destination="localhost"/destination="elsewhere"/r });
is_error($r, 403, 'M_FORBIDDEN', 'a destination other than us: 403');
is(bound_to($addr), $user, 'still bound');

# Why each failed is logged: origin, key id and reason, never the
# signature.
my $log = bind_log();
like($log, qr/\Q$hs\E key ed25519:hs1: bad signature/,
    'the log names origin, key and "bad signature"');
like($log, qr/\Q$hs\E key ed25519:hs1: destination mismatch/,
    'and "destination mismatch"');
like($log, qr/127\.0\.0\.1:\Q$hs_port\E key ed25519:hs1: key fetch failed/,
    'and "key fetch failed"');
unlike($log, qr/\Q$bad_sig\E/, 'but never the signature');
unlike($log, qr/\Q$addr\E/, 'nor the body');

done_testing();
