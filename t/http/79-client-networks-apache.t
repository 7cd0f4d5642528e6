# Apache's per-client rate limit (ModSecurity, deploy/apache-sigil-
# limits.conf.in) counts an IPv6 client by its /64, as sigil's own limits
# do (t/http/73-client-networks.t): the rules that make the collection's
# key from REMOTE_ADDR's text give every address of one /64 the same
# key, in whichever text form, and another /64 another; an IPv4 address
# is a client alone, and its mapped form (::ffff:a.b.c.d) the same one.
#
# Loopback has one IPv6 address (::1), so the test cannot connect from
# many.  It runs an Apache of its own with the shipped rules, filled in
# as the stack fills them, and the one thing only a test may do: it
# takes the client's address from a header (mod_remoteip, trusting
# 127.0.0.1), so that REMOTE_ADDR is the address the test names, as
# ModSecurity sees it for a client connecting from there.  The rules'
# numbers are the test's (a burst of 3 and no decay, so that a slow
# machine's requests cannot leak out of the limit): from one client the
# fourth request to a writing path is 429.  The shipped exempt list is
# kept as shipped, so Apache must start with it (ModSecurity 2.9 refused
# the old default, 0.0.0.0/32).
use strict;
use warnings;
use lib 't/lib';
use HTTP::Tiny;
use Test::More;
use SigilTest;
use ClientNetworks;

plan skip_all => 'no Apache with ModSecurity and mod_remoteip here'
    unless -x '/usr/sbin/apache2'
    && -f '/usr/lib/apache2/modules/mod_security2.so'
    && -f '/usr/lib/apache2/modules/mod_remoteip.so';

my $dir = stack_dir();
my $t = "$dir/client-networks-apache";
mkdir $t;
mkdir "$t/modsec";
mkdir "$t/empty";
my $port = free_port();
my $root = $> == 0;
if ($root) {
	my ($uid, $gid) = (getpwnam('www-data'))[2, 3];
	chown $uid, $gid, "$t/modsec";
}

open(my $fh, '<', 'deploy/apache-sigil-limits.conf.in') or die;
my $text = do { local $/; <$fh> };
close $fh;
like($text, qr/initcol:ip=%\{TX\.sigil_client\}/,
    'the shipped rate limit counts the client key');
$text =~ s/\@DATADIR\@/$t\/modsec/g;
# The shipped exempt list stays: Apache must start with it.
$text =~ s/^Define SIGIL_WRITE_BURST .*/Define SIGIL_WRITE_BURST 3/m;
$text =~ s/^Define SIGIL_WRITE_RATE .*/Define SIGIL_WRITE_RATE 0/m;
spew("$t/limits.conf", $text);
my $user = $root ? "User www-data\nGroup www-data\n" : '';
spew("$t/apache.conf", <<CONF);
ServerRoot "$t"
DefaultRuntimeDir "$t"
PidFile "$t/apache.pid"
Mutex file:$t default
Listen 127.0.0.1:$port
ServerName localhost
$user
ErrorLog "$dir/logs/apache-client-networks-error.log"
LogLevel warn
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule unique_id_module /usr/lib/apache2/modules/mod_unique_id.so
LoadModule security2_module /usr/lib/apache2/modules/mod_security2.so
LoadModule remoteip_module /usr/lib/apache2/modules/mod_remoteip.so
DocumentRoot "$t/empty"
<Location "/">
	Require all granted
</Location>
# Test only: the client's address from a header.
RemoteIPHeader X-Test-Client
RemoteIPInternalProxy 127.0.0.1
Include "$t/limits.conf"
CONF
my $out = `/usr/sbin/apache2 -t -f $t/apache.conf 2>&1`;
is($?, 0, 'Apache accepts the shipped rules') or diag($out);
system('/usr/sbin/apache2', '-f', "$t/apache.conf", '-k', 'start') == 0
    or BAIL_OUT('Apache did not start');
END {
	system('/usr/sbin/apache2', '-f', "$t/apache.conf", '-k', 'stop')
	    if defined $t && -f "$t/apache.pid";
}

# One connection, kept alive: ModSecurity stores a request's counter
# after its answer has gone, when the connection's thread logs it,
# before that thread reads the connection's next request; on a new
# connection another process could read the counter before the store.
# Apache closes the connection after ModSecurity's 429, so the next
# request opens a new one (the refused request changes no counter).
my $http;
sub status_from {
	my ($client) = @_;
	$http //= HTTP::Tiny->new(timeout => 10);
	my $s = $http->post("http://127.0.0.1:$port/_matrix/identity/v2/3pid/bind",
	    { headers => { 'X-Test-Client' => $client } })->{status};
	undef $http if $s != 404;
	return $s == 404 ? 'ok' : $s;
}
client_network_checks(\&status_from);

done_testing();
