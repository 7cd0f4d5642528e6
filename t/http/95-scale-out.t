# Scaling out as the README describes it: a second "host" (a set of
# workers under sigil-supervise listening on TCP, as another machine's
# would) added to nginx's upstreams beside this host's unix sockets, one
# PostgreSQL for both.  A session started on one host is finished and
# bound on whichever the next request reaches; both hosts serve; when the
# second host goes away, every request is still answered.
use strict;
use warnings;
use lib 't/lib';
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use Test::More;
use SigilTest;

plan skip_all => 'scaling out adds FastCGI hosts to nginx\'s upstreams; a '
    . 'shared host has neither' if shared_host();

my $dir = stack_dir();
my $b = "$dir/hostb";
mkdir $b;
my $json = JSON::PP->new->utf8;
my $http = HTTP::Tiny->new(timeout => 10);

# Host B: validate, bind and lookup workers on TCP.
my %port = map { $_ => free_port() } qw(validate bind lookup);
spew("$b/workers", join '', map { "$_ 1 127.0.0.1:$port{$_}\n" } sort keys %port);
my $sup = fork() // die;
if ($sup == 0) {
	open(STDOUT, '>', '/dev/null');
	open(STDERR, '>>', "$dir/logs/hostb.log");
	exec(build_dir() . '/sigil-supervise', '-c', "$dir/sigil.conf",
	    '-w', "$b/workers", '-s', $b);
	exit 127;
}
for my $p (values %port) {
	my $up = 0;
	for (1 .. 50) {
		if (IO::Socket::INET->new("127.0.0.1:$p")) { $up = 1; last }
		select(undef, undef, undef, 0.1);
	}
	ok($up, "host B listens on $p");
}

# A second nginx: the stack's configuration, with host B added to the
# upstreams, and its own access log (unbuffered, to be read at once),
# whose up= and up_status= fields say which upstream took each request.
system('cp', '-r', "$dir/nginx", "$dir/nginx2") == 0 or die;
my $port2 = free_port();
my $conf = slurp("$dir/nginx2/nginx.conf");
$conf =~ s{\Q$dir\E/nginx/}{$dir/nginx2/}g;
$conf =~ s{\Q$dir\E/nginx\.pid}{$dir/nginx2.pid};
$conf =~ s{listen 127\.0\.0\.1:\d+;}{listen 127.0.0.1:$port2;};
spew("$dir/nginx2/nginx.conf", $conf);
for my $f ('sigil-locations.conf', 'sigil-server.conf', 'sigil-location.conf',
    'sigil-error-headers.conf') {
	spew("$dir/nginx2/$f", slurp("$dir/nginx2/$f")
	    =~ s{\Q$dir\E/nginx/}{$dir/nginx2/}gr
	    =~ s{\Q$dir\E/logs/nginx-access\.log[^;]*}{$dir/logs/nginx2-upstream.log sigil}gr);
}
my $up = slurp("$dir/nginx2/sigil-upstreams.conf");
for my $p (keys %port) {
	$up =~ s{(upstream sigil_$p \{\n\tserver [^\n]+\n)}{$1\tserver 127.0.0.1:$port{$p};\n}
	    or die "no upstream for $p";
}
spew("$dir/nginx2/sigil-upstreams.conf", $up);
system('nginx', '-q', '-e', "$dir/logs/nginx2-error.log", '-p', "$dir/nginx2",
    '-c', "$dir/nginx2/nginx.conf") == 0 or BAIL_OUT('nginx2 did not start');
my $url = "http://127.0.0.1:$port2";

sub call {
	my ($method, $path, $body) = @_;
	my $r = $http->request($method, "$url$path", defined $body ? {
	    content => $json->encode($body),
	    headers => { 'Content-Type' => 'application/json' } } : {});
	$r->{json} = eval { $json->decode($r->{content}) };
	return $r;
}

# Whole flows, each request to whichever host nginx picks.
my $v1 = '/_matrix/identity/api/v1';
my $bad = 0;
for my $i (1 .. 6) {
	my $email = "scale$i\@example.org";
	my $r = call('POST', "$v1/validate/email/requestToken",
	    { client_secret => "sc$i", email => $email, send_attempt => 1 });
	my $sid = $r->{json}{sid} or do { $bad++; next };
	my ($token) = (grep { $_->{rcpt}[0] eq $email } mails())[-1]{raw}
	    =~ /token=([^&\s]+)/;
	$r = call('POST', "$v1/validate/email/submitToken",
	    { sid => $sid, client_secret => "sc$i", token => $token });
	$bad++ unless $r->{status} == 200;
	$r = call('POST', "$v1/3pid/bind", { sid => $sid, client_secret => "sc$i",
	    mxid => "\@scale$i:example.org" });
	$bad++ unless $r->{status} == 200;
	for (1 .. 3) {
		$r = call('GET', "$v1/lookup?medium=email&address=scale$i%40example.org");
		$bad++ unless ($r->{json}{mxid} // '') eq "\@scale$i:example.org";
	}
}
is($bad, 0, 'validate, bind and look up across both hosts: every step works');
my $log = slurp("$dir/logs/nginx2-upstream.log");
like($log, qr/ up=unix:\S+ up_status=200 /, 'this host served');
like($log, qr/ up=127\.0\.0\.1:$port{lookup} up_status=200 /,
    'host B served lookups');
like($log, qr/ up=127\.0\.0\.1:$port{validate} up_status=200 /,
    'and validations');

# Host B goes away: nginx passes requests on to this host.
kill 'TERM', $sup;
waitpid($sup, 0);
$bad = 0;
for (1 .. 20) {
	my $r = call('GET', "$v1/lookup?medium=email&address=scale1%40example.org");
	$bad++ unless ($r->{json}{mxid} // '') eq '@scale1:example.org';
}
is($bad, 0, 'with host B gone, every request is still answered');

system('nginx', '-q', '-e', "$dir/logs/nginx2-error.log", '-p', "$dir/nginx2",
    '-c', "$dir/nginx2/nginx.conf", '-s', 'stop');

done_testing();
