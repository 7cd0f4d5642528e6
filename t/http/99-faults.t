# Fault drills: PostgreSQL restarted under the same workers; SIGTERM to an
# idle worker; nginx's answer when a program is not running.  Last in
# the suite because it stops workers.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes ();
use SigilTest;

plan skip_all => 'these drills stop and restart spawn-fcgi workers; on a '
    . 'shared host Apache runs a process per request (mod_cgi) or manages '
    . 'its own (mod_fcgid)' if shared_host();

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

# PostgreSQL restarted under load: four clients look up and start
# validation sessions throughout.  Only requests inside the restart
# window may fail, each as a Matrix JSON error; afterwards every request
# succeeds, served by the same workers; every session a client was told
# about exists, with its token.
my $v1 = '/_matrix/identity/api/v1';
my %pids = map { $_ => [worker_pids($_)] } qw(lookup validate);
my $out = stack_dir() . '/load';
mkdir $out;
my @kids;
for my $k (1 .. 4) {
	my $pid = fork() // die;
	if ($pid == 0) {
		open(my $fh, '>', "$out/$k") or die;
		my $end = time + 5;
		my ($i, $last) = (0, 0);
		while (time < $end) {
			my $r;
			# A session every 0.1 s at most: the suite's requests
			# from 127.0.0.1 share ratelimit_requester.
			$i++;
			if (Time::HiRes::time() - $last >= 0.1) {
				$last = Time::HiRes::time();
				$r = post("$v1/validate/email/requestToken", {
				    client_secret => "load${k}x$i", send_attempt => 1,
				    email => "load${k}x$i\@example.org" });
			} else {
				$r = get("$v1/lookup?medium=email&address=x%40example.org");
			}
			my $json = ref $r->{json} eq 'HASH';
			printf $fh "%d %d %s %s\n", time, $r->{status},
			    $json ? ($r->{json}{errcode} // '-') : 'NOTJSON',
			    $json ? ($r->{json}{sid} // '-') : '-';
		}
		close $fh;
		exit 0;
	}
	push @kids, $pid;
}
sleep 1;
system('sh', 'deploy/sigil-stack', 'pg-restart', stack_dir()) == 0
    or BAIL_OUT('pg-restart failed');
waitpid($_, 0) for @kids;
my (@lines, $ok, $failed, $notjson, @sids);
for my $k (1 .. 4) {
	open(my $fh, '<', "$out/$k") or die;
	my @l = <$fh>;
	push @lines, \@l;
}
for my $l (map { @$_ } @lines) {
	my ($t, $status, $errcode, $sid) = split ' ', $l;
	if ($status == 200) { $ok++; push @sids, $sid if $sid ne '-' }
	else { $failed++; $notjson++ if $errcode eq 'NOTJSON' || $errcode eq '-' }
}
ok($ok > 50, "requests kept being served ($ok ok, " . ($failed // 0) . ' failed)');
is($notjson // 0, 0, 'every failure was a Matrix JSON error');
my $tail_ok = 1;
for my $l (@lines) {
	$tail_ok = 0 unless @$l && (split ' ', $l->[-1])[1] == 200;
}
ok($tail_ok, 'each client\'s last request, after the restart, succeeded');
is_deeply({ map { $_ => [worker_pids($_)] } qw(lookup validate) }, \%pids,
    'the same workers serve');
my $list = join ',', map { "'$_'" } @sids;
is(psql("SELECT count(*) FROM validation_sessions WHERE sid IN ($list)"
    . " AND token <> ''"), scalar @sids,
    'every session a client was given exists, with its token');

# SIGTERM to an idle worker ends it: it logs "stopping" with how many
# requests it served (make bench reads that) and exits.
my $victim = $before[0];
kill 'TERM', $victim;
my $gone = 0;
for (1 .. 50) {
	if (!running($victim)) { $gone = 1; last }
	select(undef, undef, undef, 0.1);
}
ok($gone, 'SIGTERM ends an idle worker');
open($log, '<', stack_dir() . '/logs/sigil-pubkey.log') or die;
my $stopped = qr/^(?:\S+Z )?sigil-pubkey\[$victim\] info: stopping after \d+ requests$/;
ok(scalar(grep { $_ =~ $stopped } <$log>),
    'after leaving its accept loop cleanly, saying how much it served');
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
