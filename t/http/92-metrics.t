# Metrics through the real stack: the workers' shared counters
# (metrics_dir) as sigil-status serves them on /_sigil/metrics
# (Prometheus text) and /_sigil/status (JSON): N lookups move the 2xx
# counter and the histogram's count by exactly N, a refused lookup moves
# 4xx, nothing stays in flight; promtool accepts the exposition; a
# Prometheus server on loopback scrapes the stack and its HTTP API reads
# the same; and an address the front does not list gets 403 M_FORBIDDEN.
# Then the slow-request log, on workers of the test's own.
use strict;
use warnings;
use lib 't/lib';
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use SigilTest;
use Test::More;

plan skip_all => 'a shared host serves no /_sigil/ (no front location, '
    . 'no metrics_dir)' if shared_host();

my $v1 = '/_matrix/identity/api/v1';
my $lookup_route = 'program="lookup",route="v1/lookup"';

sub value {
	my ($m, $name, $labels) = @_;
	return $m->{"$name\{$labels}"} // 0;
}

my ($m, $r) = scrape();
like($r->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4},
    'the Prometheus text format');
like($r->{content}, qr/^# TYPE sigil_requests_total counter$/m,
    'requests_total is a counter');
like($r->{content},
    qr/^# TYPE sigil_request_duration_seconds histogram$/m,
    'the duration is a histogram');

my $ok2 = value($m, 'sigil_requests_total', "$lookup_route,code_class=\"2xx\"");
my $ok4 = value($m, 'sigil_requests_total', "$lookup_route,code_class=\"4xx\"");
my $cnt = value($m, 'sigil_request_duration_seconds_count', $lookup_route);
my $inf = value($m, 'sigil_request_duration_seconds_bucket',
    "$lookup_route,le=\"+Inf\"");
is($cnt, $ok2 + $ok4 + value($m, 'sigil_requests_total',
    "$lookup_route,code_class=\"5xx\"") + value($m, 'sigil_requests_total',
    "$lookup_route,code_class=\"3xx\""), 'the histogram counts every request');
is($inf, $cnt, 'the +Inf bucket is the count');

my $n = 7;
for my $i (1 .. $n) {
	is(get("$v1/lookup?medium=email&address=nobody$i%40example.org")
	    ->{status}, 200, "lookup $i answered");
}
is_error(get("$v1/lookup?medium=email"), 400, 'M_MISSING_PARAMS',
    'a lookup without an address is refused');

# A worker counts once its response is written, just after the client
# has it: wait for the counts to arrive, then ask that they are exact.
wait_for(sub {
	($m) = scrape();
	value($m, 'sigil_requests_total', "$lookup_route,code_class=\"2xx\"")
	    >= $ok2 + $n && value($m, 'sigil_requests_total',
	    "$lookup_route,code_class=\"4xx\"") >= $ok4 + 1 &&
	    value($m, 'sigil_requests_in_flight', $lookup_route) == 0
}, 10);
is(value($m, 'sigil_requests_total', "$lookup_route,code_class=\"2xx\""),
    $ok2 + $n, "$n lookups: the 2xx counter moved by $n");
is(value($m, 'sigil_requests_total', "$lookup_route,code_class=\"4xx\""),
    $ok4 + 1, 'the refused one moved 4xx by 1');
is(value($m, 'sigil_request_duration_seconds_count', $lookup_route),
    $cnt + $n + 1, 'the histogram counted each of them');
is(value($m, 'sigil_request_duration_seconds_bucket',
    "$lookup_route,le=\"+Inf\""), $cnt + $n + 1, 'so did its +Inf bucket');
ok(value($m, 'sigil_request_duration_seconds_sum', $lookup_route) > 0,
    'and their time');
is(value($m, 'sigil_requests_in_flight', $lookup_route), 0,
    'no lookup in flight once answered');
my @pids = worker_pids('lookup');
is(value($m, 'sigil_workers', 'program="lookup",state="idle"') +
    value($m, 'sigil_workers', 'program="lookup",state="busy"'),
    scalar @pids, 'every lookup worker is counted');
ok(value($m, 'sigil_workers', 'program="status",state="busy"') >= 1,
    'the worker answering the scrape is busy');
my ($bad) = grep { !/^sigil_((requests_total|request_duration_seconds_(bucket|sum|count)|requests_in_flight|workers)\{program="[a-z-]+",|(mail|sms|ratelimit_refusals|db_errors|db_reconnects)_total\{program="[a-z-]+"|onbind_)/ }
    keys %$m;
ok(!defined $bad, 'every sample is one of ours, with its program')
    or diag("unexpected: $bad");

# The same as JSON for people, each worker with ?full.
$r = get('/_sigil/status?full');
is($r->{status}, 200, 'the status page');
my ($lk) = grep { $_->{program} eq 'lookup' } @{$r->{json}{programs} // []};
ok($lk, 'it has the lookup program');
is($lk->{workers}, scalar @pids, 'its workers');
is($lk->{busy} + $lk->{idle}, $lk->{workers}, 'busy and idle add up');
is($lk->{in_flight}, 0, 'nothing in flight');
my ($rt) = grep { $_->{route} eq 'v1/lookup' } @{$lk->{routes}};
is($rt->{requests}{'2xx'}, $ok2 + $n, 'the route\'s 2xx');
is_deeply([sort { $a <=> $b } map { $_->{pid} } @{$lk->{processes}}],
    [sort { $a <=> $b } @pids], 'one entry per worker process');
my $served = 0;
$served += $_->{requests} for @{$lk->{processes}};
ok($served >= $n + 1, 'the workers served the lookups');
ok(!grep({ $_->{state} !~ /^(idle|busy)$/ || !defined $_->{route} ||
    $_->{duration_ms} < 0 } @{$lk->{processes}}),
    'each has a state, a route and a duration');
ok(!exists get('/_sigil/status')->{json}{programs}[0]{processes},
    'without ?full, no worker list');
is_error(get('/_sigil/nothing'), 404, 'M_UNRECOGNIZED',
    'an unknown /_sigil/ path is 404');

# Never public: from an address the front does not list, 403.
my $far = HTTP::Tiny->new(timeout => 10, local_address => '127.0.0.2',
    keep_alive => 0);
for my $path ('/_sigil/metrics', '/_sigil/status?full') {
	my $x = $far->get("$ENV{SIGIL_TEST_URL}$path");
	$x->{json} = eval { decode_json($x->{content}) };
	is_error($x, 403, 'M_FORBIDDEN', "$path from 127.0.0.2: 403");
	unlike($x->{content}, qr/sigil_|programs/, 'and no figures');
}

# promtool (Debian package prometheus) reads the exposition as valid.
SKIP: {
	skip('no promtool (apt-get install prometheus)', 1)
	    unless system('sh', '-c', 'command -v promtool >/dev/null') == 0;
	my (undef, $raw) = scrape();
	my $dir = tempdir(CLEANUP => 1);
	spew("$dir/metrics.txt", $raw->{content});
	my $out = `promtool check metrics <'$dir/metrics.txt' 2>&1`;
	is($?, 0, 'promtool check metrics accepts it') or diag($out);
}

# A Prometheus server on loopback scrapes the stack; its HTTP API sees
# the lookups.
SKIP: {
	my $server = start_prometheus()
	    or skip('no prometheus server (apt-get install prometheus)', 2);
	my $query = sub {
		$server->{query}->('sigil_requests_total{program="lookup",'
		    . 'route="v1/lookup",code_class="2xx"}');
	};
	my $first;
	ok(wait_for(sub { defined($first = $query->()) }, 60),
	    'Prometheus scraped the lookup counter')
	    or diag(slurp($server->{log}));
	$first //= 0;
	get("$v1/lookup?medium=email&address=again$_%40example.org")
	    for 1 .. 3;
	my $now;
	ok(wait_for(sub { ($now = $query->() // 0) == $first + 3 }, 60),
	    'and read 3 more after 3 lookups') or diag("$first -> $now");
	stop_prometheus($server);
}

# The slow-request log (slow_request, seconds): 0 logs every request,
# with its route from the program's table, never the client's path or
# query string; unset, nothing; a limit not reached, nothing.
{
	open(my $cf, '<', stack_dir() . '/sigil.conf') or die;
	my $base = join('', grep { !/^(metrics_dir|slow_request)\s/ } <$cf>);
	close $cf;
	my $every = start_worker('status', "$base\nslow_request = 0\n");
	my $hour = start_worker('status', "$base\nslow_request = 3600\n");
	my $off = start_worker('status', $base);
	for my $w ($every, $hour, $off) {
		is(fcgi_request($w, 'GET', '/_matrix/identity/v2?k=sekrit1')
		    ->{status}, 200, 'a request to a status worker');
		is(fcgi_request($w, 'GET', '/_matrix/identity/nowhere-sekrit2')
		    ->{status}, 404, 'and one to no route');
	}
	my $log = slurp($every->{log});
	like($log, qr/slow request: v2 took \d+ ms \(status 200\)/,
	    'slow_request = 0: the request is logged with its route');
	like($log, qr/slow request: \(no route\) took \d+ ms \(status 404\)/,
	    'one without a route as such');
	unlike($log, qr/sekrit/, 'neither the query string nor the path');
	unlike(slurp($hour->{log}), qr/slow request/,
	    'under the limit: not logged');
	unlike(slurp($off->{log}), qr/slow request/, 'unset: not logged');
	stop_worker($_) for $every, $hour, $off;
}

done_testing();
