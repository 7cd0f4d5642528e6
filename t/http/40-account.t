# v2 accounts: register with an OpenID token checked against the
# homeserver double (over TLS from the test CA), the gate on every gated
# route, logout, and the terms of service.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes ();
use SigilTest;

my $hs = $ENV{SIGIL_TEST_HS} or BAIL_OUT('no homeserver double');
my ($hs_port) = $hs =~ /:(\d+)$/;

sub register {
	my ($token, $server, %over) = @_;
	return post('/_matrix/identity/v2/account/register', {
	    access_token => $token, token_type => 'Bearer',
	    matrix_server_name => $server // $hs, expires_in => 3600, %over });
}
sub auth { return { Authorization => "Bearer $_[0]" } }

# A good registration.
my $r = register("good-alice\@$hs");
is($r->{status}, 200, 'register with a good OpenID token') or diag($r->{content});
my $token = $r->{json}{token} // '';
like($token, qr/^[A-Za-z0-9_-]{43}$/, 'a 256-bit token, URL-safe base64');
is($r->{json}{access_token}, $token, 'also given as access_token');
is(psql("SELECT count(*) FROM account_tokens WHERE token_hash = '$token'"),
    0, 'the token itself is not stored');
is(psql("SELECT user_id FROM account_tokens WHERE token_hash = "
    . "encode(sha256('$token'::bytea), 'hex')"), "\@alice:$hs",
    'only its SHA-256 is');

# Terms not yet accepted: the gate answers 403 on ordinary routes.
is_error(get('/_matrix/identity/v2/account', auth($token)), 403,
    'M_TERMS_NOT_SIGNED', 'GET account before the terms: 403');

# GET terms needs no token.
$r = get('/_matrix/identity/v2/terms');
is($r->{status}, 200, 'GET terms without a token');
is($r->{json}{policies}{privacy_policy}{version}, '1.0', 'lists the policies');
is($r->{json}{policies}{privacy_policy}{fr}{url},
    'https://terms.example.org/privacy-1.0-fr.html', 'with every language');

my $privacy_fr = 'https://terms.example.org/privacy-1.0-fr.html';
my $privacy_en = 'https://terms.example.org/privacy-1.0-en.html';
my $tos = 'https://terms.example.org/tos-2.0-en.html';

# Terms accepted over separate calls and languages.
is_error(post('/_matrix/identity/v2/terms', { user_accepts => [$tos] }), 401,
    'M_UNAUTHORIZED', 'POST terms needs a token');
is_error(post('/_matrix/identity/v2/terms',
    { user_accepts => ['https://evil.example/x'] }, auth($token)), 400,
    'M_INVALID_PARAM', 'an unknown URL: 400 M_INVALID_PARAM');
is_error(post('/_matrix/identity/v2/terms',
    { user_accepts => [$tos, 'https://evil.example/x'] }, auth($token)), 400,
    'M_INVALID_PARAM', 'a known and an unknown URL: 400');
is_error(get('/_matrix/identity/v2/account', auth($token)), 403,
    'M_TERMS_NOT_SIGNED', 'and nothing of that request was recorded');
is_error(post('/_matrix/identity/v2/terms', { user_accepts => 'x' x 0 },
    auth($token)), 400, 'M_INVALID_PARAM', 'an empty string URL: 400');
is_error(post('/_matrix/identity/v2/terms', { user_accepts => [1] },
    auth($token)), 400, 'M_INVALID_PARAM', 'a number in the list: 400');
is_error(post('/_matrix/identity/v2/terms', {}, auth($token)), 400,
    'M_MISSING_PARAMS', 'no user_accepts: 400 M_MISSING_PARAMS');
$r = post('/_matrix/identity/v2/terms', { user_accepts => [$privacy_fr] },
    auth($token));
is($r->{status}, 200, 'accepting one policy in French');
is_error(get('/_matrix/identity/v2/account', auth($token)), 403,
    'M_TERMS_NOT_SIGNED', 'one policy of two is not enough');
$r = post('/_matrix/identity/v2/terms', { user_accepts => $tos },
    auth($token));
is($r->{status}, 200, 'accepting the other in a second call, as a string');
$r = get('/_matrix/identity/v2/account', auth($token));
is($r->{status}, 200, 'now GET account works');
is($r->{json}{user_id}, "\@alice:$hs", 'and names the user');
$r = post('/_matrix/identity/v2/terms', { user_accepts => [$privacy_en, $tos] },
    auth($token));
is($r->{status}, 200, 'accepting again is harmless');

# Everything at once, for another user.
my $bob = register("good-bob\@$hs")->{json}{token};
$r = post('/_matrix/identity/v2/terms',
    { user_accepts => [$privacy_en, $tos] }, auth($bob));
is(get('/_matrix/identity/v2/account', auth($bob))->{status}, 200,
    'all policies in one call');

# The token in the query string: dropped by spec v1.20 (URLs are kept by
# proxies and browsers), but accepted by default because Synapse sends
# hash_details that way (t/http/89-synapse.t); allow_access_token_query =
# false refuses it.
$r = get("/_matrix/identity/v2/account?access_token=$token");
is($r->{json}{user_id}, "\@alice:$hs", '?access_token= works by default');
is_error(get('/_matrix/identity/v2/account?access_token=nosuch'), 401,
    'M_UNAUTHORIZED', 'and a wrong one is 401');
is(get("/_matrix/identity/v2/account?access_token=nosuch",
    auth($token))->{status}, 200, 'the header wins over the query');
{
	my $w = start_worker('account', slurp(stack_dir() . '/sigil.conf')
	    . "allow_access_token_query = false\n");
	is_error(fcgi_request($w, 'GET',
	    "/_matrix/identity/v2/account?access_token=$token"), 401,
	    'M_UNAUTHORIZED', 'allow_access_token_query = false: refused, 401');
	like(fcgi_request($w, 'GET',
	    "/_matrix/identity/v2/account?access_token=$token")->{json}{error},
	    qr/Authorization: Bearer/, 'saying where the token goes');
	is(fcgi_request($w, 'GET', '/_matrix/identity/v2/account', undef,
	    auth($token))->{status}, 200, 'the header still works');
	stop_worker($w);
	$w = start_worker('lookup', slurp(stack_dir() . '/sigil.conf')
	    . "allow_access_token_query = false\n");
	is_error(fcgi_request($w, 'GET',
	    "/_matrix/identity/v2/hash_details?access_token=$token"), 401,
	    'M_UNAUTHORIZED', 'on every gated route');
	is_error(fcgi_request($w, 'POST',
	    "/_matrix/identity/v2/lookup?access_token=$token",
	    { algorithm => 'none', pepper => 'x', addresses => [] }), 401,
	    'M_UNAUTHORIZED', 'v2 lookup too, whose gate rides in its own query');
	stop_worker($w);
}

# The gate's refusals.
is_error(get('/_matrix/identity/v2/account'), 401, 'M_UNAUTHORIZED',
    'no token: 401');
is_error(get('/_matrix/identity/v2/account', auth('wrong')), 401,
    'M_UNAUTHORIZED', 'a wrong token: 401');
is_error(get('/_matrix/identity/v2/account', { Authorization => 'Basic abc' }),
    401, 'M_UNAUTHORIZED', 'a Basic header: 401');
is_error(get('/_matrix/identity/v2/account', auth('x' x 600)), 401,
    'M_UNAUTHORIZED', 'an overlong token: 401');
is_error(post('/_matrix/identity/v2/account/logout', undef, auth('wrong')), 401,
    'M_UNAUTHORIZED', 'logout with a wrong token: 401');

# Logout needs no terms and ends the token at once.
my $carol = register("good-carol\@$hs")->{json}{token};
$r = post('/_matrix/identity/v2/account/logout', undef, auth($carol));
is($r->{status}, 200, 'logout without having accepted the terms');
is($r->{content}, '{}', 'answers {}');
is_error(get('/_matrix/identity/v2/account', auth($carol)), 401,
    'M_UNAUTHORIZED', 'the token fails after logout');
is_error(post('/_matrix/identity/v2/terms', { user_accepts => [$tos] },
    auth($carol)), 401, 'M_UNAUTHORIZED', 'everywhere');
is(get('/_matrix/identity/v2/account', auth($token))->{status}, 200,
    "another user's token still works");

# Register: bad input.
is_error(register("good-x\@$hs", 'bad_name!'), 400, 'M_INVALID_PARAM',
    'a bad server name: 400');
is_error(register("good-x\@$hs", undef, token_type => 'MAC'), 400,
    'M_INVALID_PARAM', 'a token_type other than Bearer: 400');
is_error(post('/_matrix/identity/v2/account/register',
    { token_type => 'Bearer', matrix_server_name => $hs, expires_in => 1 }),
    400, 'M_MISSING_PARAMS', 'no access_token: 400 M_MISSING_PARAMS');
is_error(register("good-x\@$hs", undef, expires_in => 'soon'), 400,
    'M_INVALID_PARAM', 'expires_in not a number: 400');
is_error(post('/_matrix/identity/v2/account/register', 'not json'), 400,
    'M_NOT_JSON', 'a body that is not JSON: 400 M_NOT_JSON');
is_error(get('/_matrix/identity/v2/account/register'), 405,
    'M_UNRECOGNIZED', 'GET register: 405');

# Register: what the homeserver answers.
is_error(register('unknown'), 401, 'M_UNAUTHORIZED',
    'the homeserver refuses the OpenID token: 401');
is_error(register('good-mallory@other.example'), 403, 'M_UNAUTHORIZED',
    'a sub on another server: 403');
is_error(register('nosub'), 502, 'M_UNKNOWN', 'no sub: 502');
is_error(register('500'), 502, 'M_UNKNOWN', 'a 500 from the homeserver: 502');
is_error(register('garbage'), 502, 'M_UNKNOWN', 'garbage: 502');
is_error(register('big'), 502, 'M_UNKNOWN', 'a body over 5 KiB: 502');
is_error(register('endless'), 502, 'M_UNKNOWN', 'an endless body: 502');
my $t0 = time;
is_error(register('slow'), 502, 'M_UNKNOWN', 'slower than the timeout: 502');
ok(time - $t0 < 10, 'given up after the timeout, not after the answer');
is_error(register('redirect-blocked'), 502, 'M_UNKNOWN',
    'a redirect to a blocked address: 502');
is_error(register('redirect-loop'), 502, 'M_UNKNOWN', 'a redirect loop: 502');
$r = register("redirect-good-dave\@$hs");
is($r->{status}, 200, 'a redirect within bounds is followed');
is_error(register("good-eve\@127.0.0.2:$hs_port", "127.0.0.2:$hs_port"), 502,
    'M_UNKNOWN', 'a server name on a blocked address: 502');
is_error(register('good-x@localhost:1', 'localhost:1'), 502, 'M_UNKNOWN',
    'a homeserver that does not listen: 502');
# An IPv6 literal carrying a loopback IPv4 address (IPv4-compatible,
# ::/96): refused by the blocklist before any connection is tried, where
# a connect to it used to wait out its 2 s timeout.
$t0 = Time::HiRes::time();
is_error(register("good-ivy\@[::127.0.0.1]:$hs_port", "[::127.0.0.1]:$hs_port"),
    502, 'M_UNKNOWN', 'a server name on [::127.0.0.1]: 502');
ok(Time::HiRes::time() - $t0 < 2, 'at once, not after a connect timeout');
like(program_log('account'),
    qr{GET https://\[::127\.0\.0\.1\]:$hs_port/\S+: address not allowed},
    'refused as an address not allowed');
is(psql("SELECT count(*) FROM accounts WHERE user_id LIKE '\@eve%' "
    . "OR user_id LIKE '\@mallory%' OR user_id LIKE '\@big%'"), 0,
    'no account was made by any failure');

SKIP: {
	my $wk = register('good-frank@localhost', 'localhost');
	skip('port 443 not free for the .well-known double', 2)
	    if `grep -c 'no well-known port' ${\ stack_dir()}/logs/homeserver-double.log` > 0;
	is($wk->{status}, 200, 'discovery through .well-known')
	    or diag($wk->{content});
	is(get('/_matrix/identity/v2/account',
	    auth($wk->{json}{token} // ''))->{status}, 403,
	    'the delegated user gets a working token');
}

done_testing();
