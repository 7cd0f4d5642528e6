# The operator's internal bind API through the real stack, as sydent has
# it: POST /_matrix/identity/internal/bind and /internal/unbind with
# {medium, address, mxid}, on a listener of their own that only the
# operator reaches (sydent/http/httpserver.py:196-226 mounts the two
# servlets under /_matrix/identity/internal/ on the internal listener,
# which sydent/sydent.py:161-166 starts only when configured, bound to
# ::1 by default, sydent/config/__init__.py:89-90; README.rst:161-196).
# Here the front passes them only from the operator's addresses.
#
# A bind there is a validated bind's: the signed association is the
# answer (authenticated_bind_threepid_servlet.py:36-45 returns
# ThreepidBinder.addBinding, sydent/threepid/bind.py:48-121: the address
# normalised, lines 62-63, the association signed, lines 116-121), v1
# lookup, bulk_lookup and v2 lookup find it, python3-signedjson verifies
# it, and an invite stored before it is delivered by onbind (bind.py:
# 94-119).  Unbind removes the binding of that 3PID to that user ID and
# answers {} (authenticated_unbind_threepid_servlet.py:36-47; bind.py:
# 123-136; sydent/db/threepid_associations.py:161-163 matches the mxid).
# A missing field is 400 M_MISSING_PARAMS (sydent/http/servlets/
# __init__.py:145-155); a bad address, medium or user ID is refused.
# From an address the front does not list, the answer is a path's that
# does not exist (404 M_UNRECOGNIZED), and sigil-internal never sees
# the request; the program refuses a client outside internal_api_clients
# the same way (a POST, the one method that does anything).  On a shared host the API is off as shipped (404) until
# the operator lists an address in the .htaccess; lighttpd never routes
# it.
use strict;
use warnings;
use lib 't/lib';
use Digest::SHA qw(sha256);
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64;
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $hs = $ENV{SIGIL_TEST_HS};
my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';
my $int = '/_matrix/identity/internal';
my $key_id = conf_value('signing_key_id');
my $pub = get("$v2/pubkey/$key_id")->{json}{public_key};
my $far = HTTP::Tiny->new(timeout => 30, keep_alive => 0,
    local_address => '127.0.0.2');

# from_far(METHOD, PATH, BODY?): request() from 127.0.0.2, an address the
# stack's fronts do not list as the operator's.
sub from_far {
	my ($method, $path, $body) = @_;
	my $r = $far->request($method, "$ENV{SIGIL_TEST_URL}$path",
	    defined $body ? { content => encode_json($body),
	    headers => { 'Content-Type' => 'application/json' } } : {});
	$r->{json} = eval { decode_json($r->{content}) };
	return $r;
}
sub lookup_mxid {
	my ($medium, $address) = @_;
	my $r = get("$v1/lookup?medium=$medium&address="
	    . ($address =~ s/@/%40/r));
	return $r->{json}{mxid};
}

# Whatever a refused request looks like, it is what an unknown path gets.
my $unknown = post('/_matrix/identity/nothing', {});
is_error($unknown, 404, 'M_UNRECOGNIZED', 'an unknown path: 404');

if (front() eq 'lighttpd-cgi') {
	# lighttpd has no operator's routes: the fallback answers.
	my $r = post("$int/bind", { medium => 'email',
	    address => 'x@example.org', mxid => '@x:example.org' });
	is("$r->{status} $r->{content}", "404 $unknown->{content}",
	    'lighttpd: the internal API is not routed');
	done_testing();
	exit;
}

# On a shared host, off as shipped: every client gets the unknown path's
# 404; the operator turns it on for an address in the .htaccess.
my $htaccess = "$dir/host/public_html/.htaccess";
my $shipped = slurp($htaccess);
END { spew($htaccess, $shipped) if shared_host() && defined $shipped }
if (shared_host()) {
	my $r = post("$int/bind", { medium => 'email',
	    address => 'x@example.org', mxid => '@x:example.org' });
	is("$r->{status} $r->{content}", "404 $unknown->{content}",
	    'shared host: off as shipped, even from 127.0.0.1');
	is(lookup_mxid('email', 'x@example.org'), undef, '... nothing bound');
	my $on = $shipped;
	ok($on =~ s/^#(RewriteCond expr "-R ')192\.0\.2\.7('")$/${1}127.0.0.1$2/m
	    && $on =~ s/^#(RewriteRule \^_matrix\/identity\/ - \[E=SIGIL_OPERATOR:1\])$/$1/m,
	    'the .htaccess has the switch (commented out)');
	spew($htaccess, $on);
}

# Scraped request counts of sigil-internal (no metrics on a shared host).
sub internal_count {
	return 0 if shared_host();
	my ($m) = scrape();
	my $n = 0;
	$n += $m->{$_} for grep { /^sigil_requests_total\{.*internal/ } keys %$m;
	return $n;
}

# An invite stored before the bind.
my $r = post("$v1/store-invite", { medium => 'email',
    address => 'staff@example.org', room_id => '!welcome:example.org',
    sender => '@boss:example.org' });
my $token = $r->{json}{token} or BAIL_OUT("store-invite: $r->{content}");
my $log = "$dir/onbind.log";
my $before = () = split /\n/, slurp($log);

# Bind.
$r = post("$int/bind", { medium => 'email', address => 'Staff@Example.ORG',
    mxid => "\@staff:$hs" });
is($r->{status}, 200, 'internal bind') or diag($r->{content});
is_deeply([sort keys %{ $r->{json} // {} }], [qw(address medium mxid
    not_after not_before signatures ts)],
    'the answer is the signed association, as 3pid/bind\'s');
is($r->{json}{address}, 'staff@example.org', 'the canonical address');
is($r->{json}{mxid}, "\@staff:$hs", 'the user ID');
ok(verify_signed($r->{content}, 'localhost', $key_id, $pub),
    'its signature verifies with python3-signedjson and /pubkey');
ok(!exists $r->{json}{invites}, 'the answer carries no invites');

# The lookups find it.
is(lookup_mxid('email', 'STAFF@example.org'), "\@staff:$hs", 'v1 lookup');
$r = get("$v1/lookup?medium=email&address=staff%40example.org");
ok(verify_signed($r->{content}, 'localhost', $key_id, $pub),
    'v1 lookup\'s association verifies');
$r = post("$v1/bulk_lookup", { threepids => [['email', 'staff@example.org'],
    ['email', 'nobody@example.org']] });
is_deeply($r->{json}{threepids}, [['email', 'staff@example.org',
    "\@staff:$hs"]], 'bulk_lookup');
my $auth = { Authorization => 'Bearer ' . register_user('internal') };
my $pepper = get("$v2/hash_details", $auth)->{json}{lookup_pepper};
my $hash = encode_base64(sha256("staff\@example.org email $pepper"), '')
    =~ tr{+/}{-_}r =~ s/=+$//r;
$r = post("$v2/lookup", { algorithm => 'sha256', pepper => $pepper,
    addresses => [$hash] }, $auth);
is_deeply($r->{json}{mappings}, { $hash => "\@staff:$hs" }, 'v2 lookup');

# The invite is delivered to the user's homeserver.
my $delivered;
ok(wait_for(sub {
	deliver_onbind();
	my @l = split /\n/, slurp($log);
	($delivered) = grep { /\Q$token\E/ } @l[$before .. $#l];
	return defined $delivered;
}, 30), 'onbind delivered the pending invite');
my $body = eval { decode_json($delivered // '{}') } // {};
is($body->{mxid}, "\@staff:$hs", 'to the bound user');
is_deeply([map { $_->{token} } @{ $body->{invites} // [] }], [$token],
    'with the invite stored before the bind');
ok(verify_signed($delivered // '{}', 'localhost', $key_id, $pub),
    'the onbind association verifies');

# msisdn too.
$r = post("$int/bind", { medium => 'msisdn', address => '447700900666',
    mxid => "\@phone:$hs" });
is($r->{status}, 200, 'internal bind of an msisdn') or diag($r->{content});
is(lookup_mxid('msisdn', '447700900666'), "\@phone:$hs", 'found');

# Refused input, nothing bound.
my %good = (medium => 'email', address => 'bad@example.org',
    mxid => '@bad:example.org');
for my $f (qw(medium address mxid)) {
	my %b = %good;
	delete $b{$f};
	is_error(post("$int/bind", \%b), 400, 'M_MISSING_PARAMS',
	    "bind without $f: 400 M_MISSING_PARAMS");
	is_error(post("$int/unbind", \%b), 400, 'M_MISSING_PARAMS',
	    "unbind without $f: 400 M_MISSING_PARAMS");
}
for ([ { medium => 'carrier-pigeon' }, 400, 'M_UNRECOGNIZED', 'an unknown medium' ],
    [ { medium => 7 }, 400, 'M_INVALID_PARAM', 'a medium that is no string' ],
    [ { address => 'not an address' }, 400, 'M_INVALID_EMAIL', 'a bad email address' ],
    [ { address => "a\@b.org\r\nBcc: x\@y.org" }, 400, 'M_INVALID_EMAIL',
      'an address with CR LF' ],
    [ { medium => 'msisdn', address => '+44 7700' }, 400, 'M_INVALID_ADDRESS',
      'a bad msisdn' ],
    [ { mxid => 'bad' }, 400, 'M_INVALID_PARAM', 'a bad user ID' ],
    [ { mxid => '@bad:exa mple.org' }, 400, 'M_INVALID_PARAM',
      'a user ID with a bad server name' ]) {
	my ($over, $st, $code, $what) = @$_;
	is_error(post("$int/bind", { %good, %$over }), $st, $code,
	    "bind: $what: $st $code");
	is_error(post("$int/unbind", { %good, %$over }), $st, $code,
	    "unbind: $what: $st $code");
}
is_error(post("$int/bind", '{"medium":'), 400, 'M_NOT_JSON',
    'a body that is not JSON: 400 M_NOT_JSON');
is_error(post("$int/bind", '[]'), 400, 'M_BAD_JSON',
    'a body that is not an object: 400 M_BAD_JSON');
is_error(get("$int/bind"), 405, 'M_UNRECOGNIZED', 'GET bind: 405');
is_error(get("$int/unbind"), 405, 'M_UNRECOGNIZED', 'GET unbind: 405');
is(request('OPTIONS', "$int/bind")->{status}, 200, 'OPTIONS: 200');
is_error(post("$int/other", \%good), 404, 'M_UNRECOGNIZED',
    'another path under internal/: 404');
is(psql("SELECT count(*) FROM bindings WHERE mxid = '\@bad:example.org'"
    . " OR address LIKE 'bad%'"), 0, 'nothing was bound by refused input');

# From an address the front does not list: a path's that does not
# exist, and sigil-internal never sees it.
my $seen = internal_count();
ok($seen > 0, "sigil-internal counts what it serves ($seen so far)")
    unless shared_host();
for my $path ("$int/bind", "$int/unbind", "$int/other") {
	for my $m (qw(POST GET OPTIONS)) {
		$r = from_far($m, $path, $m eq 'POST' ? { medium => 'email',
		    address => 'far@example.org', mxid => '@far:example.org' }
		    : undef);
		is_error($r, 404, 'M_UNRECOGNIZED',
		    "$m $path from 127.0.0.2: 404 M_UNRECOGNIZED");
		is($r->{content}, $unknown->{content},
		    '... the very answer of an unknown path');
	}
}
is(lookup_mxid('email', 'far@example.org'), undef, 'nothing bound from there');
is(from_far('POST', "$int/unbind", { medium => 'email',
    address => 'staff@example.org', mxid => "\@staff:$hs" })->{status}, 404,
    'nor unbound');
is(lookup_mxid('email', 'staff@example.org'), "\@staff:$hs",
    '... the binding is still there');
is(internal_count(), $seen, 'sigil-internal counted none of them')
    unless shared_host();

# Unbind: another user's binding of the address is not touched; the
# bound user's goes.
$r = post("$int/unbind", { medium => 'email', address => 'staff@example.org',
    mxid => '@someone.else:example.org' });
is("$r->{status} $r->{content}", '200 {}', 'unbind for another user: {}');
is(lookup_mxid('email', 'staff@example.org'), "\@staff:$hs",
    '... and the binding stays');
$r = post("$int/unbind", { medium => 'email', address => 'STAFF@example.org',
    mxid => "\@staff:$hs" });
is("$r->{status} $r->{content}", '200 {}', 'internal unbind: {}');
is(get("$v1/lookup?medium=email&address=staff%40example.org")->{content},
    '{}', 'v1 lookup no longer finds it');
$r = post("$v1/bulk_lookup", { threepids => [['email', 'staff@example.org']] });
is_deeply($r->{json}{threepids}, [], 'nor bulk_lookup');
$r = post("$v2/lookup", { algorithm => 'sha256', pepper => $pepper,
    addresses => [$hash] }, $auth);
is_deeply($r->{json}{mappings}, {}, 'nor v2 lookup');
$r = post("$int/unbind", { medium => 'email', address => 'staff@example.org',
    mxid => "\@staff:$hs" });
is("$r->{status} $r->{content}", '200 {}', 'unbind again: {}');

# The program itself: a client outside internal_api_clients (loopback
# by default) gets the unknown path's answer, as plain CGI.
SKIP: {
	skip('the build is the stack\'s on this host', 4) if shared_host();
	my $conf = "$dir/internal-cgi.conf";
	my $cgi = sub {
		my ($addr, $extra) = @_;
		spew($conf, join('', grep { !/^\s*(metrics_dir|internal_api_clients)\s*=/ }
		    split /^/m, slurp("$dir/sigil.conf")) . ($extra // ''));
		my $b = encode_json({ medium => 'email',
		    address => 'cgi@example.org', mxid => '@cgi:example.org' });
		return cgi_exec([build_dir() . '/sigil-internal', '-c', $conf],
		    { REQUEST_METHOD => 'POST', QUERY_STRING => '',
		      DOCUMENT_URI => "$int/bind", REQUEST_URI => "$int/bind",
		      CONTENT_TYPE => 'application/json',
		      CONTENT_LENGTH => length($b), REMOTE_ADDR => $addr },
		    $b, "$dir/logs/sigil-internal-cgi.log");
	};
	is_error($cgi->('192.0.2.1'), 404, 'M_UNRECOGNIZED',
	    'the program: a client outside internal_api_clients (default '
	    . 'loopback): 404 M_UNRECOGNIZED');
	is_error($cgi->('127.0.0.1', "internal_api_clients = 192.0.2.0/24\n"),
	    404, 'M_UNRECOGNIZED',
	    'loopback, when internal_api_clients lists only others: 404');
	is(lookup_mxid('email', 'cgi@example.org'), undef, 'nothing bound');
	is($cgi->('192.0.2.1', "internal_api_clients = 192.0.2.0/24\n")->{status},
	    200, 'a client internal_api_clients lists: bound');
}

done_testing();
