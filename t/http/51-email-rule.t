# One address rule and one canonical form, through the real stack.  The
# inputs an outside probe used (a quoted local part whose backslash
# escapes a CR or LF, quoted and escaped spellings of one mailbox,
# address literals, U+202E, U+2028, U+0085) are refused by every path
# that takes an address: requestToken (v1 JSON, form and query string,
# v2), store-invite (v1 and v2), unbind, and the lookups find nothing for
# them; no mail is sent and no row is left.  One mailbox spelled
# differently (case, an xn-- domain, NFD, full-width letters) is one
# session, one rate-limit bucket and one binding, which v1, bulk and v2
# lookups (sha256 of the Unicode form, as clients compute it) find.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Digest::SHA qw(sha256);
use Encode qw(encode_utf8 decode_utf8);
use MIME::Base64;
use Test::More;
use SigilTest;

my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';
my $hs = $ENV{SIGIL_TEST_HS};
my $form = { 'Content-Type' => 'application/x-www-form-urlencoded' };

sub escape { my ($s) = @_; $s = encode_utf8($s);
	$s =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord($1))/ge; $s }
sub show { my ($s) = @_;
	$s =~ s/([\x00-\x1f\x7f-\x{ffff}])/sprintf('\\x{%x}', ord($1))/ge; $s }
sub rows {
	return psql('SELECT (SELECT count(*) FROM validation_sessions) || \' \''
	    . ' || (SELECT count(*) FROM invites) || \' \''
	    . ' || (SELECT count(*) FROM bindings) || \' \''
	    . ' || (SELECT count(*) FROM rate_limits WHERE bucket LIKE'
	    . ' \'%vic%\')');
}
sub hash_of {
	my ($address, $medium, $pepper) = @_;
	return encode_base64(sha256(encode_utf8("$address $medium $pepper")),
	    '') =~ tr{+/}{-_}r =~ s/=+$//r;
}

my $tok = register_user('rule');
my $auth = { Authorization => "Bearer $tok" };

# --- the probe's inputs, refused everywhere ---------------------------------
my @bad = (
	"\"a\\\rbcc: x\@evil.example\"\@victim.example",
	"\"a\\\nRCPT TO:<x\@evil.example>\"\@victim.example",
	"\"a\\\r\nbcc: x\@evil.example\"\@victim.example",
	'"victim"@victim.example', '"v\\ictim"@victim.example',
	'v\\ictim@victim.example',
	'victim@[127.0.0.1]', 'victim@[IPv6:::1]', 'victim@127.0.0.1',
	"vic\x{202e}tim\@victim.example", "vic\x{2028}tim\@victim.example",
	"vic\x{85}tim\@victim.example", "victim\@victim.example\x{2029}",
	"vic\x{200b}tim\@victim.example", "victim\@vic\x{202e}tim.example",
	'victim@exa_mple.example', 'victim@xn--zz.example',
);
my $rows = rows();
my $mails = mail_count();
my $i = 0;
for my $e (@bad) {
	my $s = show($e);
	$i++;
	is_error(post("$v1/validate/email/requestToken", { client_secret =>
	    "rule$i", email => $e, send_attempt => 1 }), 400,
	    'M_INVALID_EMAIL', "v1 JSON requestToken refuses '$s'");
	is_error(request('POST', "$v1/validate/email/requestToken",
	    "client_secret=rule$i&send_attempt=1&email=" . escape($e), $form),
	    400, 'M_INVALID_EMAIL', '  v1 form');
	is_error(request('POST', "$v1/validate/email/requestToken"
	    . "?client_secret=rule$i&send_attempt=1&email=" . escape($e)),
	    400, 'M_INVALID_EMAIL', '  v1 query string');
	is_error(post("$v2/validate/email/requestToken", { client_secret =>
	    "rule$i", email => $e, send_attempt => 1 }, $auth), 400,
	    'M_INVALID_EMAIL', '  v2');
	is_error(post("$v1/store-invite", { medium => 'email', address => $e,
	    room_id => '!rule:example.org', sender => "\@rule$i:example.org" }),
	    400, 'M_INVALID_EMAIL', '  v1 store-invite');
	is_error(request('POST', "$v1/store-invite", 'medium=email&address='
	    . escape($e) . "&room_id=%21rule%3Aexample.org&sender=%40rule$i"
	    . '%3Aexample.org', $form), 400, 'M_INVALID_EMAIL',
	    '  v1 store-invite, form');
	is_error(post("$v2/store-invite", { medium => 'email', address => $e,
	    room_id => '!rule:example.org', sender => "\@rule:$hs" }, $auth),
	    400, 'M_INVALID_EMAIL', '  v2 store-invite');
	is_error(post("$v2/3pid/unbind", { mxid => '@rule:example.org',
	    sid => 'nosuch', client_secret => 'nosuch',
	    threepid => { medium => 'email', address => $e } }), 400,
	    'M_INVALID_EMAIL', '  unbind');
	is(get("$v1/lookup?medium=email&address=" . escape($e))->{content},
	    '{}', '  v1 lookup finds nothing');
	is_deeply(post("$v1/bulk_lookup", { threepids => [['email', $e]] })
	    ->{json}, { threepids => [] }, '  bulk_lookup finds nothing');
	my $pepper = get("$v2/hash_details", $auth)->{json}{lookup_pepper};
	is_deeply(post("$v2/lookup", { algorithm => 'none', pepper => $pepper,
	    addresses => ["$e email"] }, $auth)->{json}, { mappings => {} },
	    '  v2 lookup "none" finds nothing');
}
is(mail_count(), $mails, 'no mail was sent for any of them');
is(rows(), $rows, 'and no session, invite, binding or rate-limit row left');

# --- one mailbox, one session, one bucket, one binding ----------------------
# The canonical form: local part case-folded, domain in Unicode (NFC,
# lower case); SMTP gets the domain in A-labels.
my $canon = 'victim@bücher.example';
my @spellings = ('Victim@Bücher.example', 'VICTIM@XN--BCHER-KVA.EXAMPLE',
    "victim\@bu\x{308}cher.example", 'victim@ｂücher.example');
$mails = mail_count();
my $r = post("$v1/validate/email/requestToken", { client_secret => 'one',
    email => $spellings[0], send_attempt => 1 });
is($r->{status}, 200, 'requestToken for a Unicode domain')
    or diag($r->{content});
my $sid = $r->{json}{sid};
is(mail_count(), $mails + 1, 'one mail');
my $m = (mails())[-1];
is_deeply($m->{rcpt}, ['victim@xn--bcher-kva.example'],
    'RCPT TO has the domain in A-labels');
my @to = $m->{raw} =~ /^To:(.*)\r$/mg;
is_deeply([map { decode_utf8($_) } @to], [" $canon"],
    'one To: field, the canonical address alone');
unlike($m->{raw}, qr/^(Cc|Bcc):/mi, 'no Cc or Bcc');
for my $n (1 .. 3) {
	$r = post("$v1/validate/email/requestToken", { client_secret => 'one',
	    email => $spellings[$n], send_attempt => 1 });
	is($r->{json}{sid}, $sid, "'" . show($spellings[$n])
	    . "' is the same session");
}
is(mail_count(), $mails + 1, 'and a repeated send_attempt sends nothing');
is(psql("SELECT count(*) FROM rate_limits WHERE bucket LIKE 'email:victim@%'"),
    1, 'one rate-limit bucket');
is(psql("SELECT bucket FROM rate_limits WHERE bucket LIKE 'email:victim@%'"),
    encode_utf8("email:$canon"), 'named by the canonical address');
# ratelimit_address is 3 a minute: spelled three ways, the fourth mail
# is refused.
for my $n (2 .. 3) {
	is(post("$v1/validate/email/requestToken", { client_secret => 'one',
	    email => $spellings[$n - 1], send_attempt => $n })->{status}, 200,
	    "attempt $n spelled '" . show($spellings[$n - 1]) . "' is sent");
}
is_error(post("$v1/validate/email/requestToken", { client_secret => 'one',
    email => $spellings[3], send_attempt => 4 }), 429, 'M_LIMIT_EXCEEDED',
    'the fourth, spelled another way, hits the same limit');
is(mail_count(), $mails + 3, 'three mails in all');

# Validate and bind; every spelling finds the binding.
my ($token) = (mails())[-1]{raw} =~ /token=([^&\s]+)/;
is(post("$v1/validate/email/submitToken", { sid => $sid,
    client_secret => 'one', token => $token })->{status}, 200, 'validated');
$r = post("$v1/3pid/bind", { sid => $sid, client_secret => 'one',
    mxid => '@victim:example.org' });
is($r->{status}, 200, 'bound') or diag($r->{content});
is($r->{json}{address}, $canon, 'the association has the canonical address');
is(psql("SELECT count(*) FROM bindings WHERE address LIKE 'victim@%'"), 1,
    'one binding');
for my $s (@spellings) {
	is(get("$v1/lookup?medium=email&address=" . escape($s))->{json}{mxid},
	    '@victim:example.org', "v1 lookup of '" . show($s) . "' finds it");
}
$r = post("$v1/bulk_lookup", { threepids => [map { ['email', $_] }
    @spellings] });
is(scalar @{ $r->{json}{threepids} }, 4, 'bulk_lookup finds all four');
my $pepper = get("$v2/hash_details", $auth)->{json}{lookup_pepper};
my $h = hash_of(lc 'Victim@Bücher.example', 'email', $pepper);
$r = post("$v2/lookup", { algorithm => 'sha256', pepper => $pepper,
    addresses => [$h] }, $auth);
is($r->{json}{mappings}{$h}, '@victim:example.org',
    'a v2 hash of the address as typed, lower-cased, finds it');
$r = post("$v2/lookup", { algorithm => 'none', pepper => $pepper,
    addresses => ['VICTIM@XN--BCHER-KVA.EXAMPLE email'] }, $auth);
is($r->{json}{mappings}{'VICTIM@XN--BCHER-KVA.EXAMPLE email'},
    '@victim:example.org', 'so does v2 "none" with the xn-- spelling');
$mails = mail_count();
is_error(post("$v1/store-invite", { medium => 'email',
    address => 'Victim@xn--bcher-kva.example', room_id => '!one:example.org',
    sender => '@one:example.org' }), 400, 'M_THREEPID_IN_USE',
    'store-invite to another spelling: M_THREEPID_IN_USE');
is(mail_count(), $mails, '  and no mail');

done_testing();
