# The web server in front as shipped (deploy/nginx*.conf.in,
# sigil-location.conf, apache*.conf.in, the shared host's .htaccess and
# lighttpd-sigil.conf): every error it answers itself on sigil's paths
# is Matrix JSON with CORS headers (TRACE, CONNECT, a header or a
# request line over the limit, a malformed request, a Transfer-Encoding
# or an HTTP version it does not take, %2f or %00 in the path, a body
# too large), and its per-client limits answer 429 M_LIMIT_EXCEEDED.
# What a shared host's Apache refuses before it reads any .htaccess is
# the host's own page (README, "Shared hosting"): only its status is
# checked there.  The test stack exempts 127.0.0.1 from the limits (the
# rest of the suite sends everything from there); the limits are
# reached here from other loopback addresses, with the shipped values.
use strict;
use warnings;
use lib 't/lib';
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use Test::More;
use SigilTest;

my ($port) = $ENV{SIGIL_TEST_URL} =~ /:(\d+)$/;
my $apache = front() eq 'apache';
my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';

# connect_from(ADDRESS): a connection to the stack from that local address.
sub connect_from {
	my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
	    LocalAddr => $_[0] // '127.0.0.1', Timeout => 10);
	return $s || die "connect: $!";
}

# raw(TEXT, FROM?): TEXT sent as is on a new connection; the response as
# request() returns it.
sub raw {
	my ($text, $from) = @_;
	my $s = connect_from($from);
	print $s $text;
	local $/;
	return parse(<$s> // '');
}

# parse(TEXT): an HTTP response as request() returns it.
sub parse {
	my ($resp) = @_;
	my ($head, $body) = split /\r\n\r\n/, $resp, 2;
	my %r = (status => 0, content => $body // '', headers => {});
	my @lines = split /\r\n/, $head // '';
	($r{status}) = (shift(@lines) // '') =~ m{^HTTP/1\.[01] (\d+)};
	$r{status} //= 0;
	$r{headers} = { map { /^([^:]+):\s*(.*)$/ ? (lc $1, $2) : () } @lines };
	if (($r{headers}{'transfer-encoding'} // '') =~ /chunked/i) {
		my ($in, $out) = ($r{content}, '');
		while ($in =~ s/^([0-9a-fA-F]+)\r\n//) {
			my $n = hex $1;
			last if $n == 0;
			$out .= substr($in, 0, $n, '');
			$in =~ s/^\r\n//;
		}
		$r{content} = $out;
	}
	$r{json} = eval { JSON::PP->new->decode($r{content}) };
	return \%r;
}

# is_json_error(RESPONSE, STATUS, NAME): a Matrix error (any M_ code)
# with CORS headers.
sub is_json_error {
	my ($r, $status, $name) = @_;
	ok($r->{status} == $status && ref $r->{json} eq 'HASH' &&
	    ($r->{json}{errcode} // '') =~ /^M_[A-Z_]+$/ &&
	    ($r->{headers}{'content-type'} // '') eq 'application/json' &&
	    ($r->{headers}{'access-control-allow-origin'} // '') eq '*', $name)
	    or diag("got $r->{status}: $r->{content}");
}

my $end = "Host: localhost\r\nConnection: close\r\n\r\n";

# Errors the front raises itself, on every front: the request, then what
# each answers (by family: the shared host's Apache under mod_cgi and
# mod_fcgid alike), "STATUS ERRCODE" as Matrix JSON, "200" when the
# front passes it on and the program answers, or "STATUS host" for the
# shared host's own page, which Apache sends before it reads any
# .htaccess (the request line and headers, %2f and %00 in the path):
# only a host's server configuration could change those.
my $family = { nginx => 'nginx', apache => 'apache',
    'apache-cgi' => 'host', 'apache-fcgid' => 'host',
    'lighttpd-cgi' => 'lighttpd' }->{front()} or die 'which front?';
my $post = "POST $v1/bulk_lookup HTTP/1.1\r\nContent-Type: application/json\r\n";
for my $case (
    [ 'Transfer-Encoding: gzip',
      "${post}Transfer-Encoding: gzip\r\nContent-Length: 2\r\n${end}{}",
      { nginx => '501 M_UNKNOWN', apache => '400 M_UNKNOWN',
        host => '400 host', lighttpd => '501 M_UNKNOWN' } ],
    [ 'Transfer-Encoding: identity',
      "${post}Transfer-Encoding: identity\r\n$end",
      { nginx => '501 M_UNKNOWN', apache => '400 M_UNKNOWN',
        host => '400 host', lighttpd => '501 M_UNKNOWN' } ],
    [ 'an HTTP/2.0 request line', "GET $v2 HTTP/2.0\r\n$end",
      { nginx => '505 M_UNKNOWN', apache => '200', host => '200',
        lighttpd => '505 M_UNKNOWN' } ],
    [ 'an HTTP/1.9 request line', "GET $v2 HTTP/1.9\r\n$end",
      { nginx => '200', apache => '200', host => '200',
        lighttpd => '505 M_UNKNOWN' } ],
    [ 'a malformed Content-Length',
      "${post}Content-Length: x\r\n${end}{}",
      { nginx => '400 M_UNKNOWN', apache => '400 M_UNKNOWN',
        host => '400 host', lighttpd => '400 M_UNKNOWN' } ],
    [ 'two Content-Lengths',
      "${post}Content-Length: 2\r\nContent-Length: 3\r\n${end}{}",
      { nginx => '400 M_UNKNOWN', apache => '400 M_UNKNOWN',
        host => '400 host', lighttpd => '400 M_UNKNOWN' } ],
    [ '%2f in the path', "GET $v2/a%2fb HTTP/1.1\r\n$end",
      { nginx => '404 M_UNRECOGNIZED', apache => '404 M_UNRECOGNIZED',
        host => '404 host', lighttpd => '404 M_UNRECOGNIZED' } ],
    [ '%00 in the path', "GET $v2/a%00b HTTP/1.1\r\n$end",
      { nginx => '400 M_UNKNOWN', apache => '404 M_UNRECOGNIZED',
        host => '404 host', lighttpd => '404 M_UNRECOGNIZED' } ],
    [ 'a bad %-escape in the path', "GET $v2/a%zzb HTTP/1.1\r\n$end",
      { nginx => '400 M_UNKNOWN', apache => '400 M_UNKNOWN',
        host => '400 host', lighttpd => '404 M_UNRECOGNIZED' } ],
    [ 'Expect: 100-foo', "GET $v2 HTTP/1.1\r\nExpect: 100-foo\r\n$end",
      { nginx => '200', apache => '417 M_UNKNOWN', host => '417 host',
        lighttpd => '200' } ],
    [ 'a method nobody knows', "FOO $v2 HTTP/1.1\r\n$end",
      { nginx => '405 M_UNRECOGNIZED', apache => '405 M_UNRECOGNIZED',
        host => '405 M_UNRECOGNIZED', lighttpd => '501 M_UNKNOWN' } ],
    [ 'a request line that is not HTTP', "\x01\x02 x y\r\n$end",
      { nginx => '400 M_UNKNOWN', apache => '400 M_UNKNOWN',
        host => '400 host', lighttpd => '400 M_UNKNOWN' } ],
    [ 'a relative request target', "GET x HTTP/1.1\r\n$end",
      { nginx => '400 M_UNKNOWN', apache => '400 M_UNKNOWN',
        host => '400 host', lighttpd => '400 M_UNKNOWN' } ],
    [ 'HTTP/1.1 without Host', "GET $v2 HTTP/1.1\r\nConnection: close\r\n\r\n",
      { nginx => '400 M_UNKNOWN', apache => '400 M_UNKNOWN',
        host => '400 host', lighttpd => '400 M_UNKNOWN' } ],
    [ 'a malformed header', "GET $v2 HTTP/1.1\r\nNo colon here\r\n$end",
      { nginx => '400 M_UNKNOWN', apache => '400 M_UNKNOWN',
        host => '400 host', lighttpd => '400 M_UNKNOWN' } ],
    [ 'a path outside sigil\'s', "GET /elsewhere HTTP/1.1\r\n$end",
      { nginx => '404 M_UNRECOGNIZED', apache => '404 M_UNRECOGNIZED',
        host => '404 M_UNRECOGNIZED', lighttpd => '404 M_UNRECOGNIZED' } ],
    [ 'a byte range', "GET $v2 HTTP/1.1\r\nRange: bytes=5-\r\n$end",
      { nginx => '200', apache => '200', host => '200', lighttpd => '200' } ],
    ) {
	my ($what, $text, $want) = @$case;
	my ($status, $errcode) = split / /, $want->{$family};
	my $got = raw($text);
	if (!defined $errcode) {
		is("$got->{status} $got->{content}", "$status {}",
		    "$what: passed on, sigil answers");
	} elsif ($errcode eq 'host') {
		is($got->{status}, $status,
		    "$what: $status (the shared host's own page)");
	} else {
		is_front_error($got, $status, $errcode,
		    "$what: $status $errcode");
	}
}

# The rest is the shipped nginx and Apache servers' own configuration: a
# shared host's server is the host's (15-shared-hosting.t tests the
# .htaccess rules).
if (shared_host()) {
	done_testing();
	exit 0;
}

# Slow clients, started now and read at the end (the server gives each
# 10 s): headers that never end, a body that never comes.
my $slow_head = connect_from();
print $slow_head "GET $v2 HTTP/1.1\r\nHost: localhost\r\n";
my $slow_body = connect_from();
print $slow_body "POST $v2/lookup HTTP/1.1\r\nHost: localhost\r\n"
    . "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{";

# response(SOCKET): what raw() returns, for a socket written already.
sub response {
	my ($s) = @_;
	local $/;
	local $SIG{ALRM} = sub { die "no answer in 60 s\n" };
	alarm 60;
	my $resp = <$s> // '';
	alarm 0;
	return parse($resp);
}

# Methods the web server refuses whatever the path.
is_error(raw("TRACE $v2?x=1 HTTP/1.1\r\n$end"), 405, 'M_UNRECOGNIZED',
    'TRACE: 405 M_UNRECOGNIZED');
# CONNECT: 405, or 400 for the form of request target the server does
# not take for CONNECT (nginx a host and port, Apache a path).
is_error(raw("CONNECT $v2 HTTP/1.1\r\n$end"), $apache ? 400 : 405,
    $apache ? 'M_UNKNOWN' : 'M_UNRECOGNIZED', 'CONNECT with a path');
is_error(raw("CONNECT localhost:443 HTTP/1.1\r\n$end"), $apache ? 405 : 400,
    $apache ? 'M_UNRECOGNIZED' : 'M_UNKNOWN', 'CONNECT with a host and port');
is_error(raw("TRACE / HTTP/1.1\r\n$end"), 405, 'M_UNRECOGNIZED',
    'TRACE outside sigil\'s paths: 405 too, no echo of the request');

# Sizes: a header line over 16 KiB, a request line over 16 KiB, a body
# over 1 MiB.
my $r = raw("GET $v2 HTTP/1.1\r\nX-Big: " . ('a' x 20000) . "\r\n$end");
is_json_error($r, 400, 'a header line over the limit: 400 as Matrix JSON');
is($r->{json}{errcode}, 'M_TOO_LARGE', 'M_TOO_LARGE') unless $apache;
SKIP: {
	skip('Apache limits each header line and their number, not the sum', 1)
	    if $apache;
	$r = raw("GET $v2 HTTP/1.1\r\n" . join('', map { "X-H$_: "
	    . ('b' x 8000) . "\r\n" } 1 .. 10) . $end);
	is_json_error($r, 400, 'headers over the limit in all: 400 as Matrix JSON');
}
SKIP: {
	skip('nginx limits the sum of the header lines, not their number', 1)
	    unless $apache;
	$r = raw("GET $v2 HTTP/1.1\r\n" . join('', map { "X-H$_: b\r\n" }
	    1 .. 200) . $end);
	is_json_error($r, 400, 'header lines over the limit: 400 as Matrix JSON');
}
is_error(raw("GET $v2?" . ('a' x 20000) . " HTTP/1.1\r\n$end"), 414,
    'M_TOO_LARGE', 'a request line over the limit: 414 M_TOO_LARGE');
is_error(post("$v1/validate/email/requestToken", 'x' x 2_000_000), 413,
    'M_TOO_LARGE', 'a body over the limit: 413 M_TOO_LARGE');

{
	# The request rate on the locations that write or mail, from an
	# address the test stack does not exempt: past the burst, 429.
	my $http = HTTP::Tiny->new(timeout => 10, local_address => '127.0.0.2',
	    keep_alive => 0);
	my ($ok, $limited);
	for (1 .. 200) {
		my $x = $http->post("$ENV{SIGIL_TEST_URL}$v2/account/register",
		    { content => '{}',
		      headers => { 'Content-Type' => 'application/json' } });
		if ($x->{status} == 429) { $limited = $x; last }
		$ok++;
	}
	ok($limited, "requests to a write path past the burst: 429 (after $ok)");
	$limited->{json} = eval { JSON::PP->new->decode($limited->{content}) };
	is_error($limited, 429, 'M_LIMIT_EXCEEDED', 'M_LIMIT_EXCEEDED as Matrix JSON');
	ok(($limited->{json}{retry_after_ms} // 0) > 0, 'with retry_after_ms');
	ok(($limited->{headers}{'retry-after'} // 0) > 0, 'and Retry-After');
	ok($ok >= 40, 'the burst of 40 went through first');
	is($http->get("$ENV{SIGIL_TEST_URL}$v1/lookup?medium=email"
	    . "&address=x%40example.org")->{status}, 200,
	    'a lookup from the same address is not held back');
	is(post("$v2/account/register", {})->{status}, 400,
	    'nor is an exempt address (the test stack\'s 127.0.0.1)');

	# Requests in progress at once from one address: 32 bodies that do
	# not arrive hold 32 requests; one more is refused.
	my @held;
	# Apache's limit counts its scoreboard, where the thread taking a new
	# connection may still show its last request's state: a connection
	# can be counted as over the limit one early.  So 33 are sent there,
	# of which one may be refused.
	for (1 .. ($apache ? 33 : 32)) {
		my $s = connect_from('127.0.0.4');
		print $s "POST $v2/lookup HTTP/1.1\r\nHost: localhost\r\n"
		    . "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{";
		push @held, $s;
	}
	# On a busy machine this can take a while: a byte of each body every
	# second keeps the held requests inside the front's 10 s body
	# timeout (99 bytes of each are still to come), by the clock, since
	# one probe can itself take seconds there.
	local $SIG{PIPE} = 'IGNORE';
	my $sent = time;
	my $trickle = sub {
		return if time - $sent < 1;
		print $_ 'x' for @held;
		$sent = time;
	};
	# The front has read every held request before the first probe:
	# a probe in progress while the held ones arrive would itself be
	# counted, and the last held one refused in its place.  ss shows
	# the front's side of each connection with its request line and
	# headers (over 100 bytes) read; Apache leaves the body's few bytes
	# unread until a handler asks, and may have closed one already.
	ok(wait_for(sub {
	    $trickle->();
	    my @q = map { /^\s*(\d+)/ ? $1 : () }
		`ss -Htn state established '( sport = :$port )' dst 127.0.0.4`;
	    @q >= @held - ($apache ? 1 : 0) && !grep { $_ >= 60 } @q }, 30),
	    'the front has read the held requests');
	# nginx answers 429; Apache's limit (ModSecurity's, on connections
	# Apache is working on) closes the connection before any request.
	my $last;
	ok(wait_for(sub {
	    $trickle->();
	    $last = raw("GET $v2 HTTP/1.1\r\n$end", '127.0.0.4');
	    $last->{status} == ($apache ? 0 : 429) }, 10),
	    '32 requests in progress from one address: the next is refused');
	if ($apache) {
		is($last->{content}, '', 'closed without an answer');
	} else {
		is_error($last, 429, 'M_LIMIT_EXCEEDED',
		    'M_LIMIT_EXCEEDED as Matrix JSON');
	}
	# None of the 32 was refused (an answer or a close would be there to
	# read): the limit let 32 through at once.
	my @answered = IO::Select->new(@held)->can_read(0);
	ok(@answered <= ($apache ? 1 : 0), 'the 32 are all in progress')
	    or diag(scalar(@answered) . ' were refused');
	is(raw("GET $v2 HTTP/1.1\r\n$end", '127.0.0.3')->{status}, 200,
	    'another address is answered meanwhile');
	close $_ for @held;
	ok(wait_for(sub {
	    raw("GET $v2 HTTP/1.1\r\n$end", '127.0.0.4')->{status} == 200 }, 20),
	    'and the address again once its requests are over');
}

# The slow clients: Apache answers 408 as Matrix JSON; nginx closes the
# connection without an answer (its 408 is only logged), so there is no
# page to be anything but JSON.
for my $c ([$slow_head, 'headers that never end'],
    [$slow_body, 'a body that never comes']) {
	$r = response($c->[0]);
	if ($apache) {
		is_error($r, 408, 'M_UNKNOWN', "$c->[1]: 408 M_UNKNOWN");
	} else {
		is("$r->{status} $r->{content}", '0 ',
		    "$c->[1]: the connection is closed without an answer");
	}
}

done_testing();
