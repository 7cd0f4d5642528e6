# Synapse's whole conversation with an identity server, sent as Synapse's
# code sends it: method, path, query (urlencoded in Synapse's order),
# headers (Synapse's SimpleHttpClient sends Accept and User-Agent, plus
# Content-Type and the body as canonical JSON on a POST: http/client.py
# 549-563, 597, 678-686) and body fields, each answer read as Synapse
# reads it.  Signatures sigil makes are checked by python3-signedjson
# (t/lib/verify-signed.py), the X-Matrix signature sigil checks is made
# by python3-signedjson too (t/lib/xmatrix-sign.py): neither is sigil's
# code.  Synapse sends to https://<id_server>/...; here the stack's URL,
# whose server_name, "localhost", stands for <id_server>.
#
# Sources: element-hq/synapse at a58ad44eb0ce (1.157.1), paths under
# synapse/.  HS = the homeserver double (t/lib/homeserver-double.py).
#
# step  request (who sends it)                          from (file:lines)
# ----  ----------------------------------------------  -----------------
#  1    POST v2/account/register {access_token,         rest/client/openid.py:92-104
#       token_type "Bearer", matrix_server_name,        (the object Synapse hands the
#       expires_in 3600} (the client, with the          client; EXPIRES_MS :72); sigil
#       OpenID object Synapse gave it)                  asks HS's openid/userinfo
#  2    POST v2/3pid/bind {client_secret, mxid, sid},   handlers/identity.py:200-209;
#       Authorization: Bearer (Synapse)                 reads medium, address :212-217
#  3    GET v2/hash_details?access_token=<token>,       handlers/identity.py:585-588;
#       Accept and User-Agent only, no Authorization    http/client.py:597 (Accept),
#       (Synapse; before every lookup, which it makes   :678-682 (urlencode, User-Agent);
#       for each invite by 3PID)                        any error: no lookup :559-566;
#                                                       handlers/room_member.py:1726-1769
#                                                       (not found: store-invite, step 6)
#  4    POST v2/lookup {addresses: [sha256 of           handlers/identity.py:620-627,
#       "<address> <medium> <pepper>", url-safe         :648-660; util/hash.py:27-38;
#       unpadded base64], algorithm "sha256",           reads mappings[hash] :669-678
#       pepper}, Bearer (Synapse)
#  5    POST v2/lookup {addresses: ["<address>          handlers/identity.py:629-634,
#       <medium>"], algorithm "none", pepper}, Bearer   :648-660 (only when hash_details
#       (Synapse)                                       lacks sha256, :621: sigil always
#                                                       offers it; sent here all the same)
#  6    POST v2/store-invite {medium, address,          handlers/identity.py:727-762;
#       room_id, room_alias, room_avatar_url,           values handlers/room_member.py:
#       room_join_rules, room_name, sender,             1800-1856 ("" for what the room
#       sender_display_name, sender_avatar_url,         lacks); reads token, public_keys,
#       room_type?, org.matrix.web_client_location?},   public_key, display_name
#       Bearer (Synapse); and one for a room with       :766-779 (the fallback key's
#       nothing set                                     validity URL Synapse builds
#                                                       itself, v2 pubkey/isvalid :751-754)
#  7    POST <sign URL from the mail>&mxid=<invitee>,   (the invitee's client,
#       no body (the invitee's client)                  matrix-js-sdk; not Synapse)
#  8    the join's signed {mxid, sender, token}:        event_auth.py:1242-1250 (key
#       each key, public_key first, tried with          order), handlers/room_member.py:
#       signedjson; the key that verifies is checked    1863-1871 (event content),
#       at its key_validity_url: GET                    handlers/federation.py:1705-1754,
#       pubkey/ephemeral/isvalid?public_key=<key>       :1765-1783 (GET url with
#       (Synapse, the inviter's server)                 {"public_key"}; needs valid true)
#  9    the same for each invite of the onbind sigil    federation/transport/server/
#       POSTs to HS after the invitee's bind: signed    federation.py:654-684 ->
#       with the long-term key, so GET                  handlers/federation.py:1467-1529
#       v2/pubkey/isvalid?public_key=<key> (the URL     -> :1671-1783 as in 8
#       Synapse built in 6)
# 10    POST v2/3pid/unbind {mxid, threepid: {address,  handlers/identity.py:295-318;
#       medium}}, Authorization: X-Matrix origin,key,   http/matrixfederationclient.py:
#       sig,destination="<id_server>"; signed JSON      905-965 (destination None,
#       {method, uri, origin, destination_is, content}  destination_is the IS; the header
#       (Synapse)                                       names it as destination=)
#       refused (no credentials, a bad signature):      handlers/identity.py:320-331: a
#       403 M_FORBIDDEN                                 403 is no 400/404/501 ("no unbind
#                                                       support"), so Synapse answers its
#                                                       client 500 and keeps the binding,
#                                                       as it did with the old 401
# 11    POST v1/validate/msisdn/requestToken {client_   handlers/identity.py:422-458
#       secret, country, phone_number, send_attempt,    (http_client, no token), called
#       next_link?}, no Authorization (Synapse, as      from rest/client/account.py:
#       account_threepid_delegates.msisdn)              465-483, register.py:243-253
# 12    POST v1/validate/msisdn/submitToken {client_    handlers/identity.py:512-535,
#       secret, sid, token} (Synapse)                   rest/client/account.py:576-593
# 13    GET v1/3pid/getValidated3pid?sid=&client_       handlers/identity.py:107-164
#       secret= (Synapse; needs "medium" in the         (query order :138), from
#       answer)                                         handlers/ui_auth/checkers.py:
#                                                       176-184, identity.py:502-508
#  -    email requestToken/submitToken: not delegated   config/registration.py:88-90
#       any more: Synapse refuses to start with         (ConfigError), :30-35; it mails
#       account_threepid_delegates.email and sends      itself: handlers/identity.py:
#       the mail itself; nothing reaches the IS (the    335-420, ui_auth/checkers.py:
#       email a user binds reaches it in step 2)        185-199
use strict;
use warnings;
use lib 't/lib';
use Digest::SHA qw(sha256);
use JSON::PP;
use MIME::Base64;
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $url = $ENV{SIGIL_TEST_URL};
my $hs = $ENV{SIGIL_TEST_HS};		# the homeserver double, host:port
my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';
my $is_name = 'localhost';		# the stack's server_name
my $ua = 'Synapse/1.157.1';
my $canon = JSON::PP->new->canonical(1)->utf8(1);
my $key_id = conf_value('signing_key_id');
my $long_term = get("$v2/pubkey/$key_id")->{json}{public_key};

# Python's urllib.parse.quote_plus, and urlencode of ordered pairs.
sub quote_plus {
	my ($s) = @_;
	$s =~ s/([^A-Za-z0-9_.~-])/$1 eq ' ' ? '+' : sprintf('%%%02X', ord $1)/ge;
	return $s;
}
sub urlencode {
	my @kv = @_;
	my @out;
	while (my ($k, $v) = splice(@kv, 0, 2)) {
		push @out, quote_plus($k) . '=' . quote_plus($v);
	}
	return join('&', @out);
}
# What SimpleHttpClient's post_json_get_json and get_json send.
sub synapse_post {
	my ($path, $obj, $headers) = @_;
	return request('POST', $path, $canon->encode($obj), {
	    'Content-Type' => 'application/json', 'User-Agent' => $ua,
	    Accept => 'application/json', %{ $headers // {} } });
}
sub synapse_get {
	my ($path, @args) = @_;
	return request('GET', $path . (@args ? '?' . urlencode(@args) : ''),
	    undef, { 'User-Agent' => $ua, Accept => 'application/json' });
}
sub bearer { { Authorization => "Bearer $_[0]" } }
sub b64url { encode_base64($_[0], '') =~ tr{+/}{-_}r =~ s/=+$//r }
sub unescape { my ($s) = @_; $s =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge; $s }
sub lines_of {
	my ($file) = @_;
	open(my $fh, '<', $file) or return ();
	return map { chomp; $_ } <$fh>;
}

# verify_signed without the reason a key does not verify on our stdout
# (Synapse tries every key; most do not verify).
sub quiet_verify {
	open(my $save, '>&', \*STDOUT) or die;
	open(STDOUT, '>', '/dev/null') or die;
	my $ok = verify_signed(@_);
	open(STDOUT, '>&', $save) or die;
	return $ok;
}

# Step 8 and 9: Synapse's check of a signed third-party invite block
# against the keys of the m.room.third_party_invite event: each key in
# turn (event_auth.py:1242-1250), every ed25519 signature of the block
# tried with it; the first that verifies has its key_validity_url asked
# (federation.py:1743-1783).  Returns (the key object used, the answer
# of its validity URL), or () when no key verifies.
sub synapse_check_signed {
	my ($signed, @keys) = @_;
	my $text = $canon->encode($signed);
	for my $k (@keys) {
		for my $server (sort keys %{ $signed->{signatures} }) {
			for my $name (sort keys %{ $signed->{signatures}{$server} }) {
				next unless $name =~ /^ed25519:/;
				next unless quiet_verify($text, $server, $name,
				    $k->{public_key});
				(my $path = $k->{key_validity_url}) =~
				    s{^https?://[^/]+}{};
				return ($k, synapse_get($path,
				    public_key => $k->{public_key}));
			}
		}
	}
	return ();
}

# --- 1: account/register with Synapse's OpenID object -------------------
# The double takes good-<localpart>@<server> tokens (Synapse's are 24
# random letters, rest/client/openid.py:92).
sub register_with_openid {
	my ($local) = @_;
	my $r = synapse_post("$v2/account/register", {
	    access_token => "good-$local\@$hs", token_type => 'Bearer',
	    matrix_server_name => $hs, expires_in => 3600 });
	is($r->{status}, 200, "1: account/register for \@$local")
	    or diag($r->{content});
	my $tok = $r->{json}{token};
	# The terms, as the client accepts them.
	post("$v2/terms", { user_accepts => [
	    'https://terms.example.org/privacy-1.0-en.html',
	    'https://terms.example.org/tos-2.0-en.html'] }, bearer($tok));
	return $tok;
}
my $tok = register_with_openid('syn');
like($tok // '', qr/^\S{20,}$/, '1: a token');
my $mxid = "\@syn:$hs";

# --- 2: v2 bind ----------------------------------------------------------
my $email = 'syn@example.org';
my $sid = validated_session($email, 'syn-secret');	# the client's part
my $r = synapse_post("$v2/3pid/bind", { sid => $sid,
    client_secret => 'syn-secret', mxid => $mxid }, bearer($tok));
is($r->{status}, 200, '2: v2 bind') or diag($r->{content});
is($r->{json}{medium}, 'email', '2: medium, which Synapse stores');
is($r->{json}{address}, $email, '2: address, which Synapse stores');
ok(verify_signed($r->{content}, $is_name, $key_id, $long_term),
    '2: the association verifies (python3-signedjson)');

# --- 3: hash_details with the token in the query only --------------------
$r = synapse_get("$v2/hash_details", access_token => $tok);
is($r->{status}, 200, '3: hash_details?access_token=, no Authorization header')
    or diag($r->{content});
my $pepper = $r->{json}{lookup_pepper} // '';
ok(ref $r->{json}{algorithms} eq 'ARRAY' &&
    (grep { $_ eq 'sha256' } @{ $r->{json}{algorithms} }),
    '3: algorithms is a list with sha256 (identity.py:606-621)');
ok(length $pepper, '3: lookup_pepper is a non-empty string');
is_error(synapse_get("$v2/hash_details", access_token => 'nosuch'), 401,
    'M_UNAUTHORIZED', '3: an unknown query token: 401');

# --- 4, 5: lookup, sha256 and none ---------------------------------------
my $hash = b64url(sha256("$email email $pepper"));
$r = synapse_post("$v2/lookup", { addresses => [$hash],
    algorithm => 'sha256', pepper => $pepper }, bearer($tok));
is($r->{status}, 200, '4: lookup sha256') or diag($r->{content});
is($r->{json}{mappings}{$hash}, $mxid, '4: mappings[hash] is the user');
my $plain = "$email email";
$r = synapse_post("$v2/lookup", { addresses => [$plain],
    algorithm => 'none', pepper => $pepper }, bearer($tok));
is($r->{status}, 200, '5: lookup none') or diag($r->{content});
is($r->{json}{mappings}{$plain}, $mxid, '5: mappings["<address> <medium>"]');
$r = synapse_post("$v2/lookup", { addresses => [$hash],
    algorithm => 'sha256', pepper => $pepper });
is_error($r, 401, 'M_UNAUTHORIZED', '4: lookup without Bearer: 401');

# --- 6: store-invite, every field Synapse sends ---------------------------
# First the lookup of steps 3-4 for the address (room_member.py:1726):
# not bound, so Synapse stores an invite (:1739-1768).
my $invitee = 'syn-invitee@example.org';
my $ihash = b64url(sha256("$invitee email $pepper"));
$r = synapse_post("$v2/lookup", { addresses => [$ihash],
    algorithm => 'sha256', pepper => $pepper }, bearer($tok));
is_deeply($r->{json}{mappings}, {}, '6: the invitee\'s address is not bound');
my $n = mail_count();
$r = synapse_post("$v2/store-invite", {
    medium => 'email', address => $invitee,
    room_id => '!synroom:example.org', room_alias => '#syn:example.org',
    room_avatar_url => 'mxc://example.org/avatar',
    room_join_rules => 'invite', room_name => 'Synapse room',
    sender => $mxid, sender_display_name => 'Syn Sender',
    sender_avatar_url => 'mxc://example.org/sender',
    room_type => 'm.space',
    'org.matrix.web_client_location' => 'https://app.element.io' },
    bearer($tok));
is($r->{status}, 200, '6: v2 store-invite with every field')
    or diag($r->{content});
my $inv = $r->{json};
ok(defined $inv->{token} && defined $inv->{display_name},
    '6: token and display_name (identity.py:766, :778)');
is($inv->{public_key}, $long_term, '6: public_key, the long-term key');
is(ref $inv->{public_keys}, 'ARRAY', '6: public_keys');
is(mail_count(), $n + 1, '6: the invite is mailed');
my $mail = (mails())[-1];
# The event content Synapse makes of it (room_member.py:1863-1871): the
# fallback key with the validity URL Synapse builds (identity.py:751-772).
my @event_keys = ({ public_key => $inv->{public_key},
    key_validity_url => "https://$is_name$v2/pubkey/isvalid" },
    @{ $inv->{public_keys} });
# A room with no alias, avatar, name or type: Synapse sends "".
$r = synapse_post("$v2/store-invite", {
    medium => 'email', address => 'syn-bare@example.org',
    room_id => '!synbare:example.org', room_alias => '',
    room_avatar_url => '', room_join_rules => '', room_name => '',
    sender => $mxid, sender_display_name => $mxid,
    sender_avatar_url => '' }, bearer($tok));
is($r->{status}, 200, '6: store-invite for a room with nothing set ("")')
    or diag($r->{content});

# --- 7, 8: the invitee follows the sign URL; Synapse checks the keys -----
my ($sign) = $mail->{raw} =~ /[?&]signurl=([^&\s]+)/;
$sign = unescape($sign // '');
like($sign, qr{^\Q$url\E/}, '7: the mail has a sign URL here');
my $invitee_mxid = "\@syninv:$hs";
$r = request('POST', substr($sign, length $url) . '&mxid='
    . quote_plus($invitee_mxid));
is($r->{status}, 200, '7: the sign URL signs') or diag($r->{content});
my $signed = $r->{json};
is($signed->{mxid}, $invitee_mxid, '7: for the invitee (event_auth.py:1215)');
is($signed->{token}, $inv->{token}, '7: the invite\'s token (:1203)');
my ($used, $valid) = synapse_check_signed($signed, @event_keys);
ok($used, '8: one of the invite event\'s keys verifies the signed block');
like($used->{key_validity_url} // '', qr{/pubkey/ephemeral/isvalid$},
    '8: the ephemeral key');
is($valid->{status}, 200, '8: GET pubkey/ephemeral/isvalid?public_key=')
    or diag($valid->{content});
is_deeply($valid->{json}, { valid => JSON::PP::true },
    '8: {"valid": true}: the join is allowed');
$signed->{mxid} = '@intruder:example.org';
ok(!synapse_check_signed($signed, @event_keys),
    '8: a signed block altered afterwards verifies with no key');

# --- 9: the invitee binds; the onbind's invites, as Synapse checks them ---
my $log = "$dir/onbind.log";
my $itok = register_with_openid('syninv');
my $isid = validated_session($invitee, 'syninv-secret');
$r = synapse_post("$v2/3pid/bind", { sid => $isid,
    client_secret => 'syninv-secret', mxid => $invitee_mxid }, bearer($itok));
is($r->{status}, 200, '9: the invitee\'s v2 bind') or diag($r->{content});
$r = synapse_post("$v2/lookup", { addresses => [$ihash],
    algorithm => 'sha256', pepper => $pepper }, bearer($tok));
is($r->{json}{mappings}{$ihash}, $invitee_mxid, '9: the next invite\'s lookup '
    . 'finds the user (Synapse invites them directly, room_member.py:1730-1738)');
my $onbind;
ok(wait_for(sub {
	deliver_onbind();
	($onbind) = grep { index($_, $inv->{token}) >= 0 } lines_of($log);
	defined $onbind }, 20), '9: the onbind reached the homeserver');
my $onbind_body = eval { $canon->decode($onbind // '') } // {};
my ($delivered) = grep { $_->{signed}{token} eq $inv->{token} }
    @{ $onbind_body->{invites} // [] };
ok($delivered && $delivered->{mxid} eq $invitee_mxid && $delivered->{sender}
    eq $mxid && $delivered->{room_id} eq '!synroom:example.org',
    '9: sender, mxid, room_id, signed (transport/server/federation.py:667-678)');
($used, $valid) = synapse_check_signed($delivered->{signed} // {}, @event_keys);
is($used && $used->{public_key}, $long_term, '9: verified by the long-term key');
is($valid->{status}, 200, '9: GET v2/pubkey/isvalid?public_key=')
    or diag($valid->{content});
is_deeply($valid->{json}, { valid => JSON::PP::true }, '9: {"valid": true}');
# A revoked key, asked the same way: Synapse refuses the invite (:1782).
my ($revoked) = map { /^\S+\s+(\S+)$/ ? $1 : () } conf_value('revoked_key');
$r = synapse_get("$v2/pubkey/isvalid", public_key => $revoked);
is_deeply($r->{json}, { valid => JSON::PP::false },
    '9: a revoked key: {"valid": false}');

# --- 10: unbind, X-Matrix as Synapse signs it ----------------------------
sub synapse_unbind {
	my ($content, %o) = @_;
	open(my $in, '>', "$dir/unbind-content.json") or die;
	print $in $canon->encode($content);
	close $in;
	my $seed = $o{seed} // "$dir/tls/hs-signing.seed";
	my $pid = open(my $fh, '-|') // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<', "$dir/unbind-content.json") or die;
		exec('/usr/bin/python3', 't/lib/xmatrix-sign.py', $hs, $seed,
		    'hs1', 'POST', "$v2/3pid/unbind", $is_name);
		die "exec: $!";
	}
	my $out = do { local $/; <$fh> };
	close $fh;
	my ($auth, $body) = split /\n/, $out // '';
	die "xmatrix-sign.py failed" unless defined $body;
	return request('POST', "$v2/3pid/unbind", $body, {
	    'Content-Type' => 'application/json', 'User-Agent' => $ua,
	    Accept => 'application/json', Authorization => $auth });
}
my $content = { mxid => $mxid,
    threepid => { medium => 'email', address => $email } };
# Another key than the homeserver's: a bad signature.
system('sh', '-c', "openssl rand -base64 32 >'$dir/other.seed'") == 0 or die;
$r = synapse_unbind($content, seed => "$dir/other.seed");
is_error($r, 403, 'M_FORBIDDEN', '10: signed with another key: 403 '
    . 'M_FORBIDDEN (Synapse: 500 to its client, binding kept)');
$r = synapse_post("$v2/3pid/unbind", $content);
is_error($r, 403, 'M_FORBIDDEN', '10: no credentials at all: 403 M_FORBIDDEN');
$r = synapse_post("$v2/lookup", { addresses => [$hash],
    algorithm => 'sha256', pepper => $pepper }, bearer($tok));
is($r->{json}{mappings}{$hash}, $mxid, '10: still bound after the refusals');
$r = synapse_unbind($content);
is($r->{status}, 200, '10: unbind signed as Synapse signs') or diag($r->{content});
is($r->{content}, '{}', '10: {}');
$r = synapse_post("$v2/lookup", { addresses => [$hash],
    algorithm => 'sha256', pepper => $pepper }, bearer($tok));
is_deeply($r->{json}{mappings}, {}, '10: the lookup finds nothing now');

# --- 11-13: msisdn delegated to sigil (account_threepid_delegates) --------
my $texts = () = texts();
$r = synapse_post("$v1/validate/msisdn/requestToken", { country => 'GB',
    phone_number => '07911 123456', client_secret => 'synmsisdn',
    send_attempt => 1, next_link => 'https://app.example.org/done' });
is($r->{status}, 200, '11: v1 msisdn requestToken as Synapse forwards it')
    or diag($r->{content});
my $msid = $r->{json}{sid};
ok(defined $msid, '11: a sid, which Synapse hands back with its submit_url');
my @t = texts();
is(scalar @t, $texts + 1, '11: one text');
my ($code) = (@t ? $t[-1]{text} : '') =~ /(\d{6,})/;
$r = synapse_post("$v1/validate/msisdn/submitToken", {
    client_secret => 'synmsisdn', sid => $msid, token => '000000' x
    (($code // '') ne '000000') . '111111' x (($code // '') eq '000000') });
is_error($r, 400, 'M_TOKEN_INCORRECT', '12: a wrong code: 400 '
    . '(Synapse: 400 to its client, account.py via identity.py:538-540)');
$r = synapse_post("$v1/validate/msisdn/submitToken", {
    client_secret => 'synmsisdn', sid => $msid, token => $code });
is($r->{status}, 200, '12: v1 msisdn submitToken as Synapse proxies it')
    or diag($r->{content});
is($r->{json}{success}, JSON::PP::true, '12: success');
$r = synapse_get("$v1/3pid/getValidated3pid", sid => $msid,
    client_secret => 'synmsisdn');
is($r->{status}, 200, '13: getValidated3pid?sid=&client_secret=')
    or diag($r->{content});
is($r->{json}{medium}, 'msisdn', '13: with "medium" (identity.py:160)');
is($r->{json}{address}, '447911123456', '13: and the MSISDN');
is_error(synapse_get("$v1/3pid/getValidated3pid", sid => $msid,
    client_secret => 'wrong'), 404, 'M_NO_VALID_SESSION',
    '13: another secret: an error, which Synapse takes as "not validated" '
    . '(identity.py:146-153)');

# The query token of step 3 was written down nowhere: the web server's
# access log has the request without its query string (the "sigil"
# formats of deploy/), sigil's logs never name a token.  The access log
# is buffered for up to a second (nginx's flush=1s).
my ($access) = front_logs();
ok(wait_for(sub { slurp($access) =~ m{GET $v1/3pid/getValidated3pid } }, 10),
    'the access log holds the last request') or diag(slurp($access));
like(slurp($access), qr{"GET $v2/hash_details HTTP/1\.1"},
    'hash_details is logged without its query string');
my @with = grep { index(slurp($_), $tok) >= 0 }
    grep { !/(homeserver|sms|onbind)-double/ } glob("$dir/logs/*.log");
is_deeply(\@with, [], 'the query token is in no log of the stack');

done_testing();
