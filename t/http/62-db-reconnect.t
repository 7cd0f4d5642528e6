# A dead database connection costs no request (issue 22, item 8).
# After PostgreSQL restarts, every worker's connection is gone (the
# server closed it with a FATAL); the first request each worker serves,
# write or read, reconnects before it sends anything and answers 200,
# once: no duplicate row, no second mail.  A connection that dies while
# a write runs (pg_terminate_backend during a lock wait the test holds)
# is not run again: 503, and nothing written.
use strict;
use warnings;
use lib 't/lib';
use IO::Socket::INET;
use POSIX ();
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $v1 = '/_matrix/identity/api/v1';
my $conn = "host=$dir/pgsock dbname=sigil user=sigil";

# connections(PROGRAM): how many connections sigil-PROGRAM has now.
sub connections {
	return psql("SELECT count(*) FROM pg_stat_activity"
	    . " WHERE application_name = 'sigil-$_[0]'") + 0;
}

# lock_table(TABLE): a psql session holding TABLE in EXCLUSIVE mode
# (writes wait, reads do not) until unlock(); returns its handle once
# the lock is granted.
sub lock_table {
	my ($table) = @_;
	open(my $fh, '|-', "psql -X -q -v ON_ERROR_STOP=1 -d '$conn' >/dev/null")
	    or die "psql: $!";
	$fh->autoflush(1);
	print $fh "BEGIN;\nLOCK TABLE $table IN EXCLUSIVE MODE;\n";
	wait_for(sub { psql("SELECT count(*) FROM pg_locks l JOIN pg_class c"
	    . " ON c.oid = l.relation WHERE c.relname = '$table'"
	    . " AND l.mode = 'ExclusiveLock' AND l.granted") > 0 }, 30)
	    or die "no lock on $table";
	return $fh;
}
sub unlock { my ($fh) = @_; print $fh "COMMIT;\n"; close $fh }

# backend(CONDITION): the pid of the one session of pg_stat_activity
# that CONDITION (SQL) picks, once there is one (30 s at most), or undef.
sub backend {
	my ($cond) = @_;
	my $pid;
	return wait_for(sub {
		$pid = psql("SELECT pid FROM pg_stat_activity WHERE $cond");
		$pid =~ /^\d+$/;
	}, 30) ? $pid : undef;
}

# in_child(CODE): runs CODE (a request) in a child; returns a function
# that waits for it and returns its status and body.
sub in_child {
	my ($code) = @_;
	my $pid = open(my $out, '-|') // die "fork: $!";
	if ($pid == 0) {
		my $r = $code->();
		print "$r->{status}\n$r->{content}";
		POSIX::_exit(0);
	}
	return sub {
		my ($status, $content) = split /\n/, do { local $/; <$out> }, 2;
		close $out;
		return { status => $status // 0, content => $content // '' };
	};
}

# What the requests after the restart need, made before it.
my $sid = validated_session('reconnect-bind@example.org', 'rcbind');
my $hs = $ENV{SIGIL_TEST_HS};
my @progs = qw(validate bind lookup account);
my %workers = map { $_ => scalar(my @p = worker_pids($_)) } @progs;
unless (shared_host()) {
	for my $p (@progs) {
		is(connections($p), $workers{$p},
		    "each sigil-$p worker is connected before the restart");
	}
}

# The restart: pg_ctl waits for the old postmaster to stop and the new
# one to accept; the test checks that it is a new one, and that none of
# sigil's connections lived through it.
my $started = psql('SELECT pg_postmaster_start_time()');
my %log_before = map { $_ => length(program_log($_)) } @progs;
system('sh', 'deploy/sigil-stack', 'pg-restart', $dir) == 0
    or BAIL_OUT('pg-restart failed');
ok(wait_for(sub { my $t = eval { psql('SELECT pg_postmaster_start_time()') };
    defined $t && $t ne $started }, 60), 'PostgreSQL restarted');
is(psql("SELECT count(*) FROM pg_stat_activity WHERE application_name IN ("
    . join(',', map { "'sigil-$_'" } @progs) . ')'), 0,
    'no worker\'s connection survived it');

# first_requests(PROGRAM, NAME, CODE): CODE(i) makes the i-th request to
# PROGRAM, four of them, each of which must answer 200.  (The front
# may send them all to one worker: nginx keeps its FastCGI connection.)
# Every worker that served one reconnected, and said so once (info).
sub first_requests {
	my ($prog, $name, $make) = @_;
	my @bad;
	for my $i (1 .. 4) {
		my $r = $make->($i);
		push @bad, "$r->{status} $r->{content}" unless $r->{status} == 200;
	}
	is(scalar @bad, 0, "after the restart, every $name answers 200")
	    or diag(join("\n", @bad));
	return if shared_host();
	my $n = connections($prog);
	ok($n >= 1, "sigil-$prog reconnected ($n of $workers{$prog} workers)");
	my $log = substr(program_log($prog), $log_before{$prog});
	my @lines = $log =~ /^(?:\S+ )?sigil-\Q$prog\E\[\d+\] info: database: the server closed the connection; reconnecting$/mg;
	is(scalar @lines, $n, 'each worker that did said so once (info)')
	    or diag($log);
}

# requestToken: a write in a transaction, and a mail.
my $mails = mail_count();
first_requests('validate', 'requestToken', sub {
	post("$v1/validate/email/requestToken", { client_secret => "rc$_[0]",
	    email => "reconnect$_[0]\@example.org", send_attempt => 1 });
});
is(psql("SELECT count(*) FROM validation_sessions WHERE address LIKE"
    . " 'reconnect_%\@example.org' AND address <> 'reconnect-bind\@example.org'"),
    4, 'one session per requestToken, none twice');
is(mail_count() - $mails, 4, 'one mail per requestToken, none twice');

# bind: writes (the binding, its onbind) in a transaction.
first_requests('bind', 'v1 bind', sub {
	post("$v1/3pid/bind", { sid => $sid, client_secret => 'rcbind',
	    mxid => '@reconnect:example.org' });
});
is(psql("SELECT count(*) FROM bindings WHERE address ="
    . " 'reconnect-bind\@example.org'"), 1, 'one binding');

# lookup: a read (and a write to the client's rate limit, unless a
# lease of the worker covers the request).
first_requests('lookup', 'v1 lookup', sub {
	my $r = get("$v1/lookup?medium=email&address=reconnect-bind%40example.org");
	$r->{status} = 0 unless ($r->{json}{mxid} // '') eq
	    '@reconnect:example.org';
	return $r;
});

# account/register: a write outside any transaction.
first_requests('account', 'account/register', sub {
	post('/_matrix/identity/v2/account/register', {
	    access_token => "good-rc$_[0]\@$hs", token_type => 'Bearer',
	    matrix_server_name => $hs, expires_in => 60 });
});

# A write whose connection dies while it runs may have run: it is not
# run again.  account_tokens is locked, a register waits on the lock,
# its backend is terminated, then the lock is let go: a register run
# again would now go through.
my $lock = lock_table('account_tokens');
my $answer = in_child(sub {
	post('/_matrix/identity/v2/account/register', {
	    access_token => "good-rckill\@$hs", token_type => 'Bearer',
	    matrix_server_name => $hs, expires_in => 60 });
});
my $waiting = backend("application_name = 'sigil-account'"
    . " AND wait_event_type = 'Lock'");
ok($waiting, 'a register waits on the lock');
is(psql("SELECT pg_terminate_backend($waiting)"), 't',
    'its connection is ended while the statement runs');
unlock($lock);
my $r = $answer->();
is($r->{status}, 503, 'the register answers 503: it may have run')
    or diag("$r->{status} $r->{content}");
is(psql("SELECT count(*) FROM account_tokens WHERE user_id LIKE '\@rckill:%'"),
    0, 'and was not run again');

# The same worker, and any other, serve the next request.
$r = post('/_matrix/identity/v2/account/register', {
    access_token => "good-rckill\@$hs", token_type => 'Bearer',
    matrix_server_name => $hs, expires_in => 60 });
is($r->{status}, 200, 'the next register works') or diag($r->{content});
is(psql("SELECT count(*) FROM account_tokens WHERE user_id LIKE '\@rckill:%'"),
    1, 'once');

# A connection that dies inside a transaction took the transaction with
# it: nothing after runs on a new connection, outside it.  A
# requestToken's transaction stays open while its mail goes; here the
# mail server holds its greeting until the test has ended the worker's
# session (idle in transaction), then takes the mail.  Were the rest of
# the transaction run on a new connection, the answer would be a 200
# naming a session that was rolled back.
my $port = (conf_value('smtp_url') =~ /:(\d+)$/)[0];
is(system('sh', 'deploy/sigil-stack', 'mail-stop', $dir), 0,
    'the mail sink stops');
my $smtp = IO::Socket::INET->new(Listen => 1, ReuseAddr => 1,
    LocalAddr => "127.0.0.1:$port") or die "listen on $port: $!";
my $go = "$dir/smtp-go-$$";
my $smtp_pid = fork() // die "fork: $!";
if ($smtp_pid == 0) {
	# One SMTP session, its greeting once $go exists; a minute at most.
	alarm 60;
	my $c = $smtp->accept or POSIX::_exit(1);
	spew("$go.in", '');
	for (1 .. 300) {
		last if -e $go;
		select(undef, undef, undef, 0.05);
	}
	$c->autoflush(1);
	print $c "220 held ESMTP\r\n";
	while (defined(my $l = <$c>)) {
		if ($l =~ /^DATA/i) {
			print $c "354 go on\r\n";
			while (defined(my $d = <$c>)) { last if $d eq ".\r\n" }
			print $c "250 kept\r\n";
		} elsif ($l =~ /^QUIT/i) {
			print $c "221 bye\r\n";
			last;
		} else {
			print $c "250 ok\r\n";
		}
	}
	POSIX::_exit(0);
}
close $smtp;
$answer = in_child(sub {
	post("$v1/validate/email/requestToken", { client_secret => 'rctx',
	    email => 'reconnect-tx@example.org', send_attempt => 1 });
});
ok(wait_for(sub { -e "$go.in" }, 30), 'a requestToken connects to mail');
my $idle = backend("application_name = 'sigil-validate'"
    . " AND state = 'idle in transaction'");
ok($idle, 'while it holds its transaction open');
is(psql("SELECT pg_terminate_backend($idle)"), 't',
    'its connection is ended there');
spew($go, '');
$r = $answer->();
kill 'TERM', $smtp_pid;
waitpid($smtp_pid, 0);
unlink $go, "$go.in";
is($r->{status}, 503, 'the requestToken answers 503')
    or diag("$r->{status} $r->{content}");
is(psql("SELECT count(*) FROM validation_sessions"
    . " WHERE address = 'reconnect-tx\@example.org'"), 0,
    'and no session is left');
is(system('sh', 'deploy/sigil-stack', 'mail-start', $dir), 0,
    'the mail sink starts again');
$r = post("$v1/validate/email/requestToken", { client_secret => 'rctx',
    email => 'reconnect-tx@example.org', send_attempt => 1 });
is($r->{status}, 200, 'the same requestToken then works')
    or diag($r->{content});

done_testing();
