# Requests the web front refuses by its own limits, before any worker
# sees them, are counted: nginx (limit_req, limit_conn,
# client_max_body_size) and Apache (the ModSecurity rate rule,
# LimitRequestBody) send the page of such a refusal through
# sigil-status's /_sigil/front-refusal (deploy/errors, "count"), which
# adds one to sigil_front_refusals_total{status,reason} and answers the
# same Matrix JSON as the front's own page (deploy/apache-errors).  A
# request that is not refused counts nothing, and nobody but the front
# can count one.  A shared host has no metrics: skipped there.
use strict;
use warnings;
use lib 't/lib';
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP ();
use Test::More;
use SigilTest;

plan skip_all => 'no metrics on a shared host' if shared_host();
my $apache = front() eq 'apache';
my $url = $ENV{SIGIL_TEST_URL};
my $v2 = '/_matrix/identity/v2';
my $rate = 'sigil_front_refusals_total{status="429",reason="rate"}';
my $body = 'sigil_front_refusals_total{status="413",reason="body"}';

# count(NAME): the counter NAME now (the scrape must list it).
sub count {
	my ($m, $r) = scrape();
	defined $m->{$_[0]} or BAIL_OUT("no $_[0] in: $r->{content}");
	return $m->{$_[0]};
}

# An address of its own (90-front.t uses .2 to .4), so that the rate
# zone's counter starts empty here.
my $http = HTTP::Tiny->new(timeout => 10, local_address => '127.0.0.6',
    keep_alive => 0);
sub register {
	return $http->post("$url$v2/account/register", { content => '{}',
	    headers => { 'Content-Type' => 'application/json' } });
}

my $r0 = count($rate);
my $b0 = count($body);

# Failure cases first: nothing refused, nothing counted.
is(register()->{status}, 400,
    'a request under the limit is answered by sigil (400: no OpenID token)');
is(get("$v2/nosuch")->{status}, 404, 'and a 404 of sigil\'s own');
is_error(get('/_sigil/front-refusal'), 404, 'M_UNRECOGNIZED',
    'the counting route, asked directly (no front redirect): 404');
is_error(get('/_sigil/front-refusal?reason=rate',
    { 'Redirect-Status' => '429' }), 404, 'M_UNRECOGNIZED',
    'nor can a header stand for the front\'s REDIRECT_STATUS');
is(count($rate), $r0, 'none of these counted as a front refusal');
is(count($body), $b0, 'nor as a body refused');

# Past the burst (40 at once, 2 a second after), the front says 429.
my ($ok, $limited, $refused) = (0, undef, 0);
for (1 .. 200) {
	my $x = register();
	if ($x->{status} == 429) { $limited = $x; $refused++; last }
	$ok++;
}
ok($limited, "past the burst the front refuses: 429 (after $ok)");
# Three more, all refused (the limit regains 2 a second: sent at once).
for (1 .. 3) {
	my $x = register();
	$refused++ if $x->{status} == 429;
}
$limited->{json} = eval { JSON::PP->new->decode($limited->{content}) };
is_error($limited, 429, 'M_LIMIT_EXCEEDED', 'as Matrix JSON with CORS');
is($limited->{content}, slurp('deploy/apache-errors/429.json'),
    'the same body as the front\'s own page');
is($limited->{headers}{'retry-after'}, '1', 'with one Retry-After');
is($limited->{headers}{'access-control-allow-origin'}, '*',
    'and one Access-Control-Allow-Origin');
my $seen;
ok(wait_for(sub { ($seen = count($rate)) == $r0 + $refused }, 10),
    "sigil_front_refusals_total{status=\"429\",reason=\"rate\"} grew by "
    . "the $refused refused") or diag("$r0 -> $seen");

# A body over the front's cap: 413, counted as "body".  Under Apache
# (LimitRequestBody, with mod_security2 reading the body) a body with a
# Content-Length over the cap reaches the program, which refuses it
# itself: not a front refusal, and not counted as one.
SKIP: {
	skip('Apache hands a body over its cap to the program', 4) if $apache;
	my $big = post("$v2/account/register", 'x' x 2_000_000);
	is_front_error($big, 413, 'M_TOO_LARGE', 'a body over the cap: 413');
	is($big->{content}, slurp('deploy/apache-errors/413.json'),
	    'the same body as the front\'s own page');
	ok(wait_for(sub { ($seen = count($body)) == $b0 + 1 }, 10),
	    'sigil_front_refusals_total{status="413",reason="body"} grew by 1')
	    or diag("$b0 -> $seen");
	is(count($rate), $r0 + $refused, 'and the rate refusals did not');
}
if ($apache) {
	is(post("$v2/account/register", 'x' x 2_000_000)->{status}, 413,
	    'Apache: the program\'s 413');
	is(count($body), $b0, 'not counted as the front\'s');
}

# Requests in progress at once from one address (nginx's limit_conn,
# 32): 32 bodies that do not arrive hold 32 requests, and one more is
# refused, counted as "connections".  Apache's connection limit closes
# the connection before there is a request: nothing to count there.
SKIP: {
	skip('Apache\'s connection limit answers nothing', 3) if $apache;
	my $conn = 'sigil_front_refusals_total{status="429",reason="connections"}';
	my $c0 = count($conn);
	my ($port) = $url =~ /:(\d+)$/;
	my @held;
	for (1 .. 32) {
		my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
		    LocalAddr => '127.0.0.7', Timeout => 10) or die "connect: $!";
		print $s "POST $v2/lookup HTTP/1.1\r\nHost: localhost\r\n"
		    . "Content-Type: application/json\r\n"
		    . "Content-Length: 100\r\n\r\n{";
		push @held, $s;
	}
	local $SIG{PIPE} = 'IGNORE';
	my $probe = HTTP::Tiny->new(timeout => 10, local_address => '127.0.0.7',
	    keep_alive => 0);
	my ($sent, $x) = (time);
	# A byte of each held body every second keeps them inside nginx's
	# 10 s body timeout while the probes go.
	ok(wait_for(sub {
		if (time - $sent >= 1) { print $_ 'x' for @held; $sent = time }
		$x = $probe->get("$url$v2");
		$x->{status} == 429;
	}, 20), '32 requests in progress from one address: the next is 429');
	is($x->{content}, slurp('deploy/apache-errors/429.json'),
	    'the same body as the front\'s own page');
	my $seen;
	ok(wait_for(sub { ($seen = count($conn)) >= $c0 + 1 }, 10),
	    'counted as reason="connections"') or diag("$c0 -> $seen");
	close $_ for @held;
}

# sigil-status not answering (its socket moved away, its workers
# untouched): the refusal is still the front's 429, and counted by
# nobody.  nginx answers its own copy of the body; Apache, whose error
# document then fails, keeps the status with its own text.
my $sock = stack_dir() . '/sock/sigil-status.sock';
rename $sock, "$sock.away" or die "$sock: $!";
my $down;
for (1 .. 200) {
	my $x = register();
	if ($x->{status} == 429) { $down = $x; last }
}
rename "$sock.away", $sock or die "$sock: $!";
ok($down, 'with sigil-status unreachable, the front still refuses: 429');
SKIP: {
	skip('Apache\'s error document fails: its own text', 3) if $apache;
	is($down->{content}, slurp('deploy/apache-errors/429.json'),
	    'nginx answers the same body itself');
	is($down->{headers}{'retry-after'}, '1', 'with Retry-After');
	is($down->{headers}{'access-control-allow-origin'}, '*', 'and CORS');
}
is(count($rate), $r0 + $refused, 'and that refusal was not counted');

# The refusals are sigil-status's requests on its counting route.
my ($m) = scrape();
my ($served) = grep { /^sigil_requests_total\{program="status",route="_sigil\/front-refusal"/
    && /code_class="4xx"/ } keys %$m;
ok($served && $m->{$served} >= $refused,
    'sigil-status counts them among its requests too');

done_testing();
