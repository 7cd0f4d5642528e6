# Accepting an email invite as clients do, in the orders and settings
# that used to break it: the invitee binds the address first (the
# invite is delivered to the homeserver) and clicks the mail's link
# after, which must still sign; enable_v1 = false, where the mailed link
# must still work without an identity server token (matrix-js-sdk sends
# none); and store-invite fields of any length up to the body cap
# (homeservers forward room names, avatar URLs and display names as
# they are), with only the mail's copy cut, never inside a UTF-8
# character, and every line of the mail within RFC 5322's 998 bytes.
use strict;
use warnings;
use lib 't/lib';
use Encode qw(decode);
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $url = $ENV{SIGIL_TEST_URL};
my $hs = $ENV{SIGIL_TEST_HS};
my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';

sub unescape { my ($s) = @_; $s =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge; $s }
sub escape { my ($s) = @_;
	$s =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord($1))/ge; $s }
# The sign URL of the join link in the mail RAW, unescaped.
sub sign_url_of {
	my ($raw) = @_;
	my ($s) = $raw =~ /[?&]signurl=([^&\s]+)/ or return '';
	return unescape($s);
}
sub lines_of {
	my ($file) = @_;
	open(my $fh, '<', $file) or return 0;
	my @l = <$fh>;
	return scalar @l;
}

# --- bind first, then click the link ---------------------------------------
my $r = post("$v1/store-invite", { medium => 'email',
    address => 'later@example.org', room_id => '!later:example.org',
    sender => '@host:example.org' });
is($r->{status}, 200, 'store-invite') or diag($r->{content});
my $token = $r->{json}{token};
my $eph = $r->{json}{public_keys}[1]{public_key};
my $sign = sign_url_of((mails())[-1]{raw});
like($sign, qr{^\Q$url$v1\E/sign-ed25519\?token=}, 'the mail\'s sign URL');
my $log = "$dir/onbind.log";
my $before = lines_of($log);
my $sid = validated_session('later@example.org', 'later-secret');
$r = post("$v1/3pid/bind", { sid => $sid, client_secret => 'later-secret',
    mxid => "\@later:$hs" });
is($r->{status}, 200, 'the invitee binds the address') or diag($r->{content});
ok(wait_for(sub { deliver_onbind(); psql("SELECT count(*) FROM invites "
    . "WHERE token = '$token' AND delivered_ts IS NOT NULL") == 1 }, 20),
    'the invite is delivered to the homeserver');
ok(lines_of($log) > $before, 'the homeserver double got it');
$r = request('POST', substr($sign, length $url) . '&mxid='
    . escape("\@later:$hs"), 'null');
is($r->{status}, 200, 'then the link from the mail still signs')
    or diag($r->{content});
is($r->{json}{token}, $token, 'that invite');
ok(verify_signed($r->{content}, 'localhost', 'ed25519:0', $eph),
    'with its ephemeral key (python3-signedjson)');

# --- enable_v1 = false --------------------------------------------------------
open(my $fh, '<', "$dir/sigil.conf") or die;
my $conf = join '', <$fh>;
close $fh;
my $w = start_worker('invite', $conf . "enable_v1 = false\n");
my $tok = register_user('nov1');
my $auth = { Authorization => "Bearer $tok" };
$r = fcgi_request($w, 'POST', "$v2/store-invite", { medium => 'email',
    address => 'nov1@example.org', room_id => '!nov1:example.org',
    sender => "\@nov1:$hs" }, $auth);
is($r->{status}, 200, 'v1 off: v2 store-invite') or diag($r->{content});
my $nov1_eph = $r->{json}{public_keys}[1]{public_key};
$sign = sign_url_of((mails())[-1]{raw});
like($sign, qr{^\Q$url$v1\E/sign-ed25519\?token=},
    'the mailed sign URL stays the one clients follow without a token');
# matrix-js-sdk: POST <signurl>&mxid=..., no body, no token.
$r = fcgi_request($w, 'POST', substr($sign, length $url) . '&mxid='
    . escape('@joiner:example.org'));
is($r->{status}, 200, 'v1 off: the link from the mail signs, no token')
    or diag($r->{content});
ok(verify_signed($r->{content}, 'localhost', 'ed25519:0', $nov1_eph),
    'with the invite\'s ephemeral key');
my ($q) = $sign =~ /\?(.*)\z/;
is_error(fcgi_request($w, 'POST', "$v1/sign-ed25519?$q&mxid=nope"), 400,
    'M_INVALID_PARAM', 'v1 off: the same checks (a bad mxid: 400)');
is_error(fcgi_request($w, 'POST', "$v1/sign-ed25519", { mxid =>
    '@joiner:example.org', token => $token, private_key => 'A' x 43 }), 400,
    'M_INVALID_PARAM', 'v1 off: another invite\'s token with a wrong key: 400');
is_error(fcgi_request($w, 'POST', "$v2/sign-ed25519", { mxid =>
    '@joiner:example.org', token => $token, private_key => 'A' x 43 }), 401,
    'M_UNAUTHORIZED', 'v2 sign-ed25519 still wants a token');
is_error(fcgi_request($w, 'POST', "$v1/store-invite", { medium => 'email',
    address => 'nov1b@example.org', room_id => '!nov1:example.org',
    sender => '@x:example.org' }), 404, 'M_UNRECOGNIZED',
    'v1 off: v1 store-invite is still gone');
stop_worker($w);

# --- long fields ------------------------------------------------------------
my %base = (medium => 'email', room_id => '!long:example.org',
    sender => '@long:example.org');
for my $len (1500, 20000) {
	my $n = mail_count();
	my $name = "\x{e9}" x ($len / 2);		# 2 bytes each in UTF-8
	my $snow = "\x{2603}" x int($len / 3);	# 3 bytes each
	$r = post("$v1/store-invite", { %base, address => "long$len\@example.org",
	    room_name => $name, sender_display_name => $snow,
	    room_avatar_url => 'mxc://example.org/' . ('a' x $len),
	    sender_avatar_url => 'https://example.org/' . ('b' x $len),
	    room_alias => '#' . ('c' x $len) . ':example.org',
	    'com.example.note' => 'd' x $len });
	is($r->{status}, 200, "$len-byte fields: 200") or diag($r->{content});
	is(mail_count(), $n + 1, "$len-byte fields: mailed");
	my $raw = (mails())[-1]{raw};
	my @long = grep { length($_) > 998 } split /\r\n/, $raw;
	is(scalar @long, 0, "$len-byte fields: no line of the mail over 998 "
	    . 'bytes') or diag(length($long[0]));
	my ($rn) = $raw =~ /[?&]room_name=([^&\s]*)/;
	my $bytes = unescape($rn // '');
	ok(length($bytes) > 0 && length($bytes) <= 96,
	    "$len-byte fields: the link's room name is cut");
	ok(eval { decode('UTF-8', $bytes, Encode::FB_CROAK); 1 },
	    "$len-byte fields: and is still whole UTF-8 characters");
	my ($in) = $raw =~ /[?&]inviter_name=([^&\s]*)/;
	ok(eval { decode('UTF-8', unescape($in // ''), Encode::FB_CROAK); 1 },
	    "$len-byte fields: so is the inviter's name");
	unlike($raw, qr/room_avatar_url=mxc/,
	    "$len-byte fields: a URL too long for the link is left out");
	is(psql("SELECT count(*) FROM invites WHERE address = "
	    . "'long$len\@example.org'"), 1, "$len-byte fields: stored");
}
my $n = mail_count();
my $invites = psql('SELECT count(*) FROM invites');
$r = post("$v1/store-invite", { %base, address => 'toolong@example.org',
    room_name => 'x' x (1024 * 1024 + 1) });
is_front_error($r, 413, 'M_TOO_LARGE', 'a body over the cap: 413 M_TOO_LARGE');
is(mail_count(), $n, 'no mail');
is(psql('SELECT count(*) FROM invites'), $invites, 'no invite');

done_testing();
