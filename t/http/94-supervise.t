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

# -l and -p: the supervisor and its workers write to one log file, each
# line with its time; logrotate with the shipped deploy/logrotate/sigil
# renames it and sends SIGUSR1, and all of them (workers started before
# it too) start a new one; the pid file is there while it runs.
write_file("$sup_dir/workers-log", "status 2\n");
mkdir "$sup_dir/logs";
my $lr = do { open(my $f, '<', 'deploy/logrotate/sigil') or die; local $/; <$f> };
$lr =~ s{/var/log/sigil/}{$sup_dir/logs/}g;
$lr =~ s{/run/sigil/supervise\.pid}{$sup_dir/sup.pid}g;
# (Not every sigil-notify of this machine: other stacks run here.)
$lr =~ s{^.*pkill.*\n}{}m;
write_file("$sup_dir/logrotate.conf", $lr);
chmod 0644, "$sup_dir/logrotate.conf";
$pid = fork() // die;
if ($pid == 0) {
	open(STDOUT, '>', '/dev/null');
	open(STDERR, '>>', "$dir/logs/sigil-supervise.log");
	exec($bin, '-c', "$dir/sigil.conf", '-w', "$sup_dir/workers-log",
	    '-s', $sup_dir, '-l', "$sup_dir/logs/sigil.log", '-p', "$sup_dir/sup.pid");
	exit 127;
}
sub slurp_file { open(my $f, '<', $_[0]) or return ''; local $/; <$f> }
ok(wait_for(sub { count(children($pid), 'sigil-status') == 2
    && slurp_file("$sup_dir/logs/sigil.log") =~ /sigil-status\[\d+\] info/ }, 10),
    '-l: the workers start, and write to the log file');
is(slurp_file("$sup_dir/sup.pid"), "$pid\n", '-p: the pid file names it');
my $stamp = qr/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;
like(slurp_file("$sup_dir/logs/sigil.log"), qr/^${stamp}sigil-supervise: sigil-status: 2/m,
    'its lines carry the time (RFC 3339)');
my $old_worker = children($pid)->{'sigil-status'}[0];
$out = `logrotate -f -s $sup_dir/logrotate.state $sup_dir/logrotate.conf 2>&1`;
is($?, 0, 'logrotate with the shipped file rotates it') or diag($out);
ok(wait_for(sub { slurp_file("$sup_dir/logs/sigil.log") =~ /log file opened again/ }, 10),
    'its SIGUSR1: the supervisor starts a new file');
kill 'TERM', $old_worker;
ok(wait_for(sub { slurp_file("$sup_dir/logs/sigil.log")
    =~ /^${stamp}sigil-status\[$old_worker\] info: stopping after/m }, 10),
    'and so does a worker started before it')
    or diag(slurp_file("$sup_dir/logs/sigil.log"), slurp_file("$sup_dir/logs/sigil.log.1"));
unlike(slurp_file("$sup_dir/logs/sigil.log.1"), qr/sigil-status\[$old_worker\] info: stopping/,
    'nothing more goes to the renamed file');
ok(wait_for(sub { count(children($pid), 'sigil-status') == 2 }, 10),
    'the worker is replaced (SIGUSR1 did not stop any)');
kill 'TERM', $pid;
waitpid($pid, 0);
is($?, 0, 'it stops cleanly');
ok(!-e "$sup_dir/sup.pid", 'and removes its pid file');
$out = `$bin -c $dir/sigil.conf -w $sup_dir/workers-log -s $sup_dir -l relative.log 2>&1`;
isnt($?, 0, 'a relative log file: it does not start');
like($out, qr/not an absolute path/, 'and says why');

done_testing();
