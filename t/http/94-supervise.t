# deploy's supervisor for hosts without systemd: sigil-supervise starts
# the workers a workers file names on sockets of its own, replaces any
# worker that is killed (SIGKILL included) while the others serve, and
# stops everything on SIGTERM.  Bad workers files stop it at start.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $sup_dir = "$dir/supervise";
mkdir $sup_dir;
my $bin = build_dir() . '/sigil-supervise';

sub write_file {
	my ($path, $text) = @_;
	open(my $fh, '>', $path) or die "$path: $!";
	print $fh $text;
	close $fh;
}
sub children {
	my ($pid) = @_;
	my %by;
	for (`ps -o pid=,comm= --ppid $pid`) {
		my ($p, $name) = /^\s*(\d+)\s+(\S+)/ or next;
		push @{ $by{$name} }, $p;
	}
	return \%by;
}
sub count { my ($c, $name) = @_; scalar @{ $c->{$name} // [] } }

# Start-up refusals.
write_file("$sup_dir/bad", "status 2\nnosuch 1\n");
my $out = `$bin -c $dir/sigil.conf -w $sup_dir/bad -s $sup_dir 2>&1`;
isnt($?, 0, 'an unknown program in the workers file: it does not start');
like($out, qr/bad:2: want/, 'and says which line');
write_file("$sup_dir/twice", "status 2\nstatus 3\n");
$out = `$bin -c $dir/sigil.conf -w $sup_dir/twice -s $sup_dir 2>&1`;
like($out, qr/status is listed twice/, 'a program listed twice: refused');
write_file("$sup_dir/workers", "# workers per program\nstatus 2\npubkey 1\n"
    . "lookup 0\nnotify 1\n");
$out = `$bin -c $dir/sigil.conf -w $sup_dir/workers -s $sup_dir lookup 2>&1`;
like($out, qr/lookup is not in/, 'a program asked for with 0 workers: refused');

my $pid = fork() // die;
if ($pid == 0) {
	open(STDOUT, '>', '/dev/null');
	open(STDERR, '>>', "$dir/logs/sigil-supervise.log");
	exec($bin, '-c', "$dir/sigil.conf", '-w', "$sup_dir/workers",
	    '-s', $sup_dir, '-G', 'www-data');
	exit 127;
}
my $status = { sock => "$sup_dir/sigil-status.sock" };
ok(wait_for(sub { my $c = children($pid); count($c, 'sigil-status') == 2
    && count($c, 'sigil-pubkey') == 1 && count($c, 'sigil-notify') == 1 }, 10),
    'two status workers, one pubkey, one notify');
ok(!-e "$sup_dir/sigil-lookup.sock", 'no socket for a program with 0 workers');
my @st = stat("$sup_dir/sigil-status.sock");
is(sprintf('%o', $st[2] & 07777), '660', 'the socket is mode 0660');
is(scalar getgrgid($st[5]), 'www-data', 'owned by the web server\'s group');
my $r = fcgi_request($status, 'GET', '/_matrix/identity/versions');
is($r->{status}, 200, 'a worker answers on the socket');

# SIGKILL a worker under load: the other serves, and a new one takes its
# place.  At most the request the killed worker held fails.
my $before = children($pid);
my $victim = $before->{'sigil-status'}[0];
my $load = fork() // die;
if ($load == 0) {
	open(my $out, '>', "$sup_dir/load") or die;
	my $end = time + 3;
	while (time < $end) {
		my $x = fcgi_request($status, 'GET', '/_matrix/identity/versions');
		print $out "$x->{status}\n";
	}
	exit 0;
}
select(undef, undef, undef, 1);
kill 'KILL', $victim;
waitpid($load, 0);
open(my $lf, '<', "$sup_dir/load") or die;
my @statuses = map { chomp; $_ } <$lf>;
my $failed = grep { $_ != 200 } @statuses;
ok(@statuses > 20 && $failed <= 1, 'under load, the other worker keeps '
    . 'serving (' . scalar(@statuses) . " requests, $failed failed)");
$r = fcgi_request($status, 'GET', '/_matrix/identity/versions');
is($r->{status}, 200, 'and serves after');
ok(wait_for(sub { my $c = children($pid); count($c, 'sigil-status') == 2
    && !grep { $_ == $victim } @{ $c->{'sigil-status'} } }, 10),
    'a killed worker is replaced');
$r = fcgi_request($status, 'GET', '/_matrix/identity/versions');
is($r->{status}, 200, 'and the new one serves');
my $notify = $before->{'sigil-notify'}[0];
kill 'TERM', $notify;
ok(wait_for(sub { my $c = children($pid); count($c, 'sigil-notify') == 1
    && $c->{'sigil-notify'}[0] != $notify }, 10),
    'sigil-notify is restarted too');
open(my $fh, '<', "$dir/logs/sigil-supervise.log") or die;
my $log = do { local $/; <$fh> };
like($log, qr/sigil-status\[$victim\] killed by signal 9; starting another/,
    'the supervisor logs what happened');

# SIGTERM: every worker stops, the sockets go.
my @all = map { @$_ } values %{ children($pid) };
kill 'TERM', $pid;
waitpid($pid, 0);
is($?, 0, 'the supervisor stops cleanly on SIGTERM');
ok(!(grep { kill 0, $_ } @all), 'and its workers with it');
ok(!-e "$sup_dir/sigil-status.sock", 'the sockets are removed');

done_testing();
