# Pools that follow the load (sigil-supervise): a lookup pool of 1-3
# workers starts with one; while every worker is held busy and a request
# waits in the socket's queue, the supervisor starts another, which
# serves the waiting request; at 3 with a request waiting the pool
# counts "max reached" and shows the queue; once the load is gone the
# idle workers are stopped after the idle timeout, back to 1.  A pool
# with max_requests replaces its worker after that many requests.
# Every decision is in the supervisor's log, and the figures in
# /_sigil/metrics and /_sigil/status.  Bad pool lines stop it at start.
#
# A worker is held busy the way a slow client holds it: a request whose
# body has not all arrived (the worker has accepted it and waits for the
# rest), released by sending the rest.
use strict;
use warnings;
use lib 't/lib';
use IO::Socket::UNIX;
use POSIX ();
use Socket qw(SOCK_STREAM);
use Test::More;
use SigilTest;

plan skip_all => 'the shared-hosting fronts run no supervisor'
    if shared_host();

my $dir = stack_dir();
my $pool_dir = "$dir/pools-$$";
mkdir $pool_dir;
my $bin = build_dir() . '/sigil-supervise';
my $log = "$dir/logs/sigil-supervise-pools.log";

# The stack's configuration, metrics_dir included: the stack's
# /_sigil/metrics shows this supervisor's pools beside its own workers,
# so that a Prometheus server scraping the stack sees them.
my $conf = slurp("$dir/sigil.conf");
my $metrics = conf_value('metrics_dir');
spew("$pool_dir/sigil.conf", $conf);
$conf =~ s/^metrics_dir\s*=.*\n//mg;
spew("$pool_dir/nometrics.conf", $conf);

sub refused {
	my ($workers, $conf_file, $want, $name) = @_;
	spew("$pool_dir/bad", $workers);
	my $out = `$bin -c $conf_file -w $pool_dir/bad -s $pool_dir 2>&1`;
	isnt($?, 0, "$name: it does not start");
	like($out, $want, "$name: it says why");
}
refused("lookup 3-1\n", "$pool_dir/sigil.conf", qr/bad:1: want/,
    'a range upside down');
refused("lookup 1-2 idle=0\n", "$pool_dir/sigil.conf", qr/bad:1: want/,
    'an idle timeout of 0');
refused("lookup 1-2 spare=3\n", "$pool_dir/sigil.conf", qr/bad:1: want/,
    'an unknown option');
refused("notify 1-2\n", "$pool_dir/sigil.conf", qr/bad:1: want/,
    'a range for sigil-notify');
refused("lookup 1-65\n", "$pool_dir/sigil.conf",
    qr/bad:1: a pool of 1-65 or with max_requests may have at most 64 workers/,
    'a range past the workers\' rows');
refused("lookup 1-4\n", "$pool_dir/nometrics.conf",
    qr/sigil-lookup: a pool of 1-4 workers or max_requests needs metrics_dir/,
    'a range without metrics_dir');
ok(!-e "$pool_dir/sigil-lookup.sock", 'and leaves no socket behind');

spew("$pool_dir/workers", "status 1\nlookup 1-3 idle=4\n"
    . "pubkey 1 max_requests=3\n");
my $parent = $$;
my $sup = fork() // die;
if ($sup == 0) {
	open(STDOUT, '>', '/dev/null');
	open(STDERR, '>>', $log);
	{ exec($bin, '-c', "$pool_dir/sigil.conf", '-w',
	    "$pool_dir/workers", '-s', $pool_dir) };
	POSIX::_exit(127);
}
# SIGTERM to the supervisor, and to one strace runs (strace passes no
# signal on), then waits for it.
sub stop_supervisor {
	my ($pid) = @_;
	my @traced = map { /^\s*(\d+)\s+sigil-supervise/ ? $1 : () }
	    `ps -o pid=,comm= --ppid $pid`;
	kill 'TERM', $pid, @traced;
	waitpid($pid, 0);
}
END { stop_supervisor($sup) if $sup && $$ == $parent }

sub lookups { [sort { $a <=> $b } @{ children($sup)->{'sigil-lookup'} // [] }] }

my $status = { sock => "$pool_dir/sigil-status.sock" };
my $lookup = { sock => "$pool_dir/sigil-lookup.sock" };
my $pubkey = { sock => "$pool_dir/sigil-pubkey.sock" };
sub pool_status {
	my $r = fcgi_request($status, 'GET', '/_sigil/status?full');
	return undef unless $r->{status} == 200;
	my ($p) = grep { $_->{program} eq $_[0] } @{ $r->{json}{programs} };
	return $p;
}
sub pool { my $p = pool_status($_[0]); $p ? $p->{pool} : undef }

# Prometheus, started now: it is scraping by the time the pool is full.
my $prom = start_prometheus();
END { stop_prometheus($prom) if $prom && $$ == $parent }
ok(wait_for(sub { @{ lookups() } == 1 }, 30), 'the lookup pool starts with 1');
ok(wait_for(sub { my $p = pool('lookup'); $p && $p->{workers} == 1 }, 30),
    'its pool figures are published');
my $p = pool('lookup');
is_deeply([@$p{qw(workers_min workers_max idle_timeout_seconds
    max_requests)}], [1, 3, 4, 0], 'bounds, idle timeout, max_requests');
ok($p->{listen_queue_limit} > 0, "the socket's backlog ($p->{listen_queue_limit})");
my $first = lookups()->[0];

# hold(): a request to the lookup pool whose body never ends, until
# release() sends the rest.  Returns the connection.
sub record {
	my ($type, $content) = @_;
	return pack('CCnnCC', 1, $type, 1, length($content), 0, 0) . $content;
}
sub pair {
	my ($k, $v) = @_;
	return pack('CC', length($k), length($v)) . $k . $v;
}
sub hold {
	my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM,
	    Peer => $_[0] // $lookup->{sock}) or die "connect: $!";
	my $params = join('', map { pair(@$_) } (['REQUEST_METHOD', 'POST'],
	    ['DOCUMENT_URI', '/_matrix/identity/api/v1/bulk_lookup'],
	    ['REQUEST_URI', '/_matrix/identity/api/v1/bulk_lookup'],
	    ['QUERY_STRING', ''], ['CONTENT_TYPE', 'application/json'],
	    ['CONTENT_LENGTH', '20'], ['REMOTE_ADDR', '127.0.0.1']));
	print $s record(1, pack('nCx5', 1, 0)) . record(4, $params)
	    . record(4, '') . record(5, '{"threepids"');
	$s->flush;
	return $s;
}
sub release {
	my ($s) = @_;
	print $s record(5, ': []}   ') . record(5, '');
	$s->flush;
	my $answer = '';
	my $end = time + 60;
	while (time < $end) {
		my $in = '';
		vec($in, fileno($s), 1) = 1;
		last unless select($in, undef, undef, 1) >= 0;
		next unless vec($in, fileno($s), 1);
		last unless sysread($s, my $chunk, 4096);
		$answer .= $chunk;
	}
	close $s;
	return $answer;
}
sub busy { my $p = pool_status('lookup'); $p ? $p->{busy} : -1 }

# One held: the one worker is busy, nothing waits.
my $h1 = hold();
ok(wait_for(sub { busy() == 1 }, 30), 'a held request keeps the worker busy');
is(scalar @{ lookups() }, 1, 'no new worker while none waits');

# A request now waits in the queue: a new worker is started and serves it.
my $waiter = fork() // die;
if ($waiter == 0) {
	alarm 60;	# a pool that did not grow: fail, do not hang
	my $r = fcgi_request($lookup, 'GET',
	    '/_matrix/identity/api/v1/lookup?medium=email&address=a%40example.org');
	POSIX::_exit($r->{status} == 200 ? 0 : 1);
}
waitpid($waiter, 0);
is($?, 0, 'a request that waited for a worker is answered');
my @now = @{ lookups() };
is(scalar @now, 2, 'by a second worker the supervisor started');
my ($second) = grep { $_ != $first } @now;
my ($served) = grep { $_->{pid} == ($second // 0) }
    @{ pool_status('lookup')->{processes} };
is($served && $served->{requests}, 1, 'the new worker served the waiting '
    . 'request');
like(slurp($log), qr/sigil-lookup: \d+ waiting and all 1 busy: starting 1 \(2 of 1-3\)/,
    'the decision is logged');

# Hold all three: the pool grows to its maximum; one more waits, and the
# pool counts reaching its maximum with requests waiting.
my $h2 = hold();
ok(wait_for(sub { busy() == 2 }, 30), 'the second worker held');
my $h3 = hold();
ok(wait_for(sub { @{ lookups() } == 3 && busy() == 3 }, 30),
    'a third request waiting: a third worker, the maximum, holds it');
my $h4 = hold();
ok(wait_for(sub { my $q = pool('lookup'); $q && $q->{max_reached_total} == 1
    && $q->{listen_queue} >= 1 }, 30),
    'a fourth waits: "max reached" once, and the listen queue shows it');
sleep 1;
is(scalar @{ lookups() }, 3, 'and no worker past the maximum');
$p = pool('lookup');
ok($p->{listen_queue_max} >= 1, 'the queue\'s maximum is kept');
# (Two, unless a busy machine let the second idle past the timeout
# before it was held, and it was stopped and started again.)
ok($p->{workers_grown_total} >= 2 && $p->{workers_grown_total}
    - $p->{workers_shrunk_total} == 2, 'two workers started for the load');
like(slurp($log), qr/sigil-lookup: all 3 workers busy, the most it may have, and \d+ waiting/,
    'reaching the maximum is logged');
SKIP: {
	skip('no prometheus server (apt-get install prometheus)', 3)
	    unless $prom;
	my $q = $prom->{query};
	ok(wait_for(sub { ($q->('sigil_pool_workers{program="lookup"}') // 0) == 3 }, 60),
	    'Prometheus reads the pool at its maximum')
	    or diag(slurp($prom->{log}));
	ok(wait_for(sub { ($q->('sigil_workers{program="lookup",state="busy"}') // 0) >= 3 }, 60),
	    'with its workers busy');
	ok(wait_for(sub { ($q->('sigil_pool_max_reached_total{program="lookup"}') // 0) == 1 }, 60),
	    'and "max reached" once');
}
my $m = fcgi_request($status, 'GET', '/_sigil/metrics');
like($m->{content}, qr/^sigil_pool_max_reached_total\{program="lookup"\} 1$/m,
    'the metrics have it too');
like($m->{content}, qr/^sigil_pool_listen_queue\{program="lookup"\} [1-9]/m,
    'with the queue');
SKIP: {
	skip('no promtool (apt-get install prometheus)', 1)
	    unless system('sh', '-c', 'command -v promtool >/dev/null') == 0;
	spew("$pool_dir/metrics.txt", $m->{content});
	my $out = `promtool check metrics <'$pool_dir/metrics.txt' 2>&1`;
	is($?, 0, 'promtool accepts the pool figures') or diag($out);
}
# A copy of a pool file (no supervisor holds its lock) is no pool.
system('cp', "$metrics/lookup.pool", "$metrics/copied.pool") == 0 or die;
my $all = fcgi_request($status, 'GET', '/_sigil/status')->{json}{programs};
ok((grep { $_->{program} eq 'lookup' && $_->{pool} } @$all)
    && !(grep { $_->{program} eq 'copied' } @$all),
    'a pool file no supervisor holds is not shown');
unlink "$metrics/copied.pool";
my $text = fcgi_request($status, 'GET', '/_sigil/status?text');
like($text->{content}, qr/^pool\.workers_max: 3$/m,
    '/_sigil/status?text has the pool as lines');

# Released, every request is answered (the fourth by a freed worker).
for my $h ($h1, $h2, $h3, $h4) {
	like(release($h), qr/Status: 200|"threepids"/, 'a held request is answered');
}

# Idle for the timeout: back down to the minimum.
ok(wait_for(sub { @{ lookups() } == 1 }, 60),
    'idle past the timeout, the pool shrinks back to 1');
$p = pool('lookup');
is($p->{workers_grown_total} - $p->{workers_shrunk_total}, 0,
    'as many stopped for being idle as were started');
like(slurp($log), qr/sigil-lookup\[\d+\]: idle for 4 s: stopping it \(1 of 1-3\)/,
    'each stop is logged');
unlike(slurp($log), qr/sigil-lookup\[\d+\] (exited|killed)/,
    'and none counts as a restart');
is(pool('lookup')->{worker_restarts_total}, 0, 'restarts: 0');
my $r = fcgi_request($lookup, 'GET',
    '/_matrix/identity/api/v1/lookup?medium=email&address=a%40example.org');
is($r->{status}, 200, 'the one left serves');

# max_requests: the pubkey worker is replaced after 3 requests.
ok(wait_for(sub { @{ children($sup)->{'sigil-pubkey'} // [] } == 1 }, 30),
    'one pubkey worker');
my $pk = children($sup)->{'sigil-pubkey'}[0];
for (1 .. 3) {
	$r = fcgi_request($pubkey, 'GET', '/_matrix/identity/v2/pubkey/isvalid?public_key=x');
	is($r->{status}, 200, "pubkey request $_");
}
ok(wait_for(sub { my $c = children($sup)->{'sigil-pubkey'} // [];
    @$c == 1 && $c->[0] != $pk }, 30), 'after 3 it is replaced by another');
is(pool('pubkey')->{workers_recycled_total}, 1, 'counted as recycled');
like(slurp($log), qr/sigil-pubkey\[$pk\]: served 3 requests \(max_requests 3\): replacing it/,
    'and logged');
$r = fcgi_request($pubkey, 'GET', '/_matrix/identity/v2/pubkey/isvalid?public_key=x');
is($r->{status}, 200, 'the new one serves');

# Stopped: the pool files go with the supervisor.
stop_supervisor($sup);
is($?, 0, 'the supervisor stops cleanly');
$sup = 0;
ok(!-e "$metrics/lookup.pool", 'its pool files are removed');

# A kernel (or a sandbox) that does not tell the listen queue: the
# supervisor says so once and grows when every worker is busy.  strace
# fails its third socket() (the first two are the pools' listening
# sockets), the netlink one.
SKIP: {
	skip('no strace, or it may not trace here', 5)
	    unless system('sh', '-c', 'strace -o /dev/null true '
	    . '>/dev/null 2>&1') == 0;
	my $blind = "$pool_dir/blind";
	mkdir $blind;
	spew("$blind/workers", "status 1\nlookup 1-2 idle=4\n");
	$status->{sock} = "$blind/sigil-status.sock";
	$sup = fork() // die;
	if ($sup == 0) {
		open(STDOUT, '>', '/dev/null');
		open(STDERR, '>>', "$blind/log");
		# LeakSanitizer cannot run under ptrace.
		$ENV{ASAN_OPTIONS} = 'detect_leaks=0';
		{ exec('strace', '-o', '/dev/null', '-e', 'trace=socket', '-e',
		    'inject=socket:error=EPERM:when=3+', $bin, '-c',
		    "$pool_dir/sigil.conf", '-w', "$blind/workers", '-s',
		    $blind) };
		POSIX::_exit(127);
	}
	ok(wait_for(sub { slurp("$blind/log") =~ /does not tell its socket's listen queue/ }, 30),
	    'no listen queue: the supervisor says so');
	ok(wait_for(sub { my $p = pool('lookup'); $p && $p->{workers} == 1 }, 30),
	    'one lookup worker');
	my $h = hold("$blind/sigil-lookup.sock");
	ok(wait_for(sub { my $p = pool('lookup'); $p && $p->{workers} == 2 }, 30),
	    'its one worker busy: it starts a second');
	like(release($h), qr/"threepids"/, 'the held request is answered');
	stop_supervisor($sup);
	is($?, 0, 'and it stops cleanly');
	$sup = 0;
}

# A worker asked to stop while it serves a request (SIGTERM, as the
# supervisor stops an idle worker or replaces one) answers it first.
{
	my $w = start_worker('lookup', slurp("$dir/sigil.conf"));
	ok(wait_for(sub { -S $w->{sock} }, 30), 'a worker of its own');
	my ($pid) = slurp($w->{pid}) =~ /(\d+)/;
	my $h = hold($w->{sock});
	ok(wait_for(sub {
		my $st = get('/_sigil/status?full')->{json} or return 0;
		grep { $_->{pid} == $pid && $_->{state} eq 'busy' }
		    map { @{ $_->{processes} // [] } } @{ $st->{programs} };
	}, 30), 'it has taken the request and waits for its body');
	kill 'TERM', $pid;
	my $answer = release($h);
	like($answer, qr/"threepids"/, 'SIGTERM mid-request: the request is '
	    . 'still answered whole');
	ok(wait_for(sub { !running($pid) }, 60), 'then it stops');
	stop_worker($w);
}

done_testing();
