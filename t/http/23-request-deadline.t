# A request's input must all come within request_timeout (issue 22,
# items 1 and 2).  mod_proxy_fcgi streams a body to the worker as the
# client sends it, so a client that trickles one held a worker for as
# long as it liked: the worker now answers 408 M_UNKNOWN once the time
# is up, and is free at once.  Under plain CGI a program reads all of its
# input before it opens the database: requests holding an unfinished
# body take no PostgreSQL connection.
#
# Here: a FastCGI client that talks straight to a worker's socket and
# streams as mod_proxy_fcgi does (FCGI_STDIN records of a few bytes);
# slow bodies through Apache (SIGIL_FRONT=apache) while other requests to
# the same program are answered; unfinished bodies under plain CGI
# (SIGIL_FRONT=apache-cgi) while pg_stat_activity is watched; and
# request_timeout values the programs refuse.
use strict;
use warnings;
use lib 't/lib';
use IO::Select;
use IO::Socket::INET;
use IO::Socket::UNIX;
use JSON::PP;
use POSIX ();
use Test::More;
use Time::HiRes qw(time);
use SigilTest;

$SIG{PIPE} = 'IGNORE';
my $dir = stack_dir();
my $json = JSON::PP->new->utf8;

# The stack's configuration less its metrics (the workers started here
# run as root and would make the counter files the stack's write).
my $base = join '', grep { !/^\s*(metrics_dir|request_timeout)\s*=/ }
    split /^/m, slurp("$dir/sigil.conf");

# --- the key: bounds, refused at start -----------------------------------

# check(TEXT): sigil-status -t with TEXT as its configuration; returns
# (exit status, what it logged).
sub check {
	my ($text) = @_;
	my $conf = "$dir/deadline-check.conf";
	my $log = "$dir/logs/deadline-check.log";
	spew($conf, $text);
	unlink $log;
	system(build_dir() . "/sigil-status -t -c '$conf' 2>'$log'");
	return ($? >> 8, slurp($log));
}

for my $bad ('0', '13', '-1', '2.5', 'ten') {
	my ($rc, $log) = check($base . "request_timeout = $bad\n");
	is($rc, 1, "request_timeout = $bad: refused at start");
	like($log, qr/request_timeout.*want 1 to 12 seconds/,
	    '... naming the key and its bounds') or diag($log);
}
my ($rc, $log) = check($base . "request_timeout = 12\n");
is($rc, 0, 'request_timeout = 12 is taken') or diag($log);

# --- straight to a worker -------------------------------------------------

# FastCGI records (the FastCGI 1.0 specification): a header of version,
# type, request id, content length, padding length; then the content.
use constant { BEGIN_REQUEST => 1, END_REQUEST => 3, PARAMS => 4,
    FCGI_STDIN => 5, FCGI_STDOUT => 6 };

sub record {
	my ($type, $content) = @_;
	return pack('CCnnCC', 1, $type, 1, length $content, 0, 0) . $content;
}

# The parameters of a request as name-value pairs (short ones only).
sub params {
	my (%p) = @_;
	my $s = '';
	for (sort keys %p) {
		die "long parameter" if length($_) > 127 || length($p{$_}) > 127;
		$s .= pack('CC', length $_, length $p{$_}) . $_ . $p{$_};
	}
	return record(PARAMS, $s);
}

# The head of a POST of LENGTH body bytes to the v2 lookup path, as the
# front sends it: FCGI_BEGIN_REQUEST (a responder, the connection kept
# with KEEP true: FCGI_KEEP_CONN), the parameters, the empty FCGI_PARAMS
# record that ends them.
sub head {
	my ($length, $keep) = @_;
	return record(BEGIN_REQUEST, pack('nCx5', 1, $keep ? 1 : 0)) .
	    params(REQUEST_METHOD => 'POST',
		DOCUMENT_URI => '/_matrix/identity/v2/lookup',
		REQUEST_URI => '/_matrix/identity/v2/lookup',
		QUERY_STRING => '', CONTENT_TYPE => 'application/json',
		CONTENT_LENGTH => $length, REMOTE_ADDR => '127.0.0.1') .
	    record(PARAMS, '');
}

# converse(SOCKET, FIRST, CHUNK, LIMIT): sends FIRST, then a CHUNK every
# 0.1 s (none when CHUNK is undef) while it reads what the worker
# writes, until FCGI_END_REQUEST, the end of the connection or LIMIT
# seconds.  Returns { status, json, content, secs (when it ended),
# ended (1 with FCGI_END_REQUEST, 0 when the worker closed, undef when
# the time ran out) }.
sub converse {
	my ($s, $first, $chunk, $limit) = @_;
	my $t0 = time;
	my ($in, $out, $next) = ('', '', $t0);
	my %r;
	syswrite($s, $first);
	my $sel = IO::Select->new($s);
	while (time - $t0 < $limit) {
		if (defined $chunk && time >= $next) {
			syswrite($s, record(FCGI_STDIN, $chunk));
			$next += 0.1;
		}
		next unless $sel->can_read(0.05);
		my $n = sysread($s, $in, 65536, length $in);
		if (!$n) {
			$r{ended} = 0;
			last;
		}
		while (length $in >= 8) {
			my ($v, $type, $id, $len, $pad) = unpack('CCnnC', $in);
			last if length $in < 8 + $len + $pad;
			my $c = substr($in, 8, $len);
			substr($in, 0, 8 + $len + $pad) = '';
			$out .= $c if $type == FCGI_STDOUT;
			$r{ended} = 1 if $type == END_REQUEST;
		}
		last if defined $r{ended};
	}
	$r{secs} = time - $t0;
	my ($h, $body) = split /\r\n\r\n/, $out, 2;
	($r{status}) = ($h // '') =~ /^Status: (\d+)/m;
	$r{status} //= 0;
	$r{content} = $body // '';
	$r{json} = eval { $json->decode($r{content}) };
	return \%r;
}

sub connect_to {
	my ($w) = @_;
	my $s = IO::Socket::UNIX->new(Peer => $w->{sock}, Type => SOCK_STREAM)
	    or die "$w->{sock}: $!";
	return $s;
}

# ordinary(W, NAME): a GET answered by the worker at once.
sub ordinary {
	my ($w, $name) = @_;
	my $t0 = time;
	my $r = fcgi_request($w, 'GET', '/_matrix/identity/versions');
	my $secs = time - $t0;
	ok($r->{status} == 200 && $secs < 5,
	    "$name: the worker serves the next request at once")
	    or diag("status $r->{status} after ${secs}s");
}

# One worker (-F 1) with a 2 s deadline: a request it has not finished
# reading holds it alone.
my $w = start_worker('status', $base . "request_timeout = 2\n");
ok(wait_for(sub { -S $w->{sock} }, 30), 'the worker listens');
ordinary($w, 'before');

# A body of 4000 bytes, 3 bytes every 0.1 s: 130 s at that rate.
my $s = connect_to($w);
my $r = converse($s, head(4000), 'x' x 3, 30);
is($r->{status}, 408, 'a body trickled over the deadline: 408')
    or diag(explain($r));
is($r->{json}{errcode}, 'M_UNKNOWN', '... M_UNKNOWN');
like($r->{json}{error} // '', qr/did not arrive within 2 seconds/,
    '... saying the request was too slow');
ok($r->{secs} >= 1.5 && $r->{secs} < 15,
    '... once the deadline passed (2 s; bounds allow a busy machine)')
    or diag("after $r->{secs} s");
is($r->{ended}, 1, '... and the request ended (FCGI_END_REQUEST)');
close $s;
ordinary($w, 'after a slow body');

# Parameters that stop half-way (the front sends them at once; a local
# client with the socket need not).
$s = connect_to($w);
my $h = head(10);
$r = converse($s, substr($h, 0, 40), undef, 30);
is($r->{status}, 408, 'parameters that do not all come: 408')
    or diag(explain($r));
like($r->{json}{error} // '', qr/headers did not arrive within 2 seconds/,
    '... naming the headers');
ok($r->{secs} >= 1.5 && $r->{secs} < 15, '... after the deadline')
    or diag("after $r->{secs} s");
close $s;
ordinary($w, 'after slow parameters');

# A connection that sends nothing at all is closed: nothing to answer.
$s = connect_to($w);
$r = converse($s, '', undef, 30);
is($r->{ended}, 0, 'a connection that sends nothing is closed')
    or diag(explain($r));
ok($r->{secs} < 15, '... after the deadline') or diag("after $r->{secs} s");
close $s;
ordinary($w, 'after a silent connection');

# A body that comes in time is served as ever, in pieces or not.
$s = connect_to($w);
$r = converse($s, head(6) . record(FCGI_STDIN, '{}') . record(FCGI_STDIN, '{}{}') .
    record(FCGI_STDIN, ''), undef, 30);
is($r->{status}, 404, 'a body in time reaches the dispatcher (404 here)')
    or diag(explain($r));
close $s;

# A front that keeps its connections (FCGI_KEEP_CONN): the next request
# on one has the same time, and an idle one is closed once it is up.
$s = connect_to($w);
$r = converse($s, head(2, 1) . record(FCGI_STDIN, '{}') .
    record(FCGI_STDIN, ''), undef, 30);
ok($r->{status} == 404 && $r->{ended}, 'a kept connection: answered');
$r = converse($s, head(2, 1) . record(FCGI_STDIN, '{}') .
    record(FCGI_STDIN, ''), undef, 30);
ok($r->{status} == 404 && $r->{ended}, '... and its next request too');
$r = converse($s, head(4000, 1), 'x' x 3, 30);
is($r->{status}, 408, '... a slow body on it: 408') or diag(explain($r));
$r = converse($s, '', undef, 30);
is($r->{ended}, 0, '... after which the connection is closed')
    or diag(explain($r));
close $s;
$s = connect_to($w);
converse($s, head(2, 1) . record(FCGI_STDIN, '{}') . record(FCGI_STDIN, ''),
    undef, 30);
$r = converse($s, '', undef, 30);
ok(defined $r->{ended} && $r->{ended} == 0 && $r->{secs} < 15,
    'an idle kept connection is closed after the deadline')
    or diag(explain($r));
close $s;
ordinary($w, 'after kept connections');
stop_worker($w);

# --- through Apache: mod_proxy_fcgi streams ------------------------------

# host_port(): where the front listens.
sub host_port {
	my ($hp) = $ENV{SIGIL_TEST_URL} =~ m{^https?://([^/]+)};
	return $hp;
}

# slow_clients(N, LENGTH, RATE, SECS, OUT): a child that keeps N clients
# sending a POST to v2/lookup with a body of LENGTH bytes at RATE bytes
# per 0.1 s, for at most SECS; it writes each one's status line and body
# to OUT (a line each), and exits.  Returns its pid.
sub slow_clients {
	my ($n, $length, $rate, $secs, $out) = @_;
	my $pid = fork() // die "fork: $!";
	return $pid if $pid;
	my $hp = host_port();
	my (@c, %got);
	for (1 .. $n) {
		my $c = IO::Socket::INET->new(PeerAddr => $hp) or POSIX::_exit(2);
		syswrite($c, "POST /_matrix/identity/v2/lookup HTTP/1.1\r\n" .
		    "Host: localhost\r\nContent-Type: application/json\r\n" .
		    "Content-Length: $length\r\nConnection: close\r\n\r\n");
		push @c, $c;
		$got{$c} = '';
	}
	my $sel = IO::Select->new(@c);
	my $t0 = time;
	my %done;
	while (time - $t0 < $secs && keys %done < @c) {
		syswrite($_, 'x' x $rate) for grep { !$done{$_} } @c;
		my $until = time + 0.1;
		while ((my $left = $until - time) > 0) {
			for my $c ($sel->can_read($left)) {
				my $k = sysread($c, $got{$c}, 65536,
				    length $got{$c});
				if (!$k) {
					$done{$c} = 1;
					$sel->remove($c);
				}
			}
		}
	}
	open(my $fh, '>', $out) or POSIX::_exit(2);
	for my $c (@c) {
		my ($status) = $got{$c} =~ m{^HTTP/1\.\d (\d+)};
		my (undef, $body) = split /\r\n\r\n/, $got{$c}, 2;
		print $fh ($status // 0), ' ', ($body // '') =~ s/\s+/ /gr,
		    "\n";
	}
	close $fh;
	POSIX::_exit(0);
}

if (front() eq 'apache') {
	my @workers = worker_pids('lookup');
	my $n = @workers + 1;
	my $out = "$dir/deadline-slow.out";
	unlink $out;
	# 600 bytes/s, above mod_reqtimeout's MinRate: 100 kB would take
	# nearly three minutes.
	my $child = slow_clients($n, 100000, 60, 45, $out);
	# The lookup workers are all busy with them (or nearly).
	select(undef, undef, undef, 1);
	my $t0 = time;
	my (@probes, $worst);
	while (time - $t0 < 25) {
		my $p0 = time;
		my $p = get(api('v2', 'hash_details'));
		my $secs = time - $p0;
		$worst = $secs if !defined $worst || $secs > $worst;
		push @probes, $p;
		last if @probes > 40;
	}
	ok(@probes >= 2, scalar(@probes) . ' probes while the bodies came');
	my @bad = grep { $_->{status} != 401 ||
	    ($_->{json}{errcode} // '') ne 'M_UNAUTHORIZED' } @probes;
	ok(!@bad, 'every other request to sigil-lookup answered by it ' .
	    '(401 without a token), none 504') or diag(join "\n",
	    map { "$_->{status}: $_->{content}" } @bad[0 .. ($#bad > 2 ? 2 :
	    $#bad)]);
	ok($worst < 14, "... the slowest within ${\ sprintf('%.1f', $worst)}" .
	    ' s, under the front\'s 15 s');
	# Apache reads each body in full before a worker sees it
	# (SecRequestBodyAccess in apache-sigil-limits.conf): no probe
	# waits for a worker that a slow body holds (streamed, they held
	# every lookup worker for the deadline, 10 s).
	ok($worst < 3, 'no request waited for a worker: the slow bodies '
	    . 'never reached one');
	ok(wait_for(sub { waitpid($child, POSIX::WNOHANG()) == $child }, 60),
	    'the slow clients are done');
	my @lines = split /\n/, slurp($out);
	is(scalar @lines, $n, "$n slow clients");
	is(scalar(grep { /^408 .*"errcode":\s*"M_UNKNOWN"/ } @lines), $n,
	    '... each answered 408 M_UNKNOWN in JSON') or diag(join "\n",
	    @lines);
	kill 'KILL', $child if waitpid($child, POSIX::WNOHANG()) == 0;
}

# --- plain CGI: nothing opened before the input has come -----------------

# cgi_procs(): the pids of sigil-lookup processes running as CGI.
sub cgi_procs {
	my @p;
	for my $d (glob '/proc/[0-9]*') {
		my $cmd = slurp("$d/cmdline");
		push @p, $d =~ s{/proc/}{}r if $cmd =~ /sigil-lookup\.cgi/ &&
		    running($d =~ s{/proc/}{}r);
	}
	return @p;
}

if (front() eq 'apache-cgi') {
	my $k = 12;
	my $timeout = conf_value('request_timeout') // 10;
	my @c;
	for (1 .. $k) {
		my $c = IO::Socket::INET->new(PeerAddr => host_port())
		    or die "connect: $!";
		syswrite($c, "POST /_matrix/identity/v2/lookup HTTP/1.1\r\n" .
		    "Host: localhost\r\nContent-Type: application/json\r\n" .
		    "Content-Length: 100\r\nConnection: close\r\n\r\n{");
		push @c, $c;
	}
	my $t0 = time;
	ok(wait_for(sub { cgi_procs() >= $k }, 30),
	    "$k CGI processes wait for their bodies");
	my $conns = psql("SELECT count(*) FROM pg_stat_activity WHERE " .
	    "usename = current_user AND pid <> pg_backend_pid() AND " .
	    "backend_type = 'client backend'");
	is($conns, 0, 'they hold no PostgreSQL connection');
	ok(wait_for(sub { cgi_procs() == 0 }, $timeout + 30),
	    'each ends once request_timeout has passed');
	my $secs = time - $t0;
	ok($secs >= $timeout - 1, "... not before it (${\ int $secs} s)");
	# Apache reads a body to its end before it reads what the program
	# wrote: the rest comes now, and the program's 408 with it.
	my @r;
	for my $c (@c) {
		syswrite($c, 'x' x 99);
		my $got = '';
		my $sel = IO::Select->new($c);
		my $until = time + 30;
		while (time < $until && $sel->can_read($until - time)) {
			last unless sysread($c, $got, 65536, length $got);
		}
		push @r, $got;
	}
	is(scalar(grep { m{^HTTP/1\.1 408 .*"errcode":\s*"M_UNKNOWN".*did not arrive within}s }
	    @r), $k, 'each answered 408 M_UNKNOWN by the program')
	    or diag($r[0]);
	ok(wait_for(sub { get(api('v2', 'hash_details'))->{status} == 401 },
	    10), 'the program serves an ordinary request afterwards');
}

done_testing();
