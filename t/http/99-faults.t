# Fault drills: PostgreSQL restarted under the same workers; SIGTERM to an
# idle worker; nginx's answer when a program is not running.  Last in
# the suite because it stops workers.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SigilTest;

my $path = '/_matrix/identity/v2/pubkey/ephemeral/isvalid?public_key=abc';
my @before = worker_pids('pubkey');
is(scalar @before, 2, 'two pubkey workers');

# Each worker holds a connection: make both use theirs first.
get($path) for 1 .. 4;
system('sh', 'deploy/sigil-stack', 'pg-restart', stack_dir()) == 0
    or BAIL_OUT('pg-restart failed');
my $fails = 0;
for (1 .. 10) {
	my $r = get($path);
	$fails++ unless $r->{status} == 200 && $r->{json} &&
	    $r->{json}{valid} == JSON::PP::false;
}
is($fails, 0, 'after a PostgreSQL restart every request succeeds');
is_deeply([worker_pids('pubkey')], \@before, 'with the same workers');
ok(kill(0, @before) == 2, 'which are all still alive');
open(my $log, '<', stack_dir() . '/logs/sigil-pubkey.log') or die;
ok(scalar(grep { /reconnecting/ } <$log>) >= 1,
    'the workers logged their reconnection');

# SIGTERM to an idle worker ends it: it logs "stopping" and exits.
my $victim = $before[0];
kill 'TERM', $victim;
my $gone = 0;
for (1 .. 50) {
	if (!kill(0, $victim)) { $gone = 1; last }
	select(undef, undef, undef, 0.1);
}
ok($gone, 'SIGTERM ends an idle worker');
open($log, '<', stack_dir() . '/logs/sigil-pubkey.log') or die;
ok(scalar(grep { /^sigil-pubkey\[$victim\] info: stopping/ } <$log>),
    'after leaving its accept loop cleanly');
is(get($path)->{status}, 200, 'the other worker still serves');

# No worker at all: the web server answers as Matrix JSON, nginx 502,
# Apache 503 (what mod_proxy says of a backend it cannot reach).
kill 'TERM', worker_pids('status');
select(undef, undef, undef, 0.5);
my $apache = ($ENV{SIGIL_TEST_FRONT} // '') eq 'apache';
is_error(get('/_matrix/identity/v2'), $apache ? 503 : 502, 'M_UNKNOWN',
    'a program that is not running: ' . ($apache ? '503' : '502')
    . ' M_UNKNOWN from the web server');

done_testing();
