# Onbind delivery without a daemon, as on a shared host: cron runs
# "sigil-notify --once", which delivers what is due, reschedules what
# fails, and exits.  A homeserver that is down gets the delivery from a
# later run, and runs that overlap (a slow run and the next tick) never
# deliver one row twice.  Where the stack runs the daemon, it is stopped
# for this file and started again at its end.
use strict;
use warnings;
use lib 't/lib';
use JSON::PP;
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $hs = $ENV{SIGIL_TEST_HS};
my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';
my $key_id = conf_value('signing_key_id');
my $pub = get("$v2/pubkey/$key_id")->{json}{public_key};
my $json = JSON::PP->new->canonical;
my $notify = notify_program();
my $n = 0;

# The daemon, where there is one, must not take the rows from cron.
my $daemon = -e "$dir/run/sigil-notify.pid";
if ($daemon) {
	my ($pid) = slurp("$dir/run/sigil-notify.pid") =~ /(\d+)/;
	kill 'TERM', $pid;
	wait_for(sub { !running($pid) }, 60) or BAIL_OUT("sigil-notify $pid "
	    . 'did not stop');
	unlink "$dir/run/sigil-notify.pid";
}
END {
	system("deploy/sigil-stack notify-restart $dir") if $daemon;
}

sub bind_to {
	my ($email, $mxid) = @_;
	my $secret = 'cron' . ++$n;
	my $sid = validated_session($email, $secret);
	my $r = post("$v1/3pid/bind",
	    { sid => $sid, client_secret => $secret, mxid => $mxid });
	$r->{status} == 200 or die "bind: $r->{content}";
}
sub invite {
	my ($address) = @_;
	my $r = post("$v1/store-invite", { medium => 'email',
	    address => $address, room_id => '!cron:example.org',
	    sender => '@host' . ++$n . ':example.org' });
	return $r->{json}{token} // die "store-invite: $r->{content}";
}
sub lines {
	my ($file) = @_;
	open(my $fh, '<', $file) or return ();
	return map { chomp; $_ } <$fh>;
}
# The rows for the homeserver double on port (other tests' rows may wait
# where no daemon runs).
sub outbox { psql("SELECT count(*) FROM onbind_outbox "
    . "WHERE destination = 'localhost:$_[0]'") }
# once(CONFIG?): one cron run; its exit status and what it said.
sub once {
	my ($conf) = @_;
	my $out = `$notify --once -c ${\ ($conf // "$dir/sigil.conf")} 2>&1`;
	return ($? >> 8, $out);
}
sub stop_double { kill 'TERM', $_[0]; waitpid($_[0], 0) }

# Whatever the suite left due (no daemon runs on a shared host) goes
# first.  What failed then is for homeservers that do not exist here
# (other files bind users of example.org, and every bind tells the
# user's homeserver): put off for an hour, so that nothing falls due
# between this run and the next.
once();
psql('UPDATE onbind_outbox SET next_attempt_ts = '
    . (time() * 1000 + 3600_000));
my ($rc, $out) = once();
is($rc, 0, 'a run with nothing due');
is($out, '', 'says nothing (cron mails what a job prints)');

# A bind queues; the next run delivers, signed.
my $port = free_port();
my $log = "$dir/cron-$port.log";
my $double = start_onbind_double($port, $log);
my $token = invite('cron@example.org');
bind_to('cron@example.org', "\@cron:localhost:$port");
is(outbox($port), 1, 'the bind queued one delivery');
($rc, $out) = once();
is($rc, 0, 'the next cron run') or diag($out);
my @got = lines($log);
is(scalar @got, 1, 'delivered it');
is(outbox($port), 0, 'and emptied the outbox');
my $body = $json->decode($got[0] // '{}');
is($body->{invites}[0]{token}, $token, 'with the pending invite');
ok(verify_signed($got[0], 'localhost', $key_id, $pub),
    'signed (python3-signedjson)');

# A bind without invites and a rebind of the same address queue an
# onbind each (the spec's 3pid/onbind, with invites empty; see
# t/http/86-onbind.t); a failed bind queues none.
bind_to('cron-plain@example.org', "\@plain:localhost:$port");
bind_to('cron-plain@example.org', "\@again:localhost:$port");
my $secret = 'cron' . ++$n;
my $sid = validated_session('cron-failed@example.org', $secret);
is(post("$v1/3pid/bind", { sid => $sid, client_secret => 'wrong',
    mxid => "\@f:localhost:$port" })->{status}, 404, 'a failed bind');
is(outbox($port), 2, 'two onbinds queued, none for the failed bind');
($rc, $out) = once();
is($rc, 0, 'the next cron run') or diag($out);
@got = lines($log);
is(scalar @got, 3, 'delivered both');
is(outbox($port), 0, 'and emptied the outbox');
# (In either order: a run delivers up to onbind_concurrency at once.)
is_deeply([sort { $a->[1] cmp $b->[1] } map { my $b = $json->decode($_);
    [$b->{address}, $b->{mxid}, $b->{invites}] } grep { defined } @got[1, 2]],
    [['cron-plain@example.org', "\@again:localhost:$port", []],
    ['cron-plain@example.org', "\@plain:localhost:$port", []]],
    'each with its user and empty invites');
ok(@got == 3 && !(grep { !verify_signed($_, 'localhost', $key_id, $pub) }
    @got[1, 2]), 'each signed (python3-signedjson)');
stop_double($double);

# The homeserver is down: the run fails the attempt, keeps the row and
# exits; a run after it comes up delivers once.
$port = free_port();
$log = "$dir/cron-$port.log";
$token = invite('cron-late@example.org');
bind_to('cron-late@example.org', "\@late:localhost:$port");
bind_to('cron-late-plain@example.org', "\@plain:localhost:$port");
sub attempts { psql("SELECT string_agg(attempts::text, ',') FROM "
    . "onbind_outbox WHERE destination = 'localhost:$port'") }
($rc, $out) = once();
is($rc, 0, 'a run while the homeserver is down: no error of its own');
like($out, qr/attempt 1 failed/, 'it says the attempt failed');
is(attempts(), '1,1', 'the rows stay, attempted (with and without invite)');
($rc) = once();
is(attempts(), '1,1', 'a run before the retry is due leaves them alone');
# Due again while the homeserver is still down: attempted, and nothing
# said, since nothing changed (a row failing the same way for 30 days
# must not mail every run; the first failure and a new reason warn).
psql("UPDATE onbind_outbox SET next_attempt_ts = 0 WHERE destination = 'localhost:$port'");
($rc, $out) = once();
is(attempts(), '2,2', 'a run when the retry is due tries again');
is($out, '', 'and says nothing: they failed as they did before') or diag($out);
psql("UPDATE onbind_outbox SET next_attempt_ts = 0, last_error = 'HTTP 500'"
    . " WHERE destination = 'localhost:$port'");
($rc, $out) = once();
like($out, qr/onbind \d+ to localhost:$port: unreachable \(Couldn't connect to server\); attempt 3 failed/,
    'a row that fails for another reason than last time warns again')
    or diag($out);
$double = start_onbind_double($port, $log);
psql("UPDATE onbind_outbox SET next_attempt_ts = 0 WHERE destination = 'localhost:$port'");
($rc) = once();
is(outbox($port), 0, 'a run once it is up and the retry due: delivered');
my %late = map { my $b = $json->decode($_); ($b->{address} => $b) }
    lines($log);
is(scalar(() = lines($log)), 2, 'each once');
is($late{'cron-late@example.org'}{invites}[0]{token}, $token,
    'one with its invite');
is_deeply($late{'cron-late-plain@example.org'}{invites}, [],
    'the other with none');
stop_double($double);

# Overlapping runs and a slow homeserver: every row exactly once.
$port = free_port();
$log = "$dir/cron-$port.log";
$double = start_onbind_double($port, $log, '--onbind-delay', '0.2');
# One delivery at a time per run, so that the runs share the rows
# rather than the first taking them all at once.
spew("$dir/cron-one.conf", slurp("$dir/sigil.conf")
    =~ s/^onbind_concurrency\s*=.*\n//mr . "onbind_concurrency = 1\n");
my @tokens;
for my $i (1 .. 6) {
	push @tokens, invite("cron$i\@example.org");
	bind_to("cron$i\@example.org", "\@cron$i:localhost:$port");
}
my @runs = map {
	my $pid = fork() // die;
	if ($pid == 0) {
		open(STDOUT, '>', '/dev/null');
		open(STDERR, '>>', "$dir/logs/cron-runs.log");
		exec($notify, '--once', '-c', "$dir/cron-one.conf");
		exit 127;
	}
	$pid;
} 1 .. 3;
my @status = map { waitpid($_, 0); $? >> 8 } @runs;
is_deeply(\@status, [0, 0, 0], 'three overlapping runs');
is(outbox($port), 0, 'delivered everything between them');
my @many = map { $json->decode($_)->{invites}[0]{token} } lines($log);
is_deeply([sort @many], [sort @tokens], 'each row exactly once');
my %ran = map { /^(?:\S+Z )?sigil-notify\[(\d+)\] info: --once: \d+ delivery/ ? ($1 => 1) : () }
    lines("$dir/logs/cron-runs.log");
cmp_ok(scalar keys %ran, '>=', 2, 'and more than one run delivered some');
stop_double($double);

# No database: an error, for cron to report.
(my $bad = slurp("$dir/sigil.conf")) =~
    s{^database\s*=.*$}{database = host=$dir/nosuch dbname=sigil user=sigil}m;
spew("$dir/cron-bad.conf", $bad);
($rc, $out) = once("$dir/cron-bad.conf");
is($rc, 1, 'a run without its database: exit 1');
like($out, qr/cannot connect/, 'and says why');

done_testing();
