# The outbound budget of an unbind: a homeserver that completes TLS and
# then says nothing (the double with --stall) is named as the origin of
# four X-Matrix credentials.  The unbind is answered (502 M_UNKNOWN, JSON)
# instead of holding the worker until nginx gives up, with one connection
# to that homeserver for all four; a second unbind from it while the
# failure is remembered makes no connection at all, from any worker of
# the host (metrics_dir), or from the same worker without metrics_dir;
# and an ordinary bind on the same stack succeeds while the first one
# waits.  Two origins that
# trickle (a byte now and then, so only a deadline ends the fetch) share
# one budget: the first fetch spends it, the second is never made.  Counting is done
# in the double's connection log; times are only a guard against a hang.
use strict;
use warnings;
use lib 't/lib';
use IO::Socket::INET;
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';
my $n = 0;

sub bind_to {
	my ($email, $mxid) = @_;
	my $secret = 'outb' . ++$n;
	my $sid = validated_session($email, $secret);
	return post("$v1/3pid/bind",
	    { sid => $sid, client_secret => $secret, mxid => $mxid });
}
sub lines {
	open(my $fh, '<', $_[0]) or return 0;
	my @l = <$fh>;
	return scalar @l;
}
sub bound_to {
	return get("$v1/lookup?medium=email&address=$_[0]")->{json}{mxid};
}

# The stalling homeserver.
my $port = free_port();
my $origin = "localhost:$port";
my $conns = "$dir/stall-$port.conns";
my $double = fork() // die;
if ($double == 0) {
	open(STDOUT, '>', '/dev/null');
	open(STDERR, '>>', "$dir/logs/stall-double-$port.log");
	exec('/usr/bin/python3', 't/lib/homeserver-double.py', '--port', $port,
	    '--cert', "$dir/tls/hs.pem", '--key', "$dir/tls/hs.key", '--stall',
	    '--conn-log', $conns);
	exit 127;
}
ok(wait_for(sub { IO::Socket::INET->new("127.0.0.1:$port") }, 10),
    'the stalling double is up') or BAIL_OUT('no double');

# Four credentials of that origin, each with its own key id: the
# signatures do not matter, the keys are never had.
my $user = "\@stalled:$origin";
is(bind_to('stalled@example.org', $user)->{status}, 200, 'bound');
# The bind told that homeserver too (onbind, through sigil-notify): that
# delivery goes, so that only the unbind's connections are counted.
forget_onbinds($origin);
my $probe = lines($conns);	# the probe above was a connection too
my $body = { mxid => $user,
    threepid => { medium => 'email', address => 'stalled@example.org' } };
my $auth = join(',', map { sprintf('X-Matrix origin="%s",key="ed25519:k%d",'
    . 'sig="c2lnbmF0dXJl",destination="localhost"', $origin, $_) } 1 .. 4);

# The first unbind runs in a child; meanwhile an ordinary bind.
my $out = "$dir/stall-unbind-$port.json";
my $child = fork() // die;
if ($child == 0) {
	my $r = post("$v2/3pid/unbind", $body, { Authorization => $auth });
	spew($out, "$r->{status} " . ($r->{json}{errcode} // 'none') . "\n");
	exit 0;
}
ok(wait_for(sub { lines($conns) > $probe }, 20),
    'the unbind reached the stalling homeserver');
my $r = bind_to('meanwhile@example.org', '@meanwhile:example.org');
is($r->{status}, 200, 'an ordinary bind meanwhile succeeds')
    or diag($r->{content});
ok(wait_for(sub { -s $out }, 30), 'the unbind was answered (hang guard)');
waitpid($child, 0);
is(slurp($out), "502 M_UNKNOWN\n",
    'with 502 M_UNKNOWN: the key could not be had');
is(lines($conns) - $probe, 1, 'one connection for four credentials');
is(bound_to('stalled@example.org'), $user, 'still bound');

# The remembered failure is the host's (metrics_dir): another worker,
# which never asked that homeserver, does not ask it either, and answers
# at once instead of after the budget.  (On a shared host the stack's
# workers are the web server's user, and a file of another user's is
# not shared: this test's worker runs as root.)
my $conf = slurp("$dir/sigil.conf");
my ($w, $before);
SKIP: {
	skip('the stack\'s workers are another user on a shared host', 6)
	    if shared_host();
	my $remembered = 'sigil_outbound_remembered_failures_total'
	    . '{program="bind"}';
	my $counted = (scrape())[0]{$remembered} // 0;
	$w = start_worker('bind', $conf);
	ok(wait_for(sub { -S $w->{sock} }, 10), 'another bind worker');
	$before = lines($conns);
	my $t0 = time;
	$r = fcgi_request($w, 'POST', "$v2/3pid/unbind", $body,
	    { Authorization => $auth });
	is($r->{status}, 502, 'its first unbind from that origin: 502')
	    or diag($r->{content});
	is(lines($conns) - $before, 0, 'without a connection: the failure '
	    . 'another worker had is remembered for the host');
	ok(time - $t0 < 4, 'answered at once, not after the budget (8 s)');
	like(slurp($w->{log}),
	    qr/\Q$origin key ed25519:k1: key fetch failed less than 60 s ago\E/,
	    'the worker logged the remembered failure');
	ok(wait_for(sub { ((scrape())[0]{$remembered} // 0) >= $counted + 4 },
	    10), 'counted, once per credential (sigil_outbound_remembered_'
	    . 'failures_total)');
	stop_worker($w);
}

# Without metrics_dir nothing is shared: a worker remembers only its own
# failures (one connection, then none).
$w = start_worker('bind', join('', grep { !/^metrics_dir/ }
    split /^/m, $conf));
ok(wait_for(sub { -S $w->{sock} }, 10), 'a bind worker without metrics_dir');
$before = lines($conns);
$r = fcgi_request($w, 'POST', "$v2/3pid/unbind", $body,
    { Authorization => $auth });
is($r->{status}, 502, 'first unbind on that worker: 502') or diag($r->{content});
is(lines($conns) - $before, 1, 'after one connection of its own');
$r = fcgi_request($w, 'POST', "$v2/3pid/unbind", $body,
    { Authorization => $auth });
is($r->{status}, 502, 'a second one at once: 502') or diag($r->{content});
is(lines($conns) - $before, 1, 'without a connection (the failure is '
    . 'remembered by the worker)');
like(slurp($w->{log}), qr/\Q$origin\E key ed25519:k1: key fetch failed/,
    'the worker logged the failed fetch');
stop_worker($w);
is(bound_to('stalled@example.org'), $user, 'still bound');

kill 'TERM', $double;
waitpid($double, 0);

# One budget for the request: two origins (two names of one trickling
# double), one credential each.
$port = free_port();
$conns = "$dir/trickle-$port.conns";
$double = fork() // die;
if ($double == 0) {
	open(STDOUT, '>', '/dev/null');
	open(STDERR, '>>', "$dir/logs/trickle-double-$port.log");
	exec('/usr/bin/python3', 't/lib/homeserver-double.py', '--port', $port,
	    '--cert', "$dir/tls/hs.pem", '--key', "$dir/tls/hs.key",
	    '--trickle', '--conn-log', $conns);
	exit 127;
}
ok(wait_for(sub { IO::Socket::INET->new("127.0.0.1:$port") }, 10),
    'the trickling double is up') or BAIL_OUT('no double');
$user = "\@trickled:localhost:$port";
is(bind_to('trickled@example.org', $user)->{status}, 200, 'bound');
forget_onbinds("localhost:$port");
$body = { mxid => $user,
    threepid => { medium => 'email', address => 'trickled@example.org' } };
$auth = join(',', map { sprintf('X-Matrix origin="%s",key="ed25519:k",'
    . 'sig="c2lnbmF0dXJl",destination="localhost"', $_) }
    "localhost:$port", "127.0.0.1:$port");
$before = lines($conns);
$r = post("$v2/3pid/unbind", $body, { Authorization => $auth });
is($r->{status}, 502, 'two trickling origins: answered 502')
    or diag($r->{content});
is($r->{json}{errcode}, 'M_UNKNOWN', 'M_UNKNOWN, as JSON');
is(lines($conns) - $before, 1, 'the first fetch spent the budget: the '
    . 'second origin was never asked');
is(bound_to('trickled@example.org'), $user, 'still bound');
kill 'TERM', $double;
waitpid($double, 0);
done_testing();
