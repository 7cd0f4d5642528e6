# deploy/nginx-sigil-site.conf.in, the production site, filled in as an
# operator would (a certificate from the test CA for "localhost"): HTTPS
# serves sigil with the certificate checked by curl, HTTP redirects to
# HTTPS, and nginx's own errors are Matrix JSON there too (plain HTTP
# sent to the HTTPS port included).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SigilTest;

plan skip_all => 'the nginx site serves the stack\'s FastCGI sockets, of '
    . 'which a shared host has none' if shared_host();

my $dir = stack_dir();
my $site = "$dir/site";
mkdir $site;
my ($http, $https) = (free_port(), free_port());

open(my $fh, '<', 'deploy/nginx-sigil-site.conf.in') or die;
my $text = do { local $/; <$fh> };
my %fill = (SERVER_NAME => 'localhost', TLS_CERT => "$dir/tls/hs.pem",
    TLS_KEY => "$dir/tls/hs.key", HTTP_PORT => $http, HTTPS_PORT => $https,
    CONFDIR => "$dir/nginx");
$text =~ s/\@([A-Z_]+)\@/$fill{$1} \/\/ die "no value for $1"/ge;
$text =~ s{/var/log/nginx/sigil-(access|error)\.log}{$dir/logs/nginx-site-$1.log}g;
# Loopback only here: the test binds no public address.
$text =~ s/listen (\d+)/listen 127.0.0.1:$1/g;
$text =~ s/listen \[::\]:(\d+)/listen [::1]:$1/g;
spew("$site/sigil-site.conf", $text);
spew("$site/nginx.conf", <<CONF);
pid $site/nginx.pid;
error_log $dir/logs/nginx-site-error.log warn;
user www-data;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $site/body;
	fastcgi_temp_path $site/fastcgi;
	proxy_temp_path $site/proxy;
	uwsgi_temp_path $site/uwsgi;
	scgi_temp_path $site/scgi;
	include $site/sigil-site.conf;
}
CONF
my $out = `nginx -t -q -e $dir/logs/nginx-site-error.log -p $site -c $site/nginx.conf 2>&1`;
is($?, 0, 'nginx -t accepts the site') or diag($out);
system('nginx', '-q', '-e', "$dir/logs/nginx-site-error.log", '-p', $site,
    '-c', "$site/nginx.conf") == 0 or BAIL_OUT('the site did not start');

my $curl = "curl -s --cacert $dir/tls/ca.pem";
is(`$curl https://localhost:$https/_matrix/identity/v2`, '{}',
    'HTTPS serves sigil, the certificate checked');
like(`$curl --resolve 'localhost:$https:[::1]' https://localhost:$https/_matrix/identity/versions`,
    qr/"versions"/, 'on IPv6 too');
is(`$curl -o /dev/null -w '%{http_code} %{redirect_url}' http://localhost:$http/_matrix/identity/v2`,
    "301 https://localhost/_matrix/identity/v2", 'HTTP redirects to HTTPS');
like(`$curl -w ' %{http_code} %{content_type}' https://localhost:$https/elsewhere`,
    qr/^\{"errcode":"M_UNRECOGNIZED".* 404 application\/json$/,
    'a path outside sigil: 404 as Matrix JSON');
my $long = 'x' x 20000;
like(`$curl --http1.1 -w ' %{http_code}' https://localhost:$https/_matrix/identity/v2?$long`,
    qr/"M_TOO_LARGE".* 414$/, 'a request line too long: 414 as Matrix JSON');
like(`$curl -w ' %{http_code} %{content_type}' http://localhost:$https/_matrix/identity/v2`,
    qr/^\{"errcode":"M_UNKNOWN".* 400 application\/json$/,
    'plain HTTP to the HTTPS port: 400 as Matrix JSON');
like(`$curl --http1.1 -w ' %{http_code} %{content_type}' -H 'Transfer-Encoding: gzip' -d x https://localhost:$https/_matrix/identity/v2/lookup`,
    qr/^\{"errcode":"M_UNKNOWN".* 501 application\/json$/,
    'a Transfer-Encoding nginx does not take: 501 as Matrix JSON');
like(`$curl -w ' %{http_code} %{content_type}' https://localhost:$https/_matrix/identity/v2/a%2fb`,
    qr/^\{"errcode":"M_UNRECOGNIZED".* 404 application\/json$/,
    '%2f in the path: 404 as Matrix JSON');
like(`$curl -w ' %{http_code}' https://localhost:$https/_matrix/identity/api/v1/lookup?medium=email\\&address=nobody%40example.org`,
    qr/^\{\} 200$/, 'a v1 lookup over HTTPS');

system('nginx', '-q', '-e', "$dir/logs/nginx-site-error.log", '-p', $site,
    '-c', "$site/nginx.conf", '-s', 'stop');

done_testing();
