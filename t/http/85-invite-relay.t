# store-invite cannot be made a mail relay: limits keyed by what the
# caller cannot choose (recipient address, client address, room, v2
# token's user), each with 429 M_LIMIT_EXCEEDED and retry_after_ms, no
# mail and no row for a refused invite; org.matrix.web_client_location
# used only when it is an https:// URL of an allowed host, and no link
# of any mail other than http(s), for sigil's links and the request's
# alike (a template that puts every link variable in href and src); and
# invite_v1_clients, which opens v1 store-invite to listed addresses
# only.  Each setting runs in a worker of its own (start_worker) with
# its own client address (REMOTE_ADDR).
use strict;
use warnings;
use lib 't/lib';
use File::Copy;
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $hs = $ENV{SIGIL_TEST_HS};
my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';
my $n = 0;

# The stack's configuration without the keys KEYS, plus EXTRA.
sub conf_with {
	my ($extra, @keys) = @_;
	open(my $fh, '<', "$dir/sigil.conf") or die;
	my $drop = join '|', map { quotemeta } @keys;
	my $conf = join '', grep { !@keys || !/^\s*(?:$drop)\s*=/ } <$fh>;
	return $conf . $extra;
}
# A worker of sigil-invite with EXTRA over the stack's configuration,
# whose requests come from ADDR.
sub worker {
	my ($addr, $extra, @keys) = @_;
	my $w = start_worker('invite', conf_with($extra, @keys));
	$w->{remote_addr} = $addr;
	return $w;
}
sub invite_to {
	my ($w, %f) = @_;
	my $api = delete $f{api} // $v1;
	my $headers = delete $f{headers};
	my $query = delete $f{query} // '';
	$n++;
	return fcgi_request($w, 'POST', "$api/store-invite$query",
	    { medium => 'email', address => "relay$n\@example.org",
	    room_id => "!relay$n:example.org", sender => "\@s$n:example.org",
	    %f }, $headers);
}
sub rows { psql("SELECT count(*) FROM invites WHERE address = '$_[0]'") }
sub keys_stored { psql('SELECT count(*) FROM ephemeral_public_keys') }

# Thirty requests, SPEC(i) giving each one's fields: the statuses in
# order, and what the sink and the database gained.
sub thirty {
	my ($w, $spec) = @_;
	my ($mails, $keys) = (mail_count(), keys_stored());
	my @res = map { invite_to($w, $spec->($_)) } 1 .. 30;
	return (\@res, mail_count() - $mails, keys_stored() - $keys);
}
sub limited {
	my ($res, $allowed, $what) = @_;
	my @st = map { $_->{status} } @$res;
	is_deeply(\@st, [(200) x $allowed, (429) x (30 - $allowed)],
	    "$what: the first $allowed pass, the rest 429")
	    or diag(join ' ', @st);
	my $last = $res->[-1];
	is_error($last, 429, 'M_LIMIT_EXCEEDED', "$what: M_LIMIT_EXCEEDED");
	ok(($last->{json}{retry_after_ms} // 0) > 0, "$what: retry_after_ms");
}

# --- per recipient address: the default limit, 30 senders ----------------
my $w = worker('198.51.100.1', '');
my ($res, $mails, $keys) = thirty($w, sub {
	(address => ($_[0] % 2 ? 'Victim@Example.ORG' : 'victim@example.org'),
	    sender => "\@spoof$_[0]:example.org") });
limited($res, 10, 'one address, 30 senders and rooms');
is($mails, 10, 'the default limit\'s worth of mails (10 an hour)');
is(scalar(grep { $_->{rcpt}[0] eq 'victim@example.org' } mails()), 10,
    'all to the victim');
is(rows('victim@example.org'), 10, 'no invite row for a refused one');
is($keys, 10, 'no ephemeral key for a refused one');
is(invite_to($w)->{status}, 200, 'another address is not limited');
stop_worker($w);

# --- per room ---------------------------------------------------------------
$w = worker('198.51.100.2', "ratelimit_invite_room = 5 3600\n");
($res, $mails, $keys) = thirty($w, sub { (room_id => '!target:example.org') });
limited($res, 5, 'one room, 30 senders and addresses');
is($mails, 5, 'five mails');
is($keys, 5, 'five keys');
is(psql("SELECT count(*) FROM invites WHERE room_id = '!target:example.org'"),
    5, 'five invite rows');
is(invite_to($w)->{status}, 200, 'another room is not limited');
stop_worker($w);

# --- per client address -----------------------------------------------------
$w = worker('198.51.100.3', "ratelimit_invite_client = 5 3600\n");
($res, $mails, $keys) = thirty($w, sub { () });
limited($res, 5, 'one client, 30 senders, rooms and addresses');
is($mails, 5, 'five mails');
is($keys, 5, 'five keys');
$w->{remote_addr} = '198.51.100.4';
is(invite_to($w)->{status}, 200, 'another client address is not limited');
$w->{remote_addr} = '2001:db8::3';
is(invite_to($w)->{status}, 200, 'nor an IPv6 one');
stop_worker($w);

# --- a bound address: M_THREEPID_IN_USE names the user, so it counts too --
my $sid = validated_session('bound86@example.org', 'bound86');
is(post("$v1/3pid/bind", { sid => $sid, client_secret => 'bound86',
    mxid => '@bound86:example.org' })->{status}, 200, 'an address is bound');
$w = worker('198.51.100.8', "ratelimit_invite_address = 2 3600\n");
my @st = map { invite_to($w, address => 'bound86@example.org')->{status} }
    1 .. 3;
is("@st", '400 400 429', 'asking who has a bound address is limited too');
stop_worker($w);

# --- per v2 token's user (the per-sender limit off) -----------------------
my $tok = register_user('relayuser');
$w = worker('198.51.100.5', "ratelimit_invite_user = 3 3600\n"
    . "ratelimit_invite_sender = 0\n", 'ratelimit_invite_sender');
($res, $mails, $keys) = thirty($w, sub { (api => $v2,
    sender => "\@relayuser:$hs",
    headers => { Authorization => "Bearer $tok" }) });
limited($res, 3, 'one v2 user');
is($mails, 3, 'three mails');
is($keys, 3, 'three keys');
stop_worker($w);

# --- the web client location ------------------------------------------------
# Links in a mail: every href and src, and every scheme://... in the
# text; each must be http(s).  A template that puts every link variable
# of an invite in href or src (brand "links").
my $tdir = "$dir/templates-86";
mkdir $tdir;
for my $b (qw(default links)) {
	mkdir "$tdir/$b";
	copy("templates/default/$_", "$tdir/$b/$_") or die "$_: $!"
	    for qw(invite_template.eml verification_template.eml
	    verify_response_template.html sms_template.txt);
}
spew("$tdir/links/invite_template.eml", <<'EML');
Date: %(date)s
From: %(from)s
To: %(to)s
Message-ID: %(messageid)s
Subject: %(subject_header_value)s
MIME-Version: 1.0
Content-Type: text/html; charset="UTF-8"

<a href="%(join_link_forhtml)s">join</a>
<a href="%(sign_url_forhtml)s">sign</a>
<a href="%(web_client_location_forhtml)s">client</a>
<a href="%(org.matrix.web_client_location_forhtml)s">named client</a>
<img src="%(room_avatar_url_forhtml)s">
<img src="%(sender_avatar_url_forhtml)s">
<a href="%(com.example.more_link_forhtml)s">more</a>
EML
# The href and src values of the mail RAW; with ALL, every scheme://...
# of its body too.
sub links_of {
	my ($raw, $all) = @_;
	my ($body) = $raw =~ /\r\n\r\n(.*)\z/s;
	my @l = $body =~ /\b(?:href|src)="([^"]*)"/gi;
	push @l, $body =~ m{([A-Za-z][A-Za-z0-9+.-]*://[^\s"<>]*)}g if $all;
	s/&amp;/&/g for @l;
	return @l;
}
sub all_links_http {
	my ($raw, $what) = @_;
	my @bad = grep { $_ ne '' && !m{^https?://[^/?#\@]} }
	    links_of($raw, 1);
	ok(!@bad, "$what: every link is http(s) or empty") or diag("@bad");
	unlike($raw, qr/javascript:|data:|vbscript:/i,
	    "$what: no javascript: or data: anywhere");
}
sub link_target {
	my ($raw) = @_;
	my ($l) = $raw =~ m{^(\S+)/#/room/}m;
	return $l // '';
}

$w = worker('198.51.100.6', "invite_web_client = https://client.example.net\n"
    . "template_dir = $tdir\n", 'invite_web_client', 'template_dir',
    'invite_web_client_hosts');
my @cases = (
	[ 'javascript:alert(document.cookie)', 'https://client.example.net' ],
	[ 'JavaScript:alert(1)//https://client.example.net',
	    'https://client.example.net' ],
	[ 'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
	    'https://client.example.net' ],
	[ 'http://client.example.net/web', 'https://client.example.net' ],
	[ 'https://evil.example', 'https://client.example.net' ],
	[ 'https://client.example.net@evil.example/',
	    'https://client.example.net' ],
	[ 'https://client.example.net.evil.example',
	    'https://client.example.net' ],
	[ 'https://client.example.net/x?y=1', 'https://client.example.net' ],
	[ "https://client.example.net/a\"onmouseover=\"x",
	    'https://client.example.net' ],
	[ 'https://Client.Example.NET/web/', 'https://Client.Example.NET/web' ],
);
for my $c (@cases) {
	my ($loc, $want) = @$c;
	my $r = invite_to($w, 'org.matrix.web_client_location' => $loc);
	is($r->{status}, 200, "store-invite with location $loc")
	    or diag($r->{content});
	my $raw = (mails())[-1]{raw};
	is(link_target($raw), $want, "$loc: the join link goes to $want");
	all_links_http($raw, $loc);
}
# The request's own link fields in a template that makes them links.
my $r = invite_to($w, query => '?brand=links',
    'org.matrix.web_client_location' => 'javascript:alert(1)',
    room_avatar_url => 'javascript:alert(2)',
    sender_avatar_url => 'data:image/svg+xml,<svg onload=alert(3)>',
    'com.example.more_link' => 'vbscript:msgbox(4)');
is($r->{status}, 200, 'store-invite, brand "links"') or diag($r->{content});
my $raw = (mails())[-1]{raw};
my @links = links_of($raw);
is(scalar(grep { /^https?:/ } @links), 4,
    'join, sign, both web client links: http(s)');
is(scalar(grep { $_ eq '' } @links), 3,
    'the request\'s bad links are left empty');
all_links_http($raw, 'brand "links"');
$r = invite_to($w, query => '?brand=links',
    room_avatar_url => 'https://img.example.org/a.png',
    'com.example.more_link' => 'http://more.example.org/');
$raw = (mails())[-1]{raw};
like($raw, qr{src="https://img\.example\.org/a\.png"}, 'an https link stays');
like($raw, qr{href="http://more\.example\.org/"}, 'and an http one');
stop_worker($w);

# The stack allows chat.example.org besides its own web client.
$r = post("$v1/store-invite", { medium => 'email',
    address => 'allowed@example.org', room_id => '!allowed:example.org',
    sender => '@allowed:example.org',
    'org.matrix.web_client_location' => 'https://chat.example.org' });
is($r->{status}, 200, 'store-invite through the stack');
is(link_target((mails())[-1]{raw}), 'https://chat.example.org',
    'an allowed host (invite_web_client_hosts) is the link target');

# --- invite_v1_clients ------------------------------------------------------
$w = worker('198.51.100.7',
    "invite_v1_clients = 192.0.2.0/24 2001:db8::1\n");
my ($before, $keys0) = (mail_count(), keys_stored());
$r = invite_to($w, address => 'outsider@example.org');
is_error($r, 403, 'M_FORBIDDEN', 'v1 from an unlisted address: 403');
$w->{remote_addr} = '2001:db8::2';
is_error(invite_to($w, address => 'outsider@example.org'), 403,
    'M_FORBIDDEN', 'v1 from an unlisted IPv6 address: 403');
is(mail_count(), $before, 'no mail');
is(rows('outsider@example.org'), 0, 'no invite row');
is(keys_stored(), $keys0, 'no key');
$w->{remote_addr} = '192.0.2.77';
is(invite_to($w)->{status}, 200, 'v1 from a listed range: 200');
$w->{remote_addr} = '2001:db8::1';
is(invite_to($w)->{status}, 200, 'v1 from a listed IPv6 address: 200');
$w->{remote_addr} = '198.51.100.7';
my $tok2 = register_user('listed');
$r = invite_to($w, api => $v2, sender => "\@listed:$hs",
    headers => { Authorization => "Bearer $tok2" });
is($r->{status}, 200, 'v2 from an unlisted address: not affected')
    or diag($r->{content});
stop_worker($w);

done_testing();
