# The API roots, versions, CORS and OPTIONS, and what every unknown path
# or wrong method answers, through the real nginx and spawn-fcgi.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SigilTest;

my $r = get('/_matrix/identity/v2');
is($r->{status}, 200, 'GET /_matrix/identity/v2 is 200');
is($r->{content}, '{}', 'and answers {}');
is($r->{headers}{'content-type'}, 'application/json', 'as JSON');
is($r->{headers}{'access-control-allow-origin'}, '*', 'with CORS');
like($r->{headers}{'access-control-allow-headers'}, qr/Authorization/,
    'CORS allows the Authorization header');

$r = get('/_matrix/identity/api/v1');
is($r->{status}, 200, 'GET /_matrix/identity/api/v1 is 200');
is($r->{content}, '{}', 'and answers {}');

$r = get('/_matrix/identity/versions');
is($r->{status}, 200, 'GET /_matrix/identity/versions is 200');
my @v = @{ $r->{json}{versions} // [] };
ok((grep { $_ eq 'v1.19' } @v) && (grep { $_ eq 'r0.3.0' } @v) &&
    (grep { $_ eq 'v1.1' } @v), 'versions lists r0.3.0, v1.1 and v1.19');
ok(!(grep { !/^(r\d+\.\d+\.\d+|v\d+\.\d+)$/ } @v),
    'every version is vX.Y or rX.Y.Z');

$r = request('OPTIONS', '/_matrix/identity/v2/pubkey/isvalid', undef,
    { Origin => 'https://app.element.io',
      'Access-Control-Request-Method' => 'GET' });
is($r->{status}, 200, 'OPTIONS pre-flight on a known path is 200');
like($r->{headers}{'access-control-allow-methods'} // '', qr/GET.*POST/,
    'pre-flight allows GET and POST');

is_error(get('/_matrix/identity/v2/nonexistent'), 404, 'M_UNRECOGNIZED',
    'unknown v2 path: 404 M_UNRECOGNIZED');
is_error(get('/_matrix/identity/api/v1/nonexistent/deeper'), 404,
    'M_UNRECOGNIZED', 'unknown v1 path: 404 M_UNRECOGNIZED');
is_error(get('/_matrix/identity/v3'), 404, 'M_UNRECOGNIZED',
    'unknown API version: 404 M_UNRECOGNIZED');
is_error(get('/somewhere/else'), 404, 'M_UNRECOGNIZED',
    'a path outside /_matrix/identity: nginx answers 404 as JSON');
is_error(get('/'), 404, 'M_UNRECOGNIZED', '/ is not ours either');
is_error(post('/_matrix/identity/v2', {}), 405, 'M_UNRECOGNIZED',
    'POST on the v2 root: 405 M_UNRECOGNIZED');
is_error(request('DELETE', '/_matrix/identity/versions'), 405,
    'M_UNRECOGNIZED', 'DELETE on versions: 405');
is_error(request('PATCH', '/_matrix/identity/api/v1'), 405,
    'M_UNRECOGNIZED', 'an unknown method on a known path: 405');
is_error(get('/_matrix/identity/v2?a=%zz'), 400, 'M_INVALID_PARAM',
    'a malformed query string: 400 M_INVALID_PARAM');
is_error(get('/_matrix/identity/v2?a=1&a=2'), 400, 'M_INVALID_PARAM',
    'a repeated query parameter: 400 M_INVALID_PARAM');

# The body cap is nginx's (client_max_body_size) and sigil's (MAX_BODY).
$r = post('/_matrix/identity/v2', 'x' x (1024 * 1024 + 1));
is_front_error($r, 413, 'M_TOO_LARGE', 'a body over 1 MiB: 413 M_TOO_LARGE');
$r = post('/_matrix/identity/v2', '{}');
is_error($r, 405, 'M_UNRECOGNIZED', 'a small body reaches the program');

my $long = 'a' x 9000;
$r = get("/_matrix/identity/v2?q=$long");
is_error($r, 413, 'M_TOO_LARGE', 'a query string over MAX_QUERY: 413');
SKIP: {
	skip 'a shared host\'s Apache refuses a request line over its limit '
	    . 'before any .htaccess applies (its own 414 page); lighttpd '
	    . 'answers 431 (below)', 1 if shared_host();
	$r = get('/_matrix/identity/v2?q=' . ('a' x 20000));
	is_error($r, 414, 'M_TOO_LARGE',
	    'a request line over nginx\'s buffers: 414 as JSON');
}
if (front() eq 'lighttpd-cgi') {
	$r = get('/_matrix/identity/v2?q=' . ('a' x 20000));
	is_front_error($r, 431, 'M_TOO_LARGE',
	    'a request line over lighttpd\'s max-request-field-size: 431');
}

done_testing();
