# No secret in any log: requests carrying known secrets in their query
# string (a GET submitToken link, ?access_token=, the sign URL's
# private_key, a Referer with a token) and in every error the web server
# answers itself (TRACE, a header or request line over the limit, a body
# too large, a program that is not running, the per-client limit), then
# the web server's access and error logs and sigil's own logs are
# searched for those values and for any token=, client_secret=, sid=,
# private_key= or access_token= with a value.  Last in the suite (after
# 99-faults), so that it also searches everything the suite logged; it
# stops the status workers itself when run alone.
use strict;
use warnings;
use lib 't/lib';
use IO::Socket::INET;
use HTTP::Tiny;
use Test::More;
use SigilTest;

my $dir = stack_dir();
my ($port) = $ENV{SIGIL_TEST_URL} =~ /:(\d+)$/;
my $apache = front() =~ /^apache/;	# mod_proxy_fcgi, or a shared host
my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';
my @secrets;

# secret(NAME): a value that appears nowhere unless we send it.
sub secret {
	my $s = 'Zq' . $_[0] . join('', map { ('a' .. 'z')[rand 26] } 1 .. 12);
	push @secrets, $s;
	return $s;
}

# raw(TEXT): TEXT sent as is on a new connection; the response's status
# and body.
sub raw {
	my ($text) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
	    Timeout => 10) or die "connect: $!";
	print $s $text;
	local $/;
	my $resp = <$s> // '';
	my ($status) = $resp =~ m{^HTTP/1\.[01] (\d+)};
	my ($body) = $resp =~ /\r\n\r\n(.*)\z/s;
	return ($status // 0, $body // '');
}

# A real GET submitToken link, the way a mail client opens it.
my $cs = secret('cs');
my $r = post("$v1/validate/email/requestToken", { client_secret => $cs,
    email => 'logs@example.org', send_attempt => 1 });
my $sid = $r->{json}{sid} or BAIL_OUT("requestToken: $r->{content}");
push @secrets, $sid;
my ($token) = (grep { $_->{rcpt}[0] eq 'logs@example.org' } mails())[-1]{raw}
    =~ /token=([^&\s]+)/;
push @secrets, $token;
$r = get("$v1/validate/email/submitToken?sid=$sid&client_secret=$cs"
    . "&token=$token");
is($r->{status}, 200, 'a GET submitToken link with a real sid, secret and token');
my $wrong = secret('tok');
get("$v1/validate/email/submitToken?sid=$sid&client_secret=$cs"
    . "&token=$wrong");

# ?access_token=, an unknown one (401) and a real one (accepted by
# default, as Synapse sends it to hash_details), and a Referer carrying
# a secret.
my $at = secret('at');
is(get("$v2/account?access_token=$at")->{status}, 401,
    '?access_token= unknown: 401');
my $real = register_user('logsecret');
push @secrets, $real;
is(get("$v2/hash_details?access_token=$real")->{status}, 200,
    '?access_token= real: 200');
my $ref = secret('ref');
get("$v2/hash_details", { Referer => "https://client.example.org/?token=$ref" });

# sign-ed25519 with its private key in the query string, as in the link
# of an invite mail.
my $pk = secret('pk');
my $itok = secret('itok');
request('POST', "$v1/sign-ed25519?token=$itok&private_key=$pk"
    . '&mxid=%40a%3Aexample.org');

# Errors the web server answers itself, each with a secret in the query.
my $t = secret('trace');
my ($st) = raw("TRACE $v2?token=$t HTTP/1.1\r\nHost: localhost\r\n"
    . "Connection: close\r\n\r\n");
SKIP: {
	skip('a shared host\'s TraceEnable is the host\'s', 1) if shared_host();
	is($st, 405, 'TRACE: 405');
}
my $h = secret('hdr');
($st) = raw("GET $v2?token=$h HTTP/1.1\r\nHost: localhost\r\nX-Big: "
    . ('a' x 20000) . "\r\nConnection: close\r\n\r\n");
my $lighttpd = front() eq 'lighttpd-cgi';	# 431 for either
is($st, $lighttpd ? 431 : 400, 'a header over the limit: 400 (lighttpd 431)');
my $l = secret('long');
($st) = raw("GET $v2?token=$l" . ('a' x 20000) . " HTTP/1.1\r\n"
    . "Host: localhost\r\nConnection: close\r\n\r\n");
is($st, $lighttpd ? 431 : 414,
    'a request line over the limit: 414 (lighttpd 431)');
my $bb = secret('body');
$r = post("$v1/validate/email/submitToken?client_secret=$bb", 'x' x 2_000_000);
is($r->{status}, 413, 'a body too large: 413');
my $bh = secret('badhdr');
($st) = raw("GET $v2?sid=$bh HTTP/1.1\r\nHost: localhost\r\nNo colon here\r\n"
    . "Connection: close\r\n\r\n");
is($st, 400, 'a malformed header: 400');

# The per-client limit (nginx, Apache with ModSecurity; from 127.0.0.3,
# which the test stack does not exempt), with a secret in every request.
SKIP: {
	skip('a shared host\'s limits are the host\'s', 1) if shared_host();
	my $http = HTTP::Tiny->new(timeout => 10, local_address => '127.0.0.3');
	my $lim = secret('lim');
	my $limited = 0;
	for (1 .. 100) {
		my $x = $http->post("$ENV{SIGIL_TEST_URL}$v1/validate/email/"
		    . "submitToken?sid=$lim&client_secret=$lim&token=$lim",
		    { content => '{}', headers =>
		    { 'Content-Type' => 'application/json' } });
		if ($x->{status} == 429) { $limited = 1; last }
	}
	ok($limited, 'requests over the per-client limit: 429');
}

# A program that is not running: the web server's error log would hold
# the request line of a failed upstream.  (A shared host has no workers
# to stop: a request with secrets to a running program stands in.)
my $dead = secret('dead');
if (shared_host()) {
	get("$v2?access_token=$dead&sid=$dead");
} else {
	for my $pid (worker_pids('status')) {
		kill 'TERM', $pid;
		wait_for(sub { !running($pid) }, 10);
	}
	is_error(get("$v2?access_token=$dead&sid=$dead"), $apache ? 503 : 502,
	    'M_UNKNOWN', 'a program that is not running: a JSON error');
}

# The web server's access log is buffered for up to a second (nginx's
# flush=1s): wait until it holds the last request.
my @front = front_logs();
my $last = shared_host() ? qr{GET /_matrix/identity/v2 HTTP/1\.1" \d+} :
    qr/ 50[23] /;
ok(wait_for(sub { slurp($front[0]) =~ $last }, 10),
    'the access log holds the last request');

# Every log the stack and the suite wrote, but the doubles' (they stand
# for other parties: a homeserver logs what it is sent).
my @logs = grep { !/(homeserver|sms|onbind)-double/ } glob("$dir/logs/*.log");
ok(scalar(grep { $_ eq $front[0] } @logs), 'the access log is searched');
my %hits;
for my $f (@logs) {
	my $text = slurp($f);
	for my $s (@secrets) {
		push @{ $hits{$f} }, $s if index($text, $s) >= 0;
	}
	while ($text =~ /\b((?:access_token|client_secret|private_key|token|sid)=[^&\s"]+)/g) {
		push @{ $hits{$f} }, $1;
	}
}
is_deeply([sort keys %hits], [], 'no secret in any log, front\'s or sigil\'s')
    or diag(join "\n", map { my @h = @{ $hits{$_} };
    "$_: " . join(' ', @h[0 .. ($#h < 4 ? $#h : 4)]) } sort keys %hits);
my @q = grep { /\?/ } split /\n/, slurp($front[0]);
is(scalar @q, 0, 'no query string in the access log at all')
    or diag(join "\n", map { substr($_, 0, 200) } @q[0 .. ($#q < 2 ? $#q : 2)]);
my @e = grep { /request: "[^"]*\?/ } split /\n/, slurp($front[1]);
is(scalar @e, 0, 'no request line with a query string in the error log')
    or diag(join "\n", map { substr($_, 0, 200) } @e[0 .. ($#e < 2 ? $#e : 2)]);

done_testing();
