# The per-instance event counters and sigil-notify's onbind figures
# through the real stack, on /_sigil/metrics and /_sigil/status and
# through a Prometheus server scraping the stack: mails sent move
# sigil_mail_total{result="sent"} by exactly their number; with the mail
# sink stopped a mail fails and moves result="failed" (the sink is
# started again afterwards); a text moves sigil_sms_total; a request over
# ratelimit_address moves the refusals under limit="address"; a restart
# of PostgreSQL shows as reconnects; an invite bound to a homeserver that
# fails once, then answers slowly, shows a failed and a done delivery, a
# queued row and a due row's age; sigil-notify --once writes the figures
# too, marked as not running.  promtool accepts the exposition.
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

my $dir = stack_dir();
my $hs = $ENV{SIGIL_TEST_HS};
my $v1 = '/_matrix/identity/api/v1';

# The value of one sample now ($labels: the text inside the braces).
sub now_value {
	my ($name, $labels) = @_;
	my ($m) = scrape();
	return $m->{defined $labels ? "$name\{$labels}" : $name};
}

# Waits until sample NAME{LABELS} is WANT; returns what it last was.
sub wait_value {
	my ($name, $labels, $want, $secs) = @_;
	my $v;
	wait_for(sub { ($v = now_value($name, $labels) // -1) == $want },
	    $secs // 60);
	return $v;
}

# A Prometheus server on loopback scraping the stack every second, when
# the package is installed; $prom->(QUERY) is the first result's value.
my $server = start_prometheus();
my $prom = $server ? $server->{query} : undef;
my $parent = $$;
END { stop_prometheus($server) if $server && $$ == $parent }

# Through Prometheus: waits until QUERY reads WANT (a number, or a code
# given the value); skipped without the server.
sub prom_is {
	my ($q, $want, $name) = @_;
	SKIP: {
		skip('no prometheus server (apt-get install prometheus)', 1)
		    unless $prom;
		my $v;
		my $test = ref $want ? $want : sub { $_[0] == $want };
		ok(wait_for(sub { defined($v = $prom->($q)) && $test->($v) },
		    60), "Prometheus: $name") or diag("$q: " . ($v // 'none'));
	}
}

my $mail_sent = 'program="validate",result="sent"';
my $mail_failed = 'program="validate",result="failed"';
my $refused = 'program="validate",limit="address"';
my ($m, $r) = scrape();
for my $family (qw(sigil_mail_total sigil_sms_total
    sigil_ratelimit_refusals_total sigil_db_errors_total
    sigil_db_reconnects_total sigil_onbind_deliveries_total)) {
	like($r->{content}, qr/^# TYPE $family counter$/m,
	    "$family is a counter");
}
for my $family (qw(sigil_onbind_outbox_rows sigil_onbind_oldest_due_seconds
    sigil_onbind_last_refresh_timestamp_seconds)) {
	like($r->{content}, qr/^# TYPE $family gauge$/m, "$family is a gauge");
}
my $sent0 = $m->{"sigil_mail_total{$mail_sent}"};
my $failed0 = $m->{"sigil_mail_total{$mail_failed}"};
my $refused0 = $m->{"sigil_ratelimit_refusals_total{$refused}"};
ok(defined $sent0 && defined $failed0 && defined $refused0,
    'every program\'s mail and limit counters are there from the start');
my @limits = map { /limit="([^"]+)"/ ? $1 : () } grep
    { /^sigil_ratelimit_refusals_total\{program="validate",/ } keys %$m;
is_deeply([sort @limits], [sort qw(address requester msisdn country
    lookup_ip lookup_user invite_sender invite_address invite_client
    invite_room invite_user other)], 'one refusal counter per limit of '
    . 'the configuration, and "other": a fixed set');
prom_is("sigil_mail_total{$mail_sent}", $sent0,
    'it scraped the mail counter');

# Three mails to one address, then a fourth request over its limit
# (ratelimit_address = 3 60 in the test stack).
my $mails = mail_count();
for my $i (1 .. 3) {
	is(post("$v1/validate/email/requestToken", { client_secret =>
	    "evsent$i", email => 'metrics-events@example.org',
	    send_attempt => 1 })->{status}, 200, "requestToken $i");
}
is_error(post("$v1/validate/email/requestToken", { client_secret =>
    'evsent4', email => 'metrics-events@example.org', send_attempt => 1 }),
    429, 'M_LIMIT_EXCEEDED', 'the fourth is over ratelimit_address');
ok(wait_for(sub { mail_count() >= $mails + 3 }, 20), 'three mails arrived');
is(wait_value('sigil_mail_total', $mail_sent, $sent0 + 3), $sent0 + 3,
    '3 mails: the sent counter moved by 3');
is(now_value('sigil_mail_total', $mail_failed), $failed0,
    'the failed one did not move');
is(wait_value('sigil_ratelimit_refusals_total', $refused, $refused0 + 1),
    $refused0 + 1, 'the refusal is counted under limit="address"');
my ($m2) = scrape();
my @other = grep { /^sigil_ratelimit_refusals_total\{program="validate",limit="(?!address")/
    && $m2->{$_} != $m->{$_} } keys %$m;
ok(!@other, 'and under no other limit of validate') or diag("@other");
prom_is("sigil_mail_total{$mail_sent}", $sent0 + 3,
    'the sent counter moved by 3');
prom_is("sigil_ratelimit_refusals_total{$refused}", $refused0 + 1,
    'the refusal under limit="address"');

# The mail sink stopped: a mail fails, and is counted so.  Started again
# afterwards however this file ends, so later tests find it.
my $sink_stopped;
END {
	system('deploy/sigil-stack', 'mail-start', $dir)
	    if $sink_stopped && !-f "$dir/run/mailsink.pid";
}
$sink_stopped = 1;
is(system('deploy/sigil-stack', 'mail-stop', $dir), 0, 'mail sink stopped');
my $x = post("$v1/validate/email/requestToken", { client_secret =>
    'evfail', email => 'metrics-fail@example.org', send_attempt => 1 });
isnt($x->{status}, 200, 'with no mail sink, requestToken fails')
    or diag($x->{content});
is(wait_value('sigil_mail_total', $mail_failed, $failed0 + 1),
    $failed0 + 1, 'a stopped mail sink: the failed counter moved by 1');
is(now_value('sigil_mail_total', $mail_sent), $sent0 + 3,
    'the sent one did not');
prom_is("sigil_mail_total{$mail_failed}", $failed0 + 1,
    'a stopped mail sink shows a mail failure');
is(system('deploy/sigil-stack', 'mail-start', $dir), 0,
    'mail sink started again');
$sink_stopped = 0;
$mails = mail_count();
is(post("$v1/validate/email/requestToken", { client_secret => 'evback',
    email => 'metrics-back@example.org', send_attempt => 1 })->{status},
    200, 'and mail goes out again');
ok(wait_for(sub { mail_count() > $mails }, 20), 'the sink has it');
is(wait_value('sigil_mail_total', $mail_sent, $sent0 + 4), $sent0 + 4,
    'counted as sent');

# A text through the SMS double.
my $sms_sent = 'program="validate",result="sent"';
my $texts0 = now_value('sigil_sms_total', $sms_sent);
is(post("$v1/validate/msisdn/requestToken", { client_secret => 'evsms',
    country => 'US', phone_number => '202 555 0177', send_attempt => 1 })
    ->{status}, 200, 'a text sent');
is(wait_value('sigil_sms_total', $sms_sent, $texts0 + 1), $texts0 + 1,
    'the texts sent moved by 1');

# The validate workers' connections cut by PostgreSQL: the next
# requestToken finds its worker's connection closed before sending
# anything, connects again (counted) and works.  A statement PostgreSQL
# refuses (a CHECK added NOT VALID refuses every new session) is a
# database error.
my $lk = 'program="validate"';
my $reconnects0 = now_value('sigil_db_reconnects_total', $lk);
my $errors0 = now_value('sigil_db_errors_total', $lk);
ok(defined $reconnects0 && defined $errors0,
    'database errors and reconnects are exposed per program');
ok(psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    . "WHERE application_name = 'sigil-validate'") >= 1,
    'the validate workers\' connections cut');
my $i = 0;
ok(wait_for(sub {
	is(post("$v1/validate/email/requestToken", { client_secret =>
	    'evdb' . ++$i, email => "metrics-db$i\@example.org",
	    send_attempt => 1 })->{status}, 200, "requestToken $i works");
	now_value('sigil_db_reconnects_total', $lk) > $reconnects0
}, 60), 'a validate worker counted its reconnect');
psql('ALTER TABLE validation_sessions ADD CONSTRAINT sigil_test_refuse'
    . ' CHECK (false) NOT VALID');
my $refused_db = post("$v1/validate/email/requestToken", { client_secret =>
    'evdberr', email => 'metrics-dberr@example.org', send_attempt => 1 });
psql('ALTER TABLE validation_sessions DROP CONSTRAINT sigil_test_refuse');
is($refused_db->{status}, 503, 'a refused statement: 503');
ok(wait_for(sub { now_value('sigil_db_errors_total', $lk) > $errors0 }, 20),
    'counted as a database error');
prom_is("sigil_db_reconnects_total{$lk}", sub { $_[0] > $reconnects0 },
    'the reconnect');
prom_is("sigil_db_errors_total{$lk}", sub { $_[0] > $errors0 },
    'the database error');

# Onbind: a homeserver that fails the first attempt and answers the
# second after 4 s, while its row is due and in flight.
my $port = free_port();
my $double;
END { if ($double) { kill('TERM', $double); waitpid($double, 0) } }
$double = start_onbind_double($port, "$dir/onbind-ev-$port.log",
    '--onbind-fail', 1, '--onbind-delay', 4);
ok(wait_for(sub { defined now_value('sigil_onbind_outbox_rows') }, 30),
    'sigil-notify\'s figures are there');
# Every bind tells the user's homeserver, and other files bind users of
# example.org, which does not exist here: their rows fail again now and
# then.  Put off for an hour, they cannot move the failed count below.
psql('UPDATE onbind_outbox SET next_attempt_ts = '
    . (time() * 1000 + 3600_000));
my $done = 'result="done"';
my $fail = 'result="failed"';
my $done0 = now_value('sigil_onbind_deliveries_total', $done);
my $fail0 = now_value('sigil_onbind_deliveries_total', $fail);
ok(now_value('sigil_onbind_last_refresh_timestamp_seconds') > time() - 30,
    'refreshed lately');
is(now_value('sigil_onbind_notify_running'), 1, 'by a running sigil-notify');
my $tok = post("$v1/store-invite", { medium => 'email',
    address => 'metrics-onbind@example.org', room_id => '!ev:example.org',
    sender => '@evhost:example.org' })->{json}{token};
ok($tok, 'an invite stored');
my $sid = validated_session('metrics-onbind@example.org', 'evbind');
is(post("$v1/3pid/bind", { sid => $sid, client_secret => 'evbind',
    mxid => "\@ev:localhost:$port" })->{status}, 200, 'its address bound');
is(wait_value('sigil_onbind_deliveries_total', $fail, $fail0 + 1, 30),
    $fail0 + 1, 'the first attempt failed: counted');
my ($rows, $age) = (0, 0);
ok(wait_for(sub {
	my ($s) = scrape();
	$rows = $s->{sigil_onbind_outbox_rows} if
	    $s->{sigil_onbind_outbox_rows} > $rows;
	$age = $s->{sigil_onbind_oldest_due_seconds} if
	    $s->{sigil_onbind_oldest_due_seconds} > $age;
	$s->{'sigil_onbind_deliveries_total{result="done"}'} > $done0
}, 60), 'the second attempt delivered');
is(now_value('sigil_onbind_deliveries_total', $done), $done0 + 1,
    'counted as done, once');
ok($rows >= 1, "the outbox held the row meanwhile ($rows)");
ok($age > 0, "and it was due while the homeserver took its time ($age s)");
ok(wait_for(sub { now_value('sigil_onbind_oldest_due_seconds') == 0 &&
    psql("SELECT count(*) FROM onbind_outbox WHERE destination = "
    . "'localhost:$port'") == 0 }, 30), 'nothing due once delivered');
prom_is("sigil_onbind_deliveries_total{$fail}", $fail0 + 1,
    'the failed delivery');
prom_is("sigil_onbind_deliveries_total{$done}", $done0 + 1,
    'the done delivery');
prom_is('max_over_time(sigil_onbind_outbox_rows[5m])', sub { $_[0] >= 1 },
    'the outbox grew');
prom_is('max_over_time(sigil_onbind_oldest_due_seconds[5m])',
    sub { $_[0] > 0 }, 'a due row waited');
kill 'TERM', $double;
waitpid($double, 0);
$double = undef;

# The same as JSON for people.
$r = get('/_sigil/status');
my ($va) = grep { $_->{program} eq 'validate' } @{$r->{json}{programs}};
is($va->{mail}{sent}, now_value('sigil_mail_total', $mail_sent),
    'JSON: the validate program\'s mails sent');
is($va->{mail}{failed}, $failed0 + 1, 'and failed');
is($va->{ratelimit_refusals}{address}, $refused0 + 1, 'its refusals by limit');
ok($va->{sms}{sent} >= 1, 'its texts');
ok(exists $va->{db}{errors} && exists $va->{db}{reconnects},
    'its database errors and reconnects');
my $ob = $r->{json}{onbind};
is($ob->{deliveries}{done}, $done0 + 1, 'JSON: onbind deliveries done');
is($ob->{deliveries}{failed}, $fail0 + 1, 'and failed');
ok(defined $ob->{outbox_rows} && defined $ob->{oldest_due_ms},
    'the outbox\'s figures');
ok($ob->{running}, 'sigil-notify runs');

# promtool (Debian package prometheus) reads the exposition as valid.
SKIP: {
	skip('no promtool (apt-get install prometheus)', 1)
	    unless system('sh', '-c', 'command -v promtool >/dev/null') == 0;
	my (undef, $raw) = scrape();
	my $t = tempdir(CLEANUP => 1);
	spew("$t/metrics.txt", $raw->{content});
	my $out = `promtool check metrics <'$t/metrics.txt' 2>&1`;
	is($?, 0, 'promtool check metrics accepts it') or diag($out);
}

# The README's alert rules are valid, and name the metrics served.
SKIP: {
	skip('no promtool (apt-get install prometheus)', 3)
	    unless system('sh', '-c', 'command -v promtool >/dev/null') == 0;
	my ($rules) = slurp('README.md') =~ /^Alert rules:\n\n```yaml\n(.*?)^```/ms;
	ok($rules, 'the README has alert rules');
	my $t = tempdir(CLEANUP => 1);
	spew("$t/rules.yml", $rules // '');
	my $out = `promtool check rules '$t/rules.yml' 2>&1`;
	is($?, 0, 'promtool check rules accepts them') or diag($out);
	my ($m, $raw) = scrape();
	# Served: with samples, or declared (# TYPE) with none yet here
	# (the pool figures come only from a sigil-supervise).
	my %served = map { /^(\w+)/ ? ($1 => 1) : () } keys %$m;
	$served{$_} = 1 for $raw->{content} =~ /^# TYPE (\w+) /mg;
	my @unknown = grep { !$served{$_} && !$served{"${_}_bucket"} }
	    ($rules // '') =~ /\b(sigil_\w+)/g;
	ok(!@unknown, 'every metric they use is served') or diag("@unknown");
}

# sigil-notify --once (cron) writes the figures too, into a metrics_dir
# of its own here; a status worker on that folder shows them, marked as
# written by a process that no longer runs.
{
	my $md = tempdir(CLEANUP => 1);
	open(my $cf, '<', "$dir/sigil.conf") or die;
	my $conf = join('', grep { !/^metrics_dir\s/ } <$cf>)
	    . "\nmetrics_dir = $md\n";
	close $cf;
	spew("$md/notify.conf", $conf);
	my $before = time();
	is(system(notify_program(), '--once', '-c', "$md/notify.conf"), 0,
	    'sigil-notify --once');
	my $w = start_worker('status', $conf);
	my $s;
	ok(wait_for(sub { ($s = fcgi_request($w, 'GET', '/_sigil/status'))
	    ->{status} == 200 }, 30), 'a status worker on its folder');
	my $o = $s->{json}{onbind};
	ok($o, 'shows sigil-notify\'s figures');
	ok(($o->{refreshed} // 0) >= $before - 1, 'refreshed by the run');
	ok(defined $o->{running} && !$o->{running},
	    'by a process that no longer runs');
	ok(defined $o->{outbox_rows}, 'with the outbox\'s rows');
	like(fcgi_request($w, 'GET', '/_sigil/metrics')->{content},
	    qr/^sigil_onbind_notify_running 0$/m, 'the gauge says so');
	stop_worker($w);
}

done_testing();
