# Helpers for the HTTP tests in t/http/: requests to the stack that
# t/lib/with-stack started, Matrix error checks, the stack's files, and
# signature checks by python3-signedjson.
package SigilTest;

use strict;
use warnings;

use Exporter 'import';
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Test::More;

our @EXPORT = qw(api get post request is_error is_front_error conf_value
    stack_dir worker_pids psql verify_signed build_dir start_worker
    fcgi_request cgi_exec stop_worker mails mail_count register_user
    validated_session wait_for free_port slurp spew running front
    shared_host front_logs deliver_onbind
    notify_program program_log start_onbind_double start_prometheus
    stop_prometheus scrape forget_onbinds texts children);

my $URL = $ENV{SIGIL_TEST_URL}
    or plan skip_all => 'no stack: run through t/lib/with-stack';
my $DIR = $ENV{SIGIL_TEST_DIR};
my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);
my $json = JSON::PP->new->utf8->canonical;

sub stack_dir { $DIR }
sub build_dir { $ENV{SIGIL_BUILD} // 'build' }

# front(): what serves the stack: nginx or apache (FastCGI workers under
# spawn-fcgi), apache-cgi, apache-fcgid or lighttpd-cgi (a shared host:
# the web server runs the programs itself, and no daemon runs).
# shared_host(): one of the last three.
sub front { $ENV{SIGIL_TEST_FRONT} // 'nginx' }
sub shared_host { front() =~ /^(apache-(cgi|fcgid)|lighttpd-cgi)$/ ? 1 : 0 }

# front_logs(): the front's access log and error log.
sub front_logs {
	my $name = front() =~ /^(apache|lighttpd)/ ? $1 : 'nginx';
	return ("$DIR/logs/$name-access.log", "$DIR/logs/$name-error.log");
}

# deliver_onbind(): on a shared host, what cron does there: one
# "sigil-notify --once"; elsewhere nothing (the daemon delivers).  For a
# test's wait_for loop on a delivery.
sub deliver_onbind {
	return unless shared_host();
	system(notify_program(), '--once', '-c', "$DIR/sigil.conf");
}

# program_log(PROGRAM): what sigil-PROGRAM's stack processes logged: its
# spawn-fcgi log, or on a shared host its lines in the log where the
# web server puts a CGI program's stderr (Apache's error log, lighttpd's
# server.breakagelog).
sub program_log {
	my ($prog) = @_;
	return slurp("$DIR/logs/sigil-$prog.log") unless shared_host();
	my $log = front() eq 'lighttpd-cgi' ? 'sigil-lighttpd-cgi' :
	    'apache-error';
	return join '', grep { /sigil-\Q$prog\E\[\d+\]/ }
	    split /^/m, slurp("$DIR/logs/$log.log");
}

# notify_program(): sigil-notify as the stack has it: on a shared host
# the uploaded copy beside the programs (it loads the libraries there).
sub notify_program {
	return shared_host() ? "$DIR/host/public_html/sigil/sigil-notify" :
	    build_dir() . '/sigil-notify';
}

# request(METHOD, PATH, BODY?, HEADERS?) -> hash with status, headers,
# content and json (the decoded body, undef when it is not JSON).
sub request {
	my ($method, $path, $body, $headers) = @_;
	my %opt = (headers => $headers // {});
	if (defined $body) {
		$opt{content} = ref $body ? $json->encode($body) : $body;
		$opt{headers}{'Content-Type'} //= 'application/json';
	}
	my $r = $http->request($method, "$URL$path", \%opt);
	$r->{json} = eval { $json->decode($r->{content}) };
	return $r;
}

# get(PATH, HEADERS?) and post(PATH, BODY, HEADERS?).
sub get { request('GET', $_[0], undef, $_[1]) }
sub post { request('POST', @_) }

# api(VERSION, PATH): the full path of PATH under v1 or v2.
sub api {
	my ($v, $path) = @_;
	return ($v eq 'v1' ? '/_matrix/identity/api/v1' :
	    '/_matrix/identity/v2') . "/$path";
}

# is_error(RESPONSE, STATUS, ERRCODE, NAME): a Matrix JSON error with
# CORS headers.
sub is_error {
	my ($r, $status, $errcode, $name) = @_;
	my $ok = $r->{status} == $status && ref $r->{json} eq 'HASH' &&
	    ($r->{json}{errcode} // '') eq $errcode &&
	    defined $r->{json}{error} &&
	    ($r->{headers}{'content-type'} // '') eq 'application/json' &&
	    ($r->{headers}{'access-control-allow-origin'} // '') eq '*';
	ok($ok, $name) or diag("got $r->{status}: $r->{content}");
}

# is_front_error(RESPONSE, STATUS, ERRCODE, NAME): is_error for what the
# front refuses while it reads the request (a body or a header over its
# limits), before any program runs.  lighttpd answers those before any
# module has run: its JSON error page then comes without the CORS
# headers (mod_setenv's), which is all that is not checked there.
sub is_front_error {
	my ($r, $status, $errcode, $name) = @_;
	return is_error(@_) unless front() eq 'lighttpd-cgi';
	my $ok = $r->{status} == $status && ref $r->{json} eq 'HASH' &&
	    ($r->{json}{errcode} // '') eq $errcode &&
	    defined $r->{json}{error} &&
	    ($r->{headers}{'content-type'} // '') eq 'application/json';
	ok($ok, "$name (lighttpd: no CORS on its parse-time errors)")
	    or diag("got $r->{status}: $r->{content}");
}

# conf_value(KEY): the stack's configuration lines for KEY, in order.
sub conf_value {
	my ($key) = @_;
	open(my $fh, '<', "$DIR/sigil.conf") or die "sigil.conf: $!";
	my @v = map { /^\s*\Q$key\E\s*=\s*(.*?)\s*$/ ? ($1) : () } <$fh>;
	return wantarray ? @v : $v[0];
}

# worker_pids(PROGRAM): the pids spawn-fcgi started for sigil-PROGRAM.
sub worker_pids {
	my ($prog) = @_;
	open(my $fh, '<', "$DIR/run/sigil-$prog.pid") or return ();
	return grep { /^\d+$/ } map { s/\s+//gr } <$fh>;
}

# psql(SQL): runs SQL on the stack's database; returns its output.
sub psql {
	my ($sql) = @_;
	open(my $fh, '-|', 'psql', '-X', '-q', '-A', '-t', '-v',
	    'ON_ERROR_STOP=1', '-d', "host=$DIR/pgsock dbname=sigil user=sigil",
	    '-c', $sql) or die "psql: $!";
	local $/;
	my $out = <$fh>;
	close($fh) or die "psql failed on: $sql";
	$out =~ s/\n+\z//;
	return $out;
}

# forget_onbinds(DESTINATION): drops the onbind deliveries queued for the
# homeserver DESTINATION (every bind queues one for its user's), once an
# attempt under way has ended (sigil-notify holds its row locked until
# then): for a test whose homeserver double counts its connections.  No
# attempt to DESTINATION starts afterwards.
sub forget_onbinds {
	my ($dest) = @_;
	$dest =~ s/'/''/g;
	psql("DELETE FROM onbind_outbox WHERE destination = '$dest'");
}

# verify_signed(JSON_TEXT, SERVER, KEY_ID, PUBLIC_KEY): 1 when
# python3-signedjson verifies the signature.
sub verify_signed {
	my ($text, $server, $key_id, $pub) = @_;
	open(my $fh, '|-', '/usr/bin/python3', 't/lib/verify-signed.py',
	    $server, $key_id, $pub) or die "verify-signed.py: $!";
	print $fh $text;
	return close($fh) ? 1 : 0;
}

# mails(): every message the stack's mail sink kept, oldest first, as
# hashes { raw => bytes, rcpt => [addresses], file => path }.
sub mails {
	my @out;
	for my $f (sort glob("$DIR/mail/new/*.eml")) {
		open(my $fh, '<:raw', $f) or next;
		my $raw = do { local $/; <$fh> };
		(my $r = $f) =~ s/\.eml$/.rcpt/;
		open(my $rh, '<', $r) or next;
		my @rcpt = map { chomp; $_ } <$rh>;
		push @out, { raw => $raw, rcpt => \@rcpt, file => $f };
	}
	return @out;
}

# register_user(LOCALPART): a v2 token for @LOCALPART on the homeserver
# double, with every policy of t/data/terms.json accepted.
sub register_user {
	my ($local) = @_;
	my $hs = $ENV{SIGIL_TEST_HS};
	my $r = post('/_matrix/identity/v2/account/register', {
	    access_token => "good-$local\@$hs", token_type => 'Bearer',
	    matrix_server_name => $hs, expires_in => 60 });
	my $t = $r->{json}{token} or die "register $local: $r->{content}";
	post('/_matrix/identity/v2/terms', { user_accepts => [
	    'https://terms.example.org/privacy-1.0-en.html',
	    'https://terms.example.org/tos-2.0-en.html'] },
	    { Authorization => "Bearer $t" });
	return $t;
}

# start_worker(PROGRAM, CONFIG_TEXT): one worker of sigil-PROGRAM under
# spawn-fcgi with its own configuration and socket, for tests of other
# settings than the stack's.  Returns a handle for fcgi_request and
# stop_worker.  Each worker's files are named after the test file, its
# pid and a count (alt-55-validate-config-4711-2.sock), so no two test
# files, nor two runs, share a socket: an earlier file's worker that is
# slow to exit (valgrind writes its report first) cannot make spawn-fcgi
# find the socket "already in use".  A worker the test did not stop is
# stopped when the test file ends, however it ends.
my $workers = 0;
my @started;
my $test_name = ($0 =~ m{([^/]+?)(?:\.t)?$})[0] =~ s/[^A-Za-z0-9_-]/_/gr;
sub start_worker {
	my ($prog, $conf) = @_;
	my $n = ++$workers;
	my $name = "alt-$test_name-$$-$n";
	my $base = "$DIR/$name";
	open(my $fh, '>', "$base.conf") or die "$base.conf: $!";
	print $fh $conf;
	close $fh;
	my $build = build_dir();
	my $vg = $ENV{SIGIL_VALGRIND} ? "valgrind -q --leak-check=full "
	    . "--show-leak-kinds=definite,indirect "
	    . "--errors-for-leak-kinds=definite,indirect "
	    . "--log-file=$DIR/logs/valgrind-$name-%p.log " : '';
	my $log = "$DIR/logs/sigil-$name.log";
	system("spawn-fcgi -s '$base.sock' -F 1 -P '$base.pid' -- /bin/sh -c "
	    . "'exec $vg\"\$0\" -c \"\$1\" 2>>\"\$2\"' '$build/sigil-$prog' "
	    . "'$base.conf' '$log' >/dev/null") == 0
	    or die "spawn-fcgi sigil-$prog failed";
	my $w = { sock => "$base.sock", pid => "$base.pid", log => $log,
	    owner => $$ };
	push @started, $w;
	return $w;
}

# fcgi_request(HANDLE, METHOD, PATH?QUERY, BODY?, HEADERS?): a FastCGI
# request straight to the worker with cgi-fcgi, from HANDLE's
# remote_addr (else $ENV{SIGIL_TEST_REMOTE_ADDR}, else 127.0.0.1);
# returns what request() returns.
sub fcgi_request {
	my ($w, $method, $target, $body, $headers) = @_;
	my ($path, $query) = split /\?/, $target, 2;
	$body = $json->encode($body) if ref $body;
	my %env = (REQUEST_METHOD => $method, DOCUMENT_URI => $path,
	    REQUEST_URI => $target, QUERY_STRING => $query // '',
	    CONTENT_LENGTH => length($body // ''),
	    CONTENT_TYPE => 'application/json',
	    REMOTE_ADDR => $w->{remote_addr} // $ENV{SIGIL_TEST_REMOTE_ADDR}
		// '127.0.0.1');
	for my $h (keys %{ $headers // {} }) {
		$env{'HTTP_' . uc($h =~ s/-/_/gr)} = $headers->{$h};
	}
	return cgi_exec(['cgi-fcgi', '-bind', '-connect', $w->{sock}], \%env,
	    $body);
}

# cgi_exec(COMMAND, ENV, BODY?, STDERR?): runs COMMAND (an array) with
# the environment plus ENV (a hash) and BODY on its stdin, its stderr
# appended to the file STDERR (else the test's); parses what it wrote
# as a CGI response (RFC 3875: headers, a blank line, the body).
# Returns what request() returns, status 0 when it wrote none.
sub cgi_exec {
	my ($cmd, $env, $body, $err) = @_;
	my $in = "$DIR/cgi-exec-$$.in";
	spew($in, $body // '');
	my $pid = open(my $out, '-|') // die "fork: $!";
	if ($pid == 0) {
		# The child leaves without the test's END blocks.
		%ENV = (%ENV, %$env);
		if (open(STDIN, '<', $in) &&
		    (!defined $err || open(STDERR, '>>', $err))) {
			exec(@$cmd);
		}
		print STDERR "cgi_exec $cmd->[0]: $!\n";
		POSIX::_exit(127);
	}
	my $text = do { local $/; <$out> } // '';
	close $out;
	unlink $in;
	my ($head, $content) = split /\r?\n\r?\n/, $text, 2;
	my %r = (content => $content // '', headers => {});
	for (split /\r?\n/, $head // '') {
		$r{status} = $1 if /^Status: (\d+)/;
		$r{headers}{lc $1} = $2 if /^([^:]+): (.*)$/;
	}
	$r{status} //= 0;
	$r{json} = eval { $json->decode($r{content}) };
	return \%r;
}

# running(PID): whether the process runs.  A zombie does not: it has
# exited and waits only to be reaped by whoever adopted it (spawn-fcgi's
# workers are init's), which can take seconds in a container.
sub running {
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/stat") or return 0;
	my ($state) = <$fh> =~ /.*\) (\S)/;	# after the last ")"
	return defined $state && $state ne 'Z';
}

# stop_worker(HANDLE): SIGTERM to the worker; waits until it has exited
# (under valgrind, which writes its report first, that can take a while),
# KILLs it if it has not within a minute, then removes its socket.
sub stop_worker {
	my ($w) = @_;
	return if $w->{stopped}++;
	my $pid;
	if (open(my $fh, '<', $w->{pid})) {
		($pid) = (<$fh> // '') =~ /(\d+)/;
	}
	if ($pid) {
		kill 'TERM', $pid;
		for (1 .. 6000) {
			last unless running($pid);
			select(undef, undef, undef, 0.01);
		}
		if (running($pid)) {
			diag("worker $pid did not exit on SIGTERM: killed");
			kill 'KILL', $pid;
			select(undef, undef, undef, 0.01) while running($pid);
		}
	}
	unlink($w->{sock}, $w->{pid}, "$w->{sock}.in");
}

# Whatever way the test file ends (done, die, BAIL_OUT), no worker it
# started outlives it.
END {
	my $status = $?;
	stop_worker($_) for grep { $_->{owner} == $$ } @started;
	$? = $status;
}

# start_onbind_double(PORT, ONBIND_LOG, OPTIONS...): another homeserver
# double on PORT (the stack's TLS certificate) that appends each onbind
# it is sent to ONBIND_LOG; returns its pid once it listens.
sub start_onbind_double {
	my ($port, $log, @more) = @_;
	my $pid = fork() // die;
	if ($pid == 0) {
		open(STDOUT, '>', '/dev/null');
		open(STDERR, '>>', "$DIR/logs/onbind-double-$port.log");
		exec('/usr/bin/python3', 't/lib/homeserver-double.py',
		    '--port', $port, '--cert', "$DIR/tls/hs.pem",
		    '--key', "$DIR/tls/hs.key", '--onbind-log', $log, @more);
		exit 127;
	}
	wait_for(sub { IO::Socket::INET->new("127.0.0.1:$port") }, 10)
	    or die "the double on $port did not start";
	return $pid;
}

# mail_count(): how many messages the mail sink has kept.
sub mail_count { scalar(my @m = mails()) }

# texts(): every message the SMS gateway double kept, oldest first, as
# hashes { gateway, to, from, text }.
sub texts {
	my @t;
	for my $f (sort { ($a =~ /(\d+)\.json$/)[0] <=> ($b =~ /(\d+)\.json$/)[0] }
	    glob("$DIR/sms/*.json")) {
		open(my $fh, '<', $f) or next;
		push @t, $json->decode(do { local $/; <$fh> });
	}
	return @t;
}

# validated_session(EMAIL, CLIENT_SECRET): a v1 email session validated
# with the token from its mail; returns the sid.
sub validated_session {
	my ($email, $secret) = @_;
	my $v1 = '/_matrix/identity/api/v1';
	my $r = post("$v1/validate/email/requestToken",
	    { client_secret => $secret, email => $email, send_attempt => 1 });
	my $sid = $r->{json}{sid} or die "requestToken: $r->{content}";
	my ($token) = (mails())[-1]{raw} =~ /token=([^&\s]+)/;
	post("$v1/validate/email/submitToken",
	    { sid => $sid, client_secret => $secret, token => $token });
	return $sid;
}

# wait_for(CODE, SECONDS): 1 as soon as CODE returns true, 0 if it has
# not within SECONDS.
sub wait_for {
	my ($what, $secs) = @_;
	for (1 .. $secs * 10) {
		return 1 if $what->();
		select(undef, undef, undef, 0.1);
	}
	return 0;
}

# free_port(): a TCP port on 127.0.0.1 that nothing listens on now.
sub free_port {
	my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1:0')
	    or die "no free port: $!";
	return $s->sockport;
}

# scrape(): the stack's /_sigil/metrics as ({ 'name{labels}' => value },
# the response); dies unless it answers 200.
sub scrape {
	my $r = get('/_sigil/metrics');
	die "GET /_sigil/metrics: $r->{status} $r->{content}"
	    unless $r->{status} == 200;
	my %m;
	for (split /\n/, $r->{content}) {
		next if /^#/;
		$m{$1} = $2 + 0 if /^(\S+\}|\S+)\s+(\S+)$/;
	}
	return (\%m, $r);
}

# start_prometheus(): a Prometheus server on loopback (Debian package
# prometheus) scraping the stack's /_sigil/metrics every second, or undef
# when there is none.  Returns { query => sub (PROMQL): the first
# result's value or undef, log => its log file }; stop_prometheus(IT).
sub start_prometheus {
	return undef
	    unless system('sh', '-c', 'command -v prometheus >/dev/null') == 0;
	require File::Temp;
	my $dir = File::Temp::tempdir(CLEANUP => 1);
	my ($target) = $URL =~ m{^https?://([^/]+)};
	my $port = free_port();
	spew("$dir/prometheus.yml", "global:\n  scrape_interval: 1s\n"
	    . "scrape_configs:\n  - job_name: sigil\n"
	    . "    metrics_path: /_sigil/metrics\n    static_configs:\n"
	    . "      - targets: ['$target']\n");
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDOUT, '>', "$dir/prometheus.log");
		open(STDERR, '>&', \*STDOUT);
		{ exec('prometheus', "--config.file=$dir/prometheus.yml",
		    "--storage.tsdb.path=$dir/data",
		    "--web.listen-address=127.0.0.1:$port") };
		POSIX::_exit(127);
	}
	my $api = HTTP::Tiny->new(timeout => 5);
	my $query = sub {
		my ($promql) = @_;
		(my $q = $promql) =~
		    s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
		my $x = $api->get("http://127.0.0.1:$port/api/v1/query?query=$q");
		return undef unless $x->{success};
		my $j = eval { $json->decode($x->{content}) } or return undef;
		my $res = $j->{data}{result}[0] or return undef;
		return $res->{value}[1];
	};
	return { pid => $pid, dir => $dir, query => $query,
	    log => "$dir/prometheus.log" };
}
sub stop_prometheus {
	my ($p) = @_;
	return unless $p;
	kill('TERM', $p->{pid});
	waitpid($p->{pid}, 0);
}

# slurp(FILE): its contents, '' when it cannot be read; spew(FILE, TEXT).
sub slurp { open(my $fh, '<', $_[0]) or return ''; local $/; <$fh> }
sub spew { open(my $fh, '>', $_[0]) or die "$_[0]: $!"; print $fh $_[1] }

# children(PID): the processes whose parent is PID, by command name
# ({ 'sigil-status' => [pids...], ... }); the supervisor tests count
# workers with it.
sub children {
	my ($pid) = @_;
	my %by;
	for (`ps -o pid=,comm= --ppid $pid`) {
		my ($p, $name) = /^\s*(\d+)\s+(\S+)/ or next;
		push @{ $by{$name} }, $p;
	}
	return \%by;
}

1;
