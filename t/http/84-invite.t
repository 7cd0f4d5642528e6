# Email invitations through the real stack: store-invite on v1 (JSON and
# form) and v2 (the gate), the mail parsed by Python's email package,
# both keys checked through the validity URLs exactly as returned,
# sign-ed25519 through the link from the mail (mxid appended, no body)
# with its signature checked by python3-signedjson, and every refusal:
# bad fields, M_THREEPID_IN_USE, block-lists, the rate limit, SMTP down
# (nothing stored, nothing sent), expiry.
use strict;
use warnings;
use lib 't/lib';
use HTTP::Tiny;
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $url = $ENV{SIGIL_TEST_URL};
my $hs = $ENV{SIGIL_TEST_HS};
my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';
my $key_id = conf_value('signing_key_id');
my $server_key = get("$v2/pubkey/$key_id")->{json}{public_key};

sub unescape { my ($s) = @_; $s =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge; $s }
sub escape { my ($s) = @_;
	$s =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord($1))/ge; $s }
sub mime {
	my ($file) = @_;
	open(my $fh, '-|', '/usr/bin/python3', 't/lib/check-mime.py', $file)
	    or die;
	my %f;
	while (<$fh>) { chomp; my ($k, $v) = split /=/, $_, 2; $f{$k} = $v }
	return \%f;
}
sub invite {
	my ($v, $body, $headers) = @_;
	return post(($v eq 'v1' ? $v1 : $v2) . '/store-invite', $body, $headers);
}

# --- v2, through the gate -------------------------------------------------
my $tok = register_user('inviter');
my $auth = { Authorization => "Bearer $tok" };
my $sender = "\@inviter:$hs";
my $n = mail_count();
my $r = invite('v2', { medium => 'email', address => 'Invitee@Example.ORG',
    room_id => '!room:example.org', sender => $sender,
    room_name => "Secret <script>alert(1)</script>\r\nBcc: evil\@example.org",
    sender_display_name => 'Inviter Person With A Long Name',
    room_avatar_url => 'mxc://example.org/avatar',
    'org.matrix.web_client_location' => 'https://chat.example.org',
    room_join_rules => 'invite' }, $auth);
is($r->{status}, 200, 'v2 store-invite') or diag($r->{content});
my $inv = $r->{json};
like($inv->{token}, qr/^[0-9a-zA-Z.=_-]{22,}$/, 'a token of 128 bits or more');
is($inv->{public_key}, $server_key, 'public_key is the long-term key');
is(scalar @{ $inv->{public_keys} }, 2, 'two public keys');
is($inv->{public_keys}[0]{public_key}, $server_key, 'the long-term key first');
is($inv->{public_keys}[0]{key_validity_url}, "$url$v2/pubkey/isvalid",
    'its validity URL under the public base URL, v2 for a v2 request');
is($inv->{public_keys}[1]{key_validity_url}, "$url$v2/pubkey/ephemeral/isvalid",
    'the ephemeral key\'s validity URL');
my $eph = $inv->{public_keys}[1]{public_key};
like($eph, qr/^[A-Za-z0-9_-]{43}$/, 'the ephemeral key: unpadded URL-safe base64');
isnt($eph, $server_key, 'a key of its own');
is($inv->{display_name}, 'inv...@exa...', 'display_name is the address redacted');
my $http = HTTP::Tiny->new(timeout => 10);
for my $k (@{ $inv->{public_keys} }) {
	my $res = $http->get("$k->{key_validity_url}?public_key="
	    . escape($k->{public_key}));
	is($res->{content}, '{"valid":true}',
	    "valid through $k->{key_validity_url}") or diag($res->{content});
}
is(psql("SELECT address FROM invites WHERE token = '$inv->{token}'"),
    'invitee@example.org', 'stored under the canonical address');

# The mail.
is(mail_count(), $n + 1, 'one mail');
my $m = (mails())[-1];
is_deeply($m->{rcpt}, ['invitee@example.org'], 'to the canonical address');
my $f = mime($m->{file});
is($f->{defects}, 0, 'a well-formed message');
is($f->{parts}, 2, 'two parts');
is($f->{types}, 'text/plain,text/html', 'text and HTML');
is($f->{subject}, "Inviter Person With\x{e2}\x{80}\x{a6} has invited you to chat",
    'the subject, the display name cut at 20 characters');
unlike($m->{raw}, qr/^Bcc:/mi, 'CR/LF in a field adds no header');
unlike($f->{html}, qr/<script>/, 'no script element in the HTML');
like($f->{html}, qr/\(Secret &lt;script&gt;alert\(1\)&lt;\/\x{e2}\x{80}\x{a6}\)/,
    'the room name escaped in the HTML and cut at 30 characters');
like($m->{raw}, qr/\(\Q$sender\E\) has/, 'v2: the verified sender is named');
my ($link) = $m->{raw} =~ m{^(https://chat\.example\.org/#/room/\S+)\r?$}m;
ok($link, 'the join link goes to the web client the homeserver named');
my ($sign_url) = $link =~ /[?&]signurl=([^&]+)/;
$sign_url = unescape($sign_url);
like($sign_url, qr{^\Q$url$v1\E/sign-ed25519\?token=\Q$inv->{token}\E&private_key=[A-Za-z0-9_-]{43}$},
    'the sign URL is under the public base URL');
like($link, qr/inviter_name=Inviter%20Person/, 'the inviter named in the link');

# A field holding the boundary of the mail before, on lines of its own,
# cannot end a MIME part: CR and LF become spaces.
my ($boundary) = $m->{raw} =~ /boundary="([^"]+)"/;
$r = invite('v1', { medium => 'email', address => 'mime@example.org',
    room_id => '!room:example.org', sender => '@mime:example.org',
    room_name => "x\r\n--$boundary\r\nContent-Type: text/html\r\n\r\n<b>hi</b>",
    sender_display_name => "M\x{fc}ller \x{2603}" });
is($r->{status}, 200, 'store-invite with a MIME boundary in a field');
my $m2 = (mails())[-1];
my $f2 = mime($m2->{file});
is("$f2->{parts} $f2->{types} $f2->{defects}", '2 text/plain,text/html 0',
    'still two well-formed parts');
is($f2->{subject}, "M\x{c3}\x{bc}ller \x{e2}\x{98}\x{83} has invited you to chat",
    'a non-ASCII subject decodes as sent');
like($m2->{raw}, qr/^Subject: =\?UTF-8\?/m, 'encoded by RFC 2047');

# sign-ed25519 the way matrix-js-sdk follows the link: mxid appended, no body.
$r = request('POST', substr($sign_url, length $url) . '&mxid='
    . escape('@new:example.org'), 'null');
is($r->{status}, 200, 'sign-ed25519 from the link') or diag($r->{content});
is_deeply([sort keys %{ $r->{json} }], [qw(mxid sender signatures token)],
    'mxid, sender, token and signatures');
is($r->{json}{sender}, $sender, 'the invite\'s sender');
is($r->{json}{mxid}, '@new:example.org', 'the mxid asked for');
ok(verify_signed($r->{content}, 'localhost', 'ed25519:0', $eph),
    'signed with the ephemeral key (python3-signedjson)');
ok(!verify_signed($r->{content}, 'localhost', 'ed25519:0', $server_key),
    'and not with the long-term key');
my ($priv) = $sign_url =~ /private_key=([^&]+)/;
$r = request('POST', "$v1/sign-ed25519?mxid=" . escape('@a:example.org')
    . "&token=$inv->{token}&private_key=$priv");
is($r->{status}, 200, 'v1, query string and an empty body');
(my $std = $priv) =~ tr{-_}{+/};
$r = post("$v1/sign-ed25519", { mxid => '@a:example.org',
    token => $inv->{token}, private_key => "$std=" });
is($r->{status}, 200, 'the private key in standard padded base64 too');
$r = post("$v2/sign-ed25519", { mxid => '@a:example.org',
    token => $inv->{token}, private_key => $priv }, $auth);
is($r->{status}, 200, 'v2 with a token');
is_error(post("$v2/sign-ed25519", { mxid => '@a:example.org',
    token => $inv->{token}, private_key => $priv }), 401, 'M_UNAUTHORIZED',
    'v2 without a token: 401');
is_error(post("$v1/sign-ed25519", { mxid => '@a:example.org',
    token => 'nosuchtoken', private_key => $priv }), 404, 'M_UNRECOGNIZED',
    'an unknown token: 404 M_UNRECOGNIZED');
my $other = 'A' x 43;
is_error(post("$v1/sign-ed25519", { mxid => '@a:example.org',
    token => $inv->{token}, private_key => $other }), 400, 'M_INVALID_PARAM',
    'another key: 400 M_INVALID_PARAM');
is_error(post("$v1/sign-ed25519", { mxid => '@a:example.org',
    token => $inv->{token}, private_key => 'not base64!' }), 400,
    'M_INVALID_PARAM', 'a private key that does not decode: 400');
is_error(post("$v1/sign-ed25519", { mxid => 'nope', token => $inv->{token},
    private_key => $priv }), 400, 'M_INVALID_PARAM', 'a bad mxid: 400');
is_error(post("$v1/sign-ed25519", { token => $inv->{token},
    private_key => $priv }), 400, 'M_MISSING_PARAMS', 'no mxid: 400');

# --- v1: JSON and form, no authentication ---------------------------------
$n = mail_count();
$r = invite('v1', { medium => 'email', address => 'form1@example.org',
    room_id => '!r1:example.org', sender => '@bob:example.org',
    room_type => 'm.space', sender_display_name => 'Bob' });
is($r->{status}, 200, 'v1 JSON store-invite') or diag($r->{content});
is($r->{json}{public_keys}[1]{key_validity_url},
    "$url$v1/pubkey/ephemeral/isvalid", 'v1 validity URLs for a v1 request');
$m = (mails())[-1];
is(mime($m->{file})->{subject}, 'Bob has invited you to a space',
    'a space has its own subject');
unlike($m->{raw}, qr/\(\@bob:example\.org\) has/,
    'v1: the unverified sender is not vouched for');
like($m->{raw}, qr{^https://app\.element\.io/#/room/}m,
    'the configured web client by default');
$r = request('POST', "$v1/store-invite", 'medium=email&address=form2%40example.org'
    . '&room_id=%21r2%3Aexample.org&sender=%40bob%3Aexample.org',
    { 'Content-Type' => 'application/x-www-form-urlencoded' });
is($r->{status}, 200, 'v1 form-urlencoded store-invite (Dendrite)')
    or diag($r->{content});
is(mail_count(), $n + 2, 'a mail each');

# --- refusals: an error, nothing stored, no mail --------------------------
my $invites = psql('SELECT count(*) FROM invites');
my $keys = psql('SELECT count(*) FROM ephemeral_public_keys');
$n = mail_count();
my %ok = (medium => 'email', address => 'x@example.org',
    room_id => '!r:example.org', sender => '@carol:example.org');
is_error(invite('v2', { %ok, sender => $sender }), 401, 'M_UNAUTHORIZED',
    'v2 without a token: 401');
is_error(invite('v2', { %ok }, $auth), 403, 'M_UNAUTHORIZED',
    'v2 with a sender other than the token\'s user: 403');
is_error(invite('v1', { %ok, medium => 'msisdn' }), 400, 'M_UNRECOGNIZED',
    'medium msisdn: 400 M_UNRECOGNIZED');
is_error(invite('v1', { %ok, address => 'not an address' }), 400,
    'M_INVALID_EMAIL', 'a bad address: 400 M_INVALID_EMAIL');
is_error(invite('v1', { %ok, room_id => 'room' }), 400, 'M_INVALID_PARAM',
    'a bad room_id: 400 M_INVALID_PARAM');
is_error(invite('v1', { %ok, sender => 'carol' }), 400, 'M_INVALID_PARAM',
    'a bad sender: 400 M_INVALID_PARAM');
is_error(invite('v1', { %ok, room_id => 5 }), 400, 'M_INVALID_PARAM',
    'room_id a number: 400 M_INVALID_PARAM');
my %no_room = %ok;
delete $no_room{room_id};
is_error(invite('v1', \%no_room), 400, 'M_MISSING_PARAMS',
    'no room_id: 400 M_MISSING_PARAMS');
is_error(invite('v1', { %ok, sender => '@eve:blocked.example.org' }), 403,
    'M_UNAUTHORIZED', 'a blocked homeserver: 403');
is_error(invite('v1', { %ok, room_id => '!blocked:example.org' }), 403,
    'M_UNAUTHORIZED', 'a blocked room: 403');
is_error(invite('v1', { %ok, room_name => 'all about FORBIDDENWORDS' }), 403,
    'M_UNAUTHORIZED', 'a blocked keyword, case-folded: 403');
is_error(invite('v1', { %ok, 'org.matrix.web_client_location' =>
    'https://forbiddenword.example' }), 403, 'M_UNAUTHORIZED',
    'a blocked keyword in the web client location: 403');

# Already bound: M_THREEPID_IN_USE with the mxid.
my $secret = 'inviteuse';
$r = post("$v1/validate/email/requestToken",
    { client_secret => $secret, email => 'bound@example.org', send_attempt => 1 });
my $sid = $r->{json}{sid};
my ($vtoken) = (mails())[-1]{raw} =~ /token=([^&\s]+)/;
post("$v1/validate/email/submitToken",
    { sid => $sid, client_secret => $secret, token => $vtoken });
post("$v1/3pid/bind", { sid => $sid, client_secret => $secret,
    mxid => '@bound:example.org' });
$n = mail_count();
$r = invite('v1', { %ok, address => 'BOUND@example.org' });
is_error($r, 400, 'M_THREEPID_IN_USE', 'a bound address: 400 M_THREEPID_IN_USE');
is($r->{json}{mxid}, '@bound:example.org', 'with the mxid');
is(mail_count(), $n, 'no mail for any refused invite');
is(psql('SELECT count(*) FROM invites'), $invites, 'no invite stored');
is(psql('SELECT count(*) FROM ephemeral_public_keys'), $keys, 'no key stored');

# The rate limit per sender (4 a minute in the test stack).
my @st = map { invite('v1', { %ok, sender => '@busy:example.org',
    address => "busy$_\@example.org" })->{status} } 1 .. 5;
is("@st", '200 200 200 200 429', 'the fifth invite of a sender: 429');
is_error(invite('v1', { %ok, sender => '@busy:example.org' }), 429,
    'M_LIMIT_EXCEEDED', 'M_LIMIT_EXCEEDED');
is(invite('v1', { %ok, sender => '@calm:example.org' })->{status}, 200,
    'another sender is not limited');

# SMTP down: an error, no invite, no key; the retry through a working
# server succeeds.
my $down = free_port();
open(my $fh, '<', "$dir/sigil.conf") or die;
my $conf = join '', grep { !/^smtp_url/ } <$fh>;
my $w = start_worker('invite', $conf . "smtp_url = smtp://127.0.0.1:$down\n");
$invites = psql('SELECT count(*) FROM invites');
$keys = psql('SELECT count(*) FROM ephemeral_public_keys');
$r = fcgi_request($w, 'POST', "$v1/store-invite",
    { %ok, address => 'smtpdown@example.org' });
is_error($r, 400, 'M_EMAIL_SEND_ERROR', 'SMTP down: M_EMAIL_SEND_ERROR');
is(psql('SELECT count(*) FROM invites'), $invites, 'no invite left behind');
is(psql('SELECT count(*) FROM ephemeral_public_keys'), $keys,
    'no key left behind');
stop_worker($w);
is(invite('v1', { %ok, address => 'smtpdown@example.org' })->{status}, 200,
    'the same invite again, with SMTP up: 200');

# Expiry: the ephemeral key turns invalid and the token unknown.
psql("UPDATE invites SET expires_ts = 1 WHERE token = '$inv->{token}'");
psql("UPDATE ephemeral_public_keys SET expires_ts = 1 WHERE public_key = '$eph'");
is(get("$v2/pubkey/ephemeral/isvalid?public_key=$eph")->{content},
    '{"valid":false}', 'an expired invite\'s key is not valid');
is_error(post("$v1/sign-ed25519", { mxid => '@a:example.org',
    token => $inv->{token}, private_key => $priv }), 404, 'M_UNRECOGNIZED',
    'an expired invite cannot be signed');

done_testing();
