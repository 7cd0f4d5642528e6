# nginx's per-client limits count an IPv6 client by its /64, as sigil's
# own do (t/http/73-client-networks.t): the key $sigil_limit_key of
# deploy/nginx-sigil-upstreams.conf.in, which the shipped limit_conn and
# limit_req zones use, is the same for every address of one /64, in
# whichever text form (2001:db8::a, 2001:db8:0:0:1::), and another for
# another /64; an IPv4 address is a client alone, and its mapped form
# (::ffff:a.b.c.d) the same client.
#
# Loopback has one IPv6 address (::1), so the test cannot connect from
# many.  It runs an nginx of its own on the shipped file, filled in as
# the stack fills it, with the one thing only a test may do: it takes
# the client's address from a header (the real-IP module, trusting
# 127.0.0.1), so that nginx's $remote_addr and $binary_remote_addr are
# the address the test names, exactly as for a client connecting from
# it.  The limit is the real limit_req, on the shipped key, in a zone of
# the test's own of one request a minute with a burst of 2 (the shipped
# zone's 2 a second would let a slow machine's requests leak out of
# it): from one client the fourth request at once is 429.
use strict;
use warnings;
use lib 't/lib';
use HTTP::Tiny;
use Test::More;
use SigilTest;
use ClientNetworks;

my $dir = stack_dir();
my $t = "$dir/client-networks-nginx";
mkdir $t;
my $port = free_port();

open(my $fh, '<', 'deploy/nginx-sigil-upstreams.conf.in') or die;
my $text = do { local $/; <$fh> };
close $fh;
like($text, qr/^limit_conn_zone \$sigil_limit_key /m,
    'the shipped limit_conn counts $sigil_limit_key');
like($text, qr/^limit_req_zone \$sigil_limit_key /m,
    '... and so does the shipped limit_req');
$text =~ s/\@SOCKDIR\@/$dir\/sock/g;
spew("$t/sigil-upstreams.conf", $text);
spew("$t/nginx.conf", <<CONF);
pid $t/nginx.pid;
error_log $dir/logs/nginx-client-networks-error.log warn;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $t/body;
	fastcgi_temp_path $t/fastcgi;
	proxy_temp_path $t/proxy;
	uwsgi_temp_path $t/uwsgi;
	scgi_temp_path $t/scgi;
	include $t/sigil-upstreams.conf;
	limit_req_zone \$sigil_limit_key zone=test_key:1m rate=1r/m;
	server {
		listen 127.0.0.1:$port;
		# Test only: the client's address from a header.
		set_real_ip_from 127.0.0.1;
		real_ip_header X-Test-Client;
		limit_req_status 429;
		# Not "return", which answers before limit_req runs.
		location = /limited {
			limit_req zone=test_key burst=2 nodelay;
			empty_gif;
		}
	}
}
CONF
my $out = `nginx -t -q -e $dir/logs/nginx-client-networks-error.log -p $t -c $t/nginx.conf 2>&1`;
is($?, 0, 'nginx -t accepts the shipped map') or diag($out);
system('nginx', '-q', '-e', "$dir/logs/nginx-client-networks-error.log",
    '-p', $t, '-c', "$t/nginx.conf") == 0 or BAIL_OUT('nginx did not start');
END {
	system('nginx', '-q', '-e', "$dir/logs/nginx-client-networks-error.log",
	    '-p', $t, '-c', "$t/nginx.conf", '-s', 'stop') if defined $t;
}

# A connection per request: a kept-alive one the server closes between
# two would be a 599 here.
my $http = HTTP::Tiny->new(timeout => 10, keep_alive => 0);
sub status_from {
	my ($client) = @_;
	my $s = $http->get("http://127.0.0.1:$port/limited",
	    { headers => { 'X-Test-Client' => $client } })->{status};
	return $s == 200 ? 'ok' : $s;
}
client_network_checks(\&status_from);

done_testing();
