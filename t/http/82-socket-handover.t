# A restart of sigil-supervise with its socket handed over (LISTEN_FDS,
# as systemd's socket units hand it: deploy/systemd/sigil@.socket) loses
# no request: the socket stays open in the process that holds it (here
# the test, as systemd would), requests queue while no worker runs, and
# the next supervisor's workers answer them.  The supervisor neither
# makes nor removes a socket it was handed; LISTEN_FDS meant for another
# process is ignored.
use strict;
use warnings;
use lib 't/lib';
use Fcntl qw(F_SETFD);
use IO::Socket::UNIX;
use POSIX ();
use Socket qw(SOCK_STREAM);
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $sup = "$dir/handover";
mkdir $sup;
my $bin = build_dir() . '/sigil-supervise';
spew("$sup/workers", "status 2\n");
my $path = "$sup/sigil-status.sock";
my $listener = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $path,
    Listen => 1024) or die "$path: $!";

# start(LISTEN_PID, SOCKET_DIR): a supervisor given the listener as fd 3.
sub start {
	my ($listen_pid, $sockdir) = @_;
	my $pid = fork() // die;
	if ($pid == 0) {
		open(STDOUT, '>', '/dev/null');
		POSIX::dup2(fileno($listener), 3) // die "dup2: $!";
		open(my $fd3, '<&=', 3) or die "fd 3: $!";
		fcntl($fd3, F_SETFD, 0) or die "fcntl: $!";
		$ENV{LISTEN_FDS} = 1;
		$ENV{LISTEN_PID} = $listen_pid // $$;
		exec($bin, '-c', "$dir/sigil.conf", '-w', "$sup/workers",
		    '-s', $sockdir, '-l', "$sup/supervise.log");
		exit 127;
	}
	return $pid;
}
sub stop { kill 'TERM', $_[0]; waitpid($_[0], 0); return $? }

my $first = start(undef, $sup);
ok(wait_for(sub { @{ children($first)->{'sigil-status'} // [] } == 2 }, 15), 'a supervisor with the socket handed over');
like(slurp("$sup/supervise.log"), qr/\Q$path\E: handed over/, 'it says so');
my $status = { sock => $path };
is(fcgi_request($status, 'GET', '/_matrix/identity/versions')->{status}, 200,
    'its workers answer on it');

# A steady load across a restart.
my $load = fork() // die;
if ($load == 0) {
	open(my $out, '>', "$sup/load") or die;
	$out->autoflush(1);
	my $end = time + 120;
	while (!-e "$sup/stop" && time < $end) {
		print $out fcgi_request($status, 'GET',
		    '/_matrix/identity/versions')->{status}, "\n";
	}
	exit 0;
}
sub answers { split /\n/, slurp("$sup/load") }
ok(wait_for(sub { answers() > 20 }, 30), 'the load runs');
is(stop($first), 0, 'the first supervisor stops (SIGTERM)');
ok(-S $path, 'and leaves the socket it was handed where it is');
my $seen = answers();
# A request while no supervisor runs: it waits in the socket's queue.
my $queued = fork() // die;
if ($queued == 0) {
	spew("$sup/queued", fcgi_request($status, 'GET',
	    '/_matrix/identity/versions')->{status});
	exit 0;
}
ok(wait_for(sub { `ss -x -l -n src '$path'` =~ /^\S+\s+\S+\s+[1-9]/m }, 10),
    'a request waits in the queue while no worker runs');
my $second = start(undef, $sup);
ok(wait_for(sub { @{ children($second)->{'sigil-status'} // [] } == 2 }, 15), 'a second supervisor takes it');
ok(wait_for(sub { answers() > $seen + 20 }, 30), 'and its workers answer');
waitpid($queued, 0);
is(slurp("$sup/queued"), '200', 'the one that waited too');
spew("$sup/stop", '');
waitpid($load, 0);
my @all = answers();
my @bad = grep { $_ ne '200' } @all;
is(scalar @bad, 0, scalar(@all) . ' requests across the restart, none failed')
    or diag("@bad[0 .. ($#bad < 9 ? $#bad : 9)]");
is(stop($second), 0, 'the second stops');
ok(-S $path, 'the socket is still there for the next');

# LISTEN_FDS meant for another process (LISTEN_PID not ours): ignored.
mkdir "$sup/own";
my $other = start(1, "$sup/own");
ok(wait_for(sub { @{ children($other)->{'sigil-status'} // [] } == 2 }, 15), 'LISTEN_PID of another process');
ok(-S "$sup/own/sigil-status.sock", 'it makes its own socket');
is(stop($other), 0, 'it stops');
ok(!-e "$sup/own/sigil-status.sock", 'and removes the socket it made');

done_testing();
