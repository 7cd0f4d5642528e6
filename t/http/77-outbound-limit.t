# Outbound calls do not hold a whole pool (issue 22, item 4).  A
# homeserver that trickles (the double with --trickle: a byte every
# 0.3 s, so only the budget ends a call) is named by as many
# account/register calls as the program may have out at once (half its
# pool, at least one); the next one is refused at once with 503 M_UNKNOWN
# and Retry-After instead of joining the wait, while terms (same program)
# is answered; once the calls end a register works again.  The limit is
# one for the host: workers started beside the stack's share it, and the
# slot of a worker killed in a call comes back.  The refusals show in the
# metrics.  Counting is done in the double's connection log; times are a
# guard that the refusal did not wait.
use strict;
use warnings;
use lib 't/lib';
use IO::Socket::INET;
use Test::More;
use Time::HiRes ();
use SigilTest;

# The shared host's configuration has no metrics_dir (nothing serves
# /_sigil/ there), and so shares nothing: no limit to show.
plan skip_all => 'no metrics_dir on the shared host: nothing is shared'
    if shared_host();

my $dir = stack_dir();
my $hs = $ENV{SIGIL_TEST_HS} or BAIL_OUT('no homeserver double');
my $v2 = '/_matrix/identity/v2';
my $prog = 'program="account"';

sub lines {
	open(my $fh, '<', $_[0]) or return 0;
	my @l = <$fh>;
	return scalar @l;
}
sub register_body {
	my ($user, $server) = @_;
	return { access_token => "good-$user\@$server", token_type => 'Bearer',
	    matrix_server_name => $server, expires_in => 3600 };
}
# The refusals counted.
sub busy {
	my ($m) = scrape();
	return $m->{"sigil_outbound_busy_total{$prog}"};
}

# The trickling homeserver.
my $port = free_port();
my $slow = "localhost:$port";
my $conns = "$dir/trickle77-$port.conns";
# (start_onbind_double: any double on a port of its own, here with
# --trickle; no onbind is sent to it.)
my $double = start_onbind_double($port, "$dir/trickle77-$port.onbind",
    '--trickle', '--conn-log', $conns);
ok($double, 'the trickling double is up');
my $probe = lines($conns);

# Through the stack: its account pool, and so its limit.
my $pool = scalar(worker_pids('account'));
my $limit = int($pool / 2) || 1;
my $busy0 = busy() // 0;

my @kids;
for my $i (1 .. $limit) {
	my $out = "$dir/trickle77-$port-$i.res";
	my $pid = fork() // die;
	if ($pid == 0) {
		my $r = post("$v2/account/register",
		    register_body("slow$i", $slow));
		spew($out, "$r->{status} " . ($r->{json}{errcode} // 'none')
		    . "\n");
		exit 0;
	}
	push @kids, [$pid, $out];
}
ok(wait_for(sub { lines($conns) - $probe >= $limit }, 20),
    "$limit register call(s) wait on the trickling homeserver");

my $t0 = Time::HiRes::time();
my $r = post("$v2/account/register", register_body('one-more', $slow));
my $took = Time::HiRes::time() - $t0;
is_error($r, 503, 'M_UNKNOWN', 'the one over the limit: 503 M_UNKNOWN');
like($r->{headers}{'retry-after'} // '', qr/^[1-9]\d*$/,
    'with Retry-After') or diag(explain($r->{headers}));
ok($took < 2, "at once (${took}s), not after the budget");
$r = post("$v2/account/register", register_body('fast', $hs));
is_error($r, 503, 'M_UNKNOWN',
    'any homeserver call of the program is refused meanwhile');
$r = get("$v2/terms");
is($r->{status}, 200, 'terms, the same program, is answered meanwhile');
ok(!grep({ -s $_->[1] } @kids), 'while the register calls still wait');
is(lines($conns) - $probe, $limit, 'the refused calls made no connection');
ok(wait_for(sub { (busy() // 0) >= $busy0 + 2 }, 10),
    'the refusals are counted (sigil_outbound_busy_total)');

for my $k (@kids) {
	ok(wait_for(sub { -s $k->[1] }, 30), 'a waiting register ended');
	waitpid($k->[0], 0);
	is(slurp($k->[1]), "502 M_UNKNOWN\n", 'with 502 when its budget ran out');
}
$r = post("$v2/account/register", register_body('after', $hs));
is($r->{status}, 200, 'with the calls over, a register works again')
    or diag($r->{content});

# Workers beside the stack's, with outbound_concurrency = 2: the slots
# are the host's (the stack's account workers take them too), and one
# held by a worker that is killed in its call comes back.
{
	my $conf = slurp("$dir/sigil.conf") . "outbound_concurrency = 2\n";
	my @w = map { start_worker('account', $conf) } 1 .. 3;
	ok(wait_for(sub { !grep { !-S $_->{sock} } @w }, 10),
	    'three account workers with outbound_concurrency = 2');
	$probe = lines($conns);
	my @held;
	for my $i (0, 1) {
		my $out = "$dir/trickle77-$port-w$i.res";
		my $pid = fork() // die;
		if ($pid == 0) {
			my $x = fcgi_request($w[$i], 'POST',
			    "$v2/account/register", register_body("w$i", $slow));
			spew($out, "$x->{status}\n");
			exit 0;
		}
		push @held, [$pid, $out];
	}
	ok(wait_for(sub { lines($conns) - $probe >= 2 }, 20),
	    'two of them wait on the trickling homeserver');
	$r = fcgi_request($w[2], 'POST', "$v2/account/register",
	    register_body('third', $hs));
	is($r->{status}, 503, 'the third worker is refused: 503');
	like($r->{headers}{'retry-after'} // '', qr/^[1-9]\d*$/,
	    'with Retry-After');
	$r = post("$v2/account/register", register_body('stack', $hs));
	is($r->{status}, 503, 'and so is the stack\'s own worker (the slots '
	    . 'are the host\'s)');

	# Killed in its call: the kernel gives its slot back.
	my ($victim) = slurp($w[0]{pid}) =~ /(\d+)/;
	kill 'KILL', $victim;
	ok(wait_for(sub { !running($victim) }, 10), 'one waiting worker killed');
	$r = fcgi_request($w[2], 'POST', "$v2/account/register",
	    register_body('third', $hs));
	is($r->{status}, 200, 'its slot came back: the third worker registers')
	    or diag($r->{content});
	for my $k (@held) {
		waitpid($k->[0], 0);
	}
	is(slurp($held[1][1]), "502\n", 'the other waiting call ended with 502');
	stop_worker($_) for @w;
	like(slurp($w[2]{log}),
	    qr/\Q$hs: all 2 outbound slots are taken; refused\E/,
	    'the refusal is logged with the limit');
}

kill 'TERM', $double;
waitpid($double, 0);
done_testing();
