# The request path as a CGI server that maps a path prefix to a program
# gives it (RFC 3875 4.1.13 and 4.1.5): SCRIPT_NAME, the part that named
# the program, then PATH_INFO, the rest (Apache's ScriptAlias, lighttpd's
# alias, any CGI server without a rewrite).  The real programs run as
# plain CGI here, and under FastCGI through cgi-fcgi, with the shapes
# such servers pass; DOCUMENT_URI (nginx) and REDIRECT_URL (Apache after
# a rewrite) still come first when the server sets them.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $key_id = conf_value('signing_key_id');	# ed25519:a_dev

# The stack's configuration, less its metrics (these processes run as
# root, and would make the counter files the workers write).
my $conf = "$dir/cgi-path.conf";
spew($conf, join '', grep { !/^\s*metrics_dir\s*=/ } split /^/m,
    slurp("$dir/sigil.conf"));

# cgi(PROGRAM, ENV): a GET run by sigil-PROGRAM as plain CGI, with only
# the meta-variables ENV names for the path.
sub cgi {
	my ($prog, $env) = @_;
	return cgi_exec([build_dir() . "/sigil-$prog", '-c', $conf],
	    { REQUEST_METHOD => 'GET', QUERY_STRING => '',
	      REMOTE_ADDR => '127.0.0.1', %$env },
	    undef, "$dir/logs/sigil-cgi-path.log");
}

my $r = cgi('status', { SCRIPT_NAME => '/_matrix/identity',
    PATH_INFO => '/v2' });
is($r->{status}, 200, 'SCRIPT_NAME /_matrix/identity, PATH_INFO /v2: 200')
    or diag($r->{content});
is($r->{content}, '{}', 'the v2 root answers');
is($r->{headers}{'content-type'}, 'application/json', 'as JSON');

$r = cgi('status', { SCRIPT_NAME => '/_matrix/identity',
    PATH_INFO => '/versions' });
ok(ref $r->{json}{versions} eq 'ARRAY', 'versions under the same program');
$r = cgi('status', { SCRIPT_NAME => '/_matrix/identity/v2' });
is($r->{content}, '{}', 'SCRIPT_NAME alone (no PATH_INFO): still routed');
$r = cgi('status', { SCRIPT_NAME => '/_matrix/identity/api/v1',
    PATH_INFO => '' });
is($r->{content}, '{}', 'an empty PATH_INFO is none');
$r = cgi('status', { SCRIPT_NAME => '', PATH_INFO => '/_matrix/identity/v2' });
is($r->{content}, '{}', 'an empty SCRIPT_NAME (the program at the root)');
is_error(cgi('status', { SCRIPT_NAME => '/_matrix/identity',
    PATH_INFO => '/v2/nonexistent' }), 404, 'M_UNRECOGNIZED',
    'an unknown path under the prefix: 404 M_UNRECOGNIZED');
is_error(cgi('status', { SCRIPT_NAME => '/_matrix/identity',
    PATH_INFO => '' }), 404, 'M_UNRECOGNIZED',
    'the prefix alone is no API: 404');
is_error(cgi('status', { SCRIPT_NAME => '/_matrix/identity/v',
    PATH_INFO => '2' }), 404, 'M_UNRECOGNIZED',
    'a PATH_INFO without its leading / is not glued on: 404');
is_error(cgi('status', {}), 404, 'M_UNRECOGNIZED', 'no path at all: 404');

# The server names the path itself: that wins over the RFC 3875 pair.
$r = cgi('status', { DOCUMENT_URI => '/_matrix/identity/versions',
    SCRIPT_NAME => '/_matrix/identity', PATH_INFO => '/v2' });
ok(ref $r->{json}{versions} eq 'ARRAY', 'DOCUMENT_URI comes first');
$r = cgi('status', { REDIRECT_URL => '/_matrix/identity/versions',
    SCRIPT_NAME => '/sigil/sigil-status.cgi', PATH_INFO => '/v2' });
ok(ref $r->{json}{versions} eq 'ARRAY', 'then REDIRECT_URL');

# A path argument in PATH_INFO, as the server decoded it; an escape left
# in it (the client sent %253A) is not decoded a second time, as with
# DOCUMENT_URI.
$r = cgi('pubkey', { SCRIPT_NAME => '/_matrix/identity/v2/pubkey',
    PATH_INFO => "/$key_id" });
is($r->{status}, 200, 'pubkey/{keyId} with the key id in PATH_INFO')
    or diag($r->{content});
like($r->{json}{public_key} // '', qr/^[A-Za-z0-9+\/]{43}$/,
    'its public key');
(my $escaped = $key_id) =~ s/:/%3A/;
my $once = cgi('pubkey', { SCRIPT_NAME => '/_matrix/identity/v2/pubkey',
    PATH_INFO => "/$escaped" });
is_error($once, 404, 'M_NOT_FOUND', 'an escape in PATH_INFO stays one');
my $named = cgi('pubkey', {
    DOCUMENT_URI => "/_matrix/identity/v2/pubkey/$escaped" });
is($once->{content}, $named->{content}, 'as it does in DOCUMENT_URI');

# Too long once joined, though each part is under MAX_PATH (1024).
my $half = 'a' x 600;
is_error(cgi('status', { SCRIPT_NAME => "/_matrix/identity/v2/$half",
    PATH_INFO => "/$half" }), 413, 'M_TOO_LARGE',
    'SCRIPT_NAME + PATH_INFO over MAX_PATH: 413');

# The same under FastCGI (nginx and Apache pass both too).
my $w = start_worker('status', slurp($conf));
$r = cgi_exec(['cgi-fcgi', '-bind', '-connect', $w->{sock}],
    { REQUEST_METHOD => 'GET', QUERY_STRING => '',
      SCRIPT_NAME => '/_matrix/identity', PATH_INFO => '/v2' });
is($r->{content}, '{}', 'FastCGI: SCRIPT_NAME + PATH_INFO routed too');
$r = cgi_exec(['cgi-fcgi', '-bind', '-connect', $w->{sock}],
    { REQUEST_METHOD => 'GET', QUERY_STRING => '',
      SCRIPT_NAME => '/_matrix/identity', PATH_INFO => '/v3' });
is_error($r, 404, 'M_UNRECOGNIZED', 'FastCGI: an unknown one is 404');
stop_worker($w);

unlike(slurp("$dir/logs/sigil-cgi-path.log"), qr/\berror\b/i,
    'the CGI runs logged no error');

done_testing();
