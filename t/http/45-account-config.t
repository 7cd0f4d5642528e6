# Account and terms settings other than the stack's, each on a worker of
# its own reached over FastCGI: no terms, a policy version raised, an
# allow-list of homeservers, and tokens that expire.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SigilTest;

my $hs = $ENV{SIGIL_TEST_HS} or BAIL_OUT('no homeserver double');
my $dir = stack_dir();
open(my $fh, '<', "$dir/sigil.conf") or die;
my $base = join '', grep { !/^terms_file/ } <$fh>;
my $v2 = '/_matrix/identity/v2';

sub register_on {
	my ($w, $user, $server) = @_;
	$server //= $hs;
	return fcgi_request($w, 'POST', "$v2/account/register", {
	    access_token => "good-$user\@$server", token_type => 'Bearer',
	    matrix_server_name => $server, expires_in => 60 });
}

# No terms configured: GET terms is empty and the gate asks for none.
my $w = start_worker('account', $base);
my $r = fcgi_request($w, 'GET', "$v2/terms");
is($r->{content}, '{"policies":{}}', 'no terms: GET terms is {"policies": {}}');
my $t = register_on($w, 'nat')->{json}{token};
ok($t, 'register works');
$r = fcgi_request($w, 'GET', "$v2/account", undef,
    { Authorization => "Bearer $t" });
is($r->{status}, 200, 'no terms: the gate lets an account through');
is_error(fcgi_request($w, 'POST', "$v2/terms",
    { user_accepts => ['https://terms.example.org/tos-2.0-en.html'] },
    { Authorization => "Bearer $t" }), 400, 'M_INVALID_PARAM',
    'no terms: every URL is unknown');
stop_worker($w);

# A policy's version raised: what was accepted of 2.0 does not cover 3.0.
my $stack_token;
{
	my $s = post("$v2/account/register", { access_token => "good-olga\@$hs",
	    token_type => 'Bearer', matrix_server_name => $hs, expires_in => 60 });
	$stack_token = $s->{json}{token};
	post("$v2/terms", { user_accepts => [
	    'https://terms.example.org/privacy-1.0-en.html',
	    'https://terms.example.org/tos-2.0-en.html'] },
	    { Authorization => "Bearer $stack_token" });
	is(get("$v2/account", { Authorization => "Bearer $stack_token" })->{status},
	    200, 'a user who accepted the current terms');
}
open(my $tf, '<', 't/data/terms.json') or die;
my $terms3 = do { local $/; <$tf> } =~ s/"2\.0"/"3.0"/r =~ s/tos-2\.0/tos-3.0/r;
open(my $out, '>', "$dir/terms3.json") or die;
print $out $terms3;
close $out;
$w = start_worker('account', $base . "terms_file = $dir/terms3.json\n");
is_error(fcgi_request($w, 'GET', "$v2/account", undef,
    { Authorization => "Bearer $stack_token" }), 403, 'M_TERMS_NOT_SIGNED',
    'after a new version of a policy: 403 M_TERMS_NOT_SIGNED');
$r = fcgi_request($w, 'POST', "$v2/terms",
    { user_accepts => ['https://terms.example.org/tos-3.0-en.html'] },
    { Authorization => "Bearer $stack_token" });
is($r->{status}, 200, 'accepting the new version');
is(fcgi_request($w, 'GET', "$v2/account", undef,
    { Authorization => "Bearer $stack_token" })->{status}, 200,
    'lets the user through again');
stop_worker($w);

# An allow-list of homeservers.
$w = start_worker('account', $base . "homeserver_allow = example.org $hs\n");
is(register_on($w, 'pat')->{status}, 200, 'a listed homeserver registers');
is_error(register_on($w, 'quinn', '127.0.0.1:1'), 403, 'M_UNAUTHORIZED',
    'an unlisted homeserver: 403 M_UNAUTHORIZED, before any request');
stop_worker($w);
open(my $lg, '<', $w->{log}) or die;
ok(!grep({ /127\.0\.0\.1:1/ } <$lg>), 'the unlisted homeserver was not asked');

# Tokens that expire.
$w = start_worker('account', $base . "token_lifetime = 3600\n");
$t = register_on($w, 'rita')->{json}{token};
my $exp = psql("SELECT expires_ts - created_ts FROM account_tokens "
    . "WHERE user_id = '\@rita:$hs'");
is($exp, 3600 * 1000, 'token_lifetime sets the expiry');
is(fcgi_request($w, 'GET', "$v2/account", undef,
    { Authorization => "Bearer $t" })->{status}, 200, 'before it expires');
psql("UPDATE account_tokens SET expires_ts = 1 WHERE user_id = '\@rita:$hs'");
is_error(fcgi_request($w, 'GET', "$v2/account", undef,
    { Authorization => "Bearer $t" }), 401, 'M_UNAUTHORIZED',
    'an expired token: 401');
stop_worker($w);

# Certificate checks stay on: without the test CA the double's
# certificate is not trusted.
$w = start_worker('account', $base =~ s/^http_ca_file.*\n//mr);
is_error(register_on($w, 'sam'), 502, 'M_UNKNOWN',
    'a homeserver whose certificate we cannot verify: 502');
stop_worker($w);

# .well-known answers are remembered (for the host, in metrics_dir's
# outbound.origins: a fresh folder here, so that what other tests
# fetched is not already known).
SKIP: {
	skip('port 443 not free for the .well-known double', 2)
	    if `grep -c 'no well-known port' $dir/logs/homeserver-double.log` > 0;
	my $fresh = "$dir/metrics-wellknown-$$";
	mkdir $fresh or die "$fresh: $!";
	chmod 0755, $fresh;
	$w = start_worker('account', ($base =~ s/^metrics_dir\s*=.*\n//mr)
	    . "metrics_dir = $fresh\n");
	my $count = sub {
		0 + `grep -c 'well-known/matrix/server' $dir/logs/homeserver-double.log`;
	};
	my $before = $count->();
	is(register_on($w, 'tess', 'localhost')->{status}, 200,
	    'register through .well-known');
	register_on($w, 'uma', 'localhost');
	is($count->() - $before, 1, 'two registrations, one .well-known fetch');
	stop_worker($w);
}

done_testing();
