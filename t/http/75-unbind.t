# Unbind: by a validated session for exactly that 3PID, or by an X-Matrix
# signature of the homeserver that owns the user (the double signs with
# its own key, served at /_matrix/key/v2/server); and the refusals.
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

# An X-Matrix header for body, as Synapse makes it.
sub xmatrix {
	my (%a) = @_;
	my $obj = { method => 'POST', uri => $a{uri}, origin => $a{origin},
	    destination_is => 'localhost', content => $a{sign_body} // $a{body} };
	my $sig = b64(($a{key} // $hs_key)->sign_message($canon->encode($obj)));
	return sprintf('X-Matrix origin="%s",key="ed25519:hs1",sig="%s",'
	    . 'destination="localhost"', $a{origin}, $sig);
}
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
    threepid => { medium => 'email', address => 'unb@example.org' } }), 401,
    'M_UNAUTHORIZED', 'neither a session nor a signature: 401');
is_error(post("$v1/3pid/unbind", { mxid => '@unb:example.org' }), 400,
    'M_MISSING_PARAMS', 'no threepid: 400 M_MISSING_PARAMS');

# By X-Matrix.
my $user = "\@xavier:$hs";
bind_to('xavier@example.org', $user);
my $body = { mxid => $user,
    threepid => { medium => 'email', address => 'xavier@example.org' } };
$r = unbind_x(origin => $hs, body => $body, key => $other_key);
is_error($r, 401, 'M_UNAUTHORIZED', 'signed with another key: 401');
$r = unbind_x(origin => $hs, body => $body,
    sign_body => { %$body, mxid => "\@other:$hs" });
is_error($r, 401, 'M_UNAUTHORIZED', 'a signature over another body: 401');
$r = unbind_x(origin => $hs, body => $body, uri => "$v1/3pid/unbind",
    sign_uri => 1);
is($r->{status}, 200, 'a good signature on the v1 path unbinds')
    or diag($r->{content});
ok(!defined bound_to('xavier@example.org'), 'nothing found after unbind');
$r = unbind_x(origin => $hs, body => $body);
is($r->{content}, '{}', 'unbinding what is not bound: {}');

bind_to('yves@example.org', '@yves:elsewhere.example');
$r = unbind_x(origin => $hs, body => { mxid => '@yves:elsewhere.example',
    threepid => { medium => 'email', address => 'yves@example.org' } });
is_error($r, 403, 'M_FORBIDDEN', "another server's user: 403 M_FORBIDDEN");
is(bound_to('yves@example.org'), '@yves:elsewhere.example', 'still bound');

bind_to('zoe@example.org', "\@zoe:127.0.0.1:$hs_port");
$r = unbind_x(origin => "127.0.0.1:$hs_port", body => {
    mxid => "\@zoe:127.0.0.1:$hs_port",
    threepid => { medium => 'email', address => 'zoe@example.org' } });
is_error($r, 401, 'M_UNAUTHORIZED', 'a key server answering garbage: 401');
is(bound_to('zoe@example.org'), "\@zoe:127.0.0.1:$hs_port", 'still bound');

$r = post("$v2/3pid/unbind", $body,
    { Authorization => 'X-Matrix origin=' });
is_error($r, 401, 'M_UNAUTHORIZED', 'a malformed header: 401');
$r = post("$v2/3pid/unbind", $body, { Authorization => xmatrix(origin => $hs,
    uri => "$v2/3pid/unbind", body => $body) =~ s/destination="localhost"/destination="elsewhere"/r });
is_error($r, 401, 'M_UNAUTHORIZED', 'a destination other than us: 401');

done_testing();
