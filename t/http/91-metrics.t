# Metrics through the real stack: the workers' shared counters
# (metrics_dir) as sigil-status serves them on /_sigil/metrics
# (Prometheus text) and /_sigil/status (JSON): N lookups move the 2xx
# counter and the histogram's count by exactly N, a refused lookup moves
# 4xx, nothing stays in flight; no series appears twice in the whole
# exposition (a path served for GET and POST, v2/terms, is two series by
# its method label, each counting its own), nor twice in the status
# page's JSON or text; promtool accepts the exposition; a
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
my $v2 = '/_matrix/identity/v2';
my $lookup_route = 'program="lookup",route="v1/lookup",method="GET"';

# series(TEXT): every sample of the exposition TEXT as [name, labels] with
# the labels in a canonical order (sorted, values unescaped), and the
# lines that are neither a sample, a comment nor blank.
sub series {
	my ($text) = @_;
	my (@s, @bad);
	for my $line (split /\n/, $text) {
		next if $line =~ /^(#|\s*$)/;
		my ($name, $body) = $line =~
		    /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+\S+(?:\s+-?\d+)?$/
		    or push(@bad, $line), next;
		my %l;
		$body //= '';
		while ($body =~ /\G\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/gc) {
			my ($k, $v) = ($1, $2);
			$v =~ s/\\(.)/$1 eq 'n' ? "\n" : $1/ge;
			push(@bad, "$line (label $k twice)") if exists $l{$k};
			$l{$k} = $v;
		}
		push(@bad, "$line (labels)") if (pos($body) // 0) != length $body;
		push @s, [$name, join(',', map { "$_=\"$l{$_}\"" } sort keys %l)];
	}
	return (\@s, \@bad);
}

# dups(LIST): the items of LIST seen more than once.
sub dups {
	my %n;
	$n{$_}++ for @_;
	return grep { $n{$_} > 1 } sort keys %n;
}

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
my ($bad) = grep { !/^sigil_((requests_total|request_duration_seconds_(bucket|sum|count)|requests_in_flight)\{program="[a-z-]+",route="[^"]*",method="(GET|POST|any)"[,}]|workers\{program="[a-z-]+",|(mail|sms|ratelimit_refusals|db_errors|db_reconnects|outbound_busy|outbound_remembered_failures)_total\{program="[a-z-]+"|front_refusals_total\{status="\d{3}",reason="[a-z]+"\}|onbind_)/ }
    keys %$m;
ok(!defined $bad, 'every sample is one of ours, with its program (the '
    . 'front\'s refusals: by status and reason)')
    or diag("unexpected: $bad");

# No series twice: the whole exposition, every family, after requests to
# both methods of v2/terms (served by one program, GET and POST) and of
# the submitToken links (GET from the mail, POST from clients).
my $terms = 'program="account",route="v2/terms"';
my $get0 = value($m, 'sigil_requests_total',
    "$terms,method=\"GET\",code_class=\"2xx\"");
my $post0 = value($m, 'sigil_requests_total',
    "$terms,method=\"POST\",code_class=\"4xx\"");
is(get("$v2/terms")->{status}, 200, 'GET v2/terms');
is_error(post("$v2/terms", { user_accepts => [] }), 401, 'M_UNAUTHORIZED',
    'POST v2/terms without a token');
is(get("$v1/validate/email/submitToken?sid=x&client_secret=y&token=z")
    ->{status}, 400, 'GET submitToken (the mail\'s link) of no session');
is(post("$v1/validate/email/submitToken", { sid => 'x',
    client_secret => 'y', token => 'z' })->{status}, 400,
    'POST submitToken of no session');
ok(wait_for(sub { ($m) = scrape(); value($m, 'sigil_requests_total',
    "$terms,method=\"POST\",code_class=\"4xx\"") == $post0 + 1 }, 10),
    'the POST counted');
is(value($m, 'sigil_requests_total',
    "$terms,method=\"GET\",code_class=\"2xx\""), $get0 + 1,
    'the GET under its own method, once');
is(value($m, 'sigil_requests_total',
    "$terms,method=\"GET\",code_class=\"4xx\""), 0,
    'the POST\'s 401 not under GET');
(undef, $r) = scrape();
my ($series, $unparsed) = series($r->{content});
is_deeply($unparsed, [], 'every line of the exposition parses');
cmp_ok(scalar @$series, '>', 500, 'into ' . scalar(@$series) . ' samples');
my @twice = dups(map { "$_->[0]\{$_->[1]}" } @$series);
is_deeply(\@twice, [], 'no series twice (name and label set)')
    or diag(scalar(@twice) . ' repeated, e.g. ' . join(' ', @twice[0 .. 2]));
ok(scalar(grep { $_->[1] =~ /route="v1\/validate\/email\/submitToken"/ &&
    $_->[1] =~ /method="GET"/ } @$series) && scalar(grep { $_->[1] =~
    /route="v1\/validate\/email\/submitToken"/ && $_->[1] =~ /method="POST"/ }
    @$series), 'submitToken GET and POST are series of their own');
my @families = $r->{content} =~ /^# TYPE (\S+)/mg;
is_deeply([dups(@families)], [], 'no family declared twice');
my @help = $r->{content} =~ /^# HELP (\S+)/mg;
is_deeply([dups(@help)], [], 'nor described twice');
# The check itself catches a repeat, in any family, whatever the order of
# the labels.
my ($one) = grep { /^sigil_workers\{/ } split /\n/, $r->{content};
(my $swapped = $one) =~ s/^(\w+)\{([^,]+),([^}]+)\}/$1\{$3,$2\}/;
my ($mine) = series("$one\n");
($series) = series("$r->{content}\n$swapped\n");
isnt($swapped, $one, 'a sample with its labels swapped');
is_deeply([dups(map { "$_->[0]\{$_->[1]}" } @$series)],
    ["$mine->[0][0]\{$mine->[0][1]}"], 'added again: caught as a repeat');

# The same as JSON for people, each worker with ?full.
$r = get('/_sigil/status?full');
is($r->{status}, 200, 'the status page');
my ($lk) = grep { $_->{program} eq 'lookup' } @{$r->{json}{programs} // []};
ok($lk, 'it has the lookup program');
is($lk->{workers}, scalar @pids, 'its workers');
is($lk->{busy} + $lk->{idle}, $lk->{workers}, 'busy and idle add up');
is($lk->{in_flight}, 0, 'nothing in flight');
my ($rt) = grep { $_->{route} eq 'v1/lookup' } @{$lk->{routes}};
is($rt->{method}, 'GET', 'the route with its method');
my @rkeys = map { my $p = $_->{program};
    map { "$p $_->{route} " . ($_->{method} // '') } @{ $_->{routes} // [] } }
    @{ $r->{json}{programs} };
is_deeply([dups(@rkeys)], [], 'JSON: no route of a program twice (route '
    . 'and method)');
ok(!grep({ !defined $_->{method} } map { @{ $_->{routes} // [] } }
    @{ $r->{json}{programs} }), 'JSON: each route has its method');
my ($ac) = grep { $_->{program} eq 'account' } @{ $r->{json}{programs} };
is_deeply([sort map { $_->{method} } grep { $_->{route} eq 'v2/terms' }
    @{ $ac->{routes} }], ['GET', 'POST'], 'JSON: v2/terms GET and POST');
my $text = get('/_sigil/status?full&text')->{content};
my @tlines = grep { /: / } split /\n/, $text;
my $twice_in_text = 0;
for my $block (split /\n\n/, $text) {
	my %seen;
	$twice_in_text += $seen{(split /: /, $_)[0]}++ ? 1 : 0
	    for grep { /: / } split /\n/, $block;
}
ok(scalar(@tlines) > 50, 'the text page');
is($twice_in_text, 0, 'text: no name twice within a program');
like($text, qr{^routes\[v2/terms GET\]\.count: \d+$}m,
    'text: v2/terms GET');
like($text, qr{^routes\[v2/terms POST\]\.count: \d+$}m, 'and POST');
is($rt->{requests}{'2xx'}, $ok2 + $n, 'the route\'s 2xx');
is_deeply([sort { $a <=> $b } map { $_->{pid} } @{$lk->{processes}}],
    [sort { $a <=> $b } @pids], 'one entry per worker process');
my $served = 0;
$served += $_->{requests} for @{$lk->{processes}};
ok($served >= $n + 1, 'the workers served the lookups');
ok(!grep({ $_->{state} !~ /^(idle|busy)$/ || !defined $_->{route} ||
    ($_->{method} // '') !~ /^(GET|POST|any)$/ || $_->{duration_ms} < 0 }
    @{$lk->{processes}}), 'each has a state, a route, its method and a '
    . 'duration');
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
		    . 'route="v1/lookup",method="GET",code_class="2xx"}');
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
