# Auth before input: every v2 route that requires a token (the routes
# whose spec entry has "security", v2_*.yaml) answers a request without
# a valid token 401 M_UNAUTHORIZED, whatever is wrong with its body or
# query string, never 400; and sends no mail.  Two routes the spec marks
# take no token here, as documented in the README: GET submitToken (a
# link clicked in a mail cannot carry one) and 3pid/unbind (homeservers
# sign it with X-Matrix or prove the 3PID with sid and client_secret).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SigilTest;

my $v2 = '/_matrix/identity/v2';
my @routes = (
    [GET => 'account'],
    [POST => 'account/logout'],
    [POST => 'terms'],
    [GET => '3pid/getValidated3pid'],
    [POST => '3pid/bind'],
    [POST => 'validate/email/requestToken'],
    [POST => 'validate/email/submitToken'],
    [POST => 'validate/msisdn/requestToken'],
    [POST => 'validate/msisdn/submitToken'],
    [POST => 'store-invite'],
    [POST => 'sign-ed25519'],
    [GET => 'hash_details'],
    [POST => 'lookup'],
);
# Bad input of every kind a route can refuse: a body that is not JSON,
# JSON of the wrong shape, fields of the wrong type, and a malformed
# query string.
my @bodies = ('{"algorithm": ', '[1, 2]', '{"addresses": 5, "sid": [],'
    . ' "client_secret": {}, "email": 1, "mxid": 2, "threepids": 3,'
    . ' "algorithm": 4, "pepper": 5, "user_accepts": 6}', '');
my $mails = mail_count();
for my $rt (@routes) {
	my ($method, $path) = @$rt;
	for my $token (undef, 'nosuch') {
		my $h = defined $token ? { Authorization => "Bearer $token" }
		    : {};
		my $who = defined $token ? 'an unknown token' : 'no token';
		if ($method eq 'GET') {
			is_error(get("$v2/$path?sid=%zz&client_secret", $h), 401,
			    'M_UNAUTHORIZED',
			    "GET $path, $who, a malformed query: 401");
			is_error(get("$v2/$path?x=1&x=2", $h), 401,
			    'M_UNAUTHORIZED',
			    "GET $path, $who, a repeated parameter: 401");
			next;
		}
		for my $body (@bodies) {
			is_error(request('POST', "$v2/$path", $body,
			    { %$h, 'Content-Type' => 'application/json' }),
			    401, 'M_UNAUTHORIZED', "POST $path, $who, body "
			    . ($body eq '' ? 'empty' : "'$body'") . ': 401');
		}
		is_error(request('POST', "$v2/$path?a=%zz", '{', $h), 401,
		    'M_UNAUTHORIZED',
		    "POST $path, $who, a malformed query and body: 401");
	}
}
is(mail_count(), $mails, 'no mail sent');

# With a good token the same input is what is wrong: 400.
my $tok = register_user('authorder');
my $auth = { Authorization => "Bearer $tok" };
is_error(request('POST', "$v2/lookup", '{"algorithm": ', $auth), 400,
    'M_NOT_JSON', 'lookup with a good token and a bad body: 400');
is_error(post("$v2/lookup", { algorithm => 4 }, $auth), 400,
    'M_INVALID_PARAM', 'lookup with a good token and a bad field: 400');
is_error(get("$v2/account?x=%zz", $auth), 400, 'M_INVALID_PARAM',
    'account with a good token and a malformed query: 400');
# A token whose user has not accepted the terms is told that first.
my $hs = $ENV{SIGIL_TEST_HS};
my $reg = post("$v2/account/register", { access_token => "good-authnoterms\@$hs",
    token_type => 'Bearer', matrix_server_name => $hs, expires_in => 60 });
my $noterms = { Authorization => "Bearer $reg->{json}{token}" };
is_error(request('POST', "$v2/lookup", '{"algorithm": ', $noterms), 403,
    'M_TERMS_NOT_SIGNED', 'lookup before the terms with a bad body: 403');
is_error(get("$v2/3pid/getValidated3pid?x=%zz", $noterms), 403,
    'M_TERMS_NOT_SIGNED',
    'getValidated3pid before the terms with a malformed query: 403');

done_testing();
