# A shared host (make check's apache-cgi, apache-fcgid and lighttpd-cgi
# stages): the programs run from the document root as deploy/shared-hosting
# installs them (lighttpd: deploy/lighttpd-sigil.conf on the same
# folder), and nothing but their answers leaves it: not the configuration,
# a key or a template kept beside them, not a program's own file, not a
# listing.  Under mod_fcgid Apache keeps the processes between requests;
# under mod_cgi and lighttpd's none outlives its request.  All run as the
# web server's unprivileged user.
use strict;
use warnings;
use lib 't/lib';
use File::Copy qw(copy);
use HTTP::Tiny;
use JSON::PP ();
use Test::More;
use SigilTest;

plan skip_all => 'only on a shared host (SIGIL_FRONT=apache-cgi, '
    . 'apache-fcgid or lighttpd-cgi)' unless shared_host();
my $lighttpd = front() eq 'lighttpd-cgi';

my $dir = stack_dir();
my $progs = "$dir/host/public_html/sigil";

# What an operator might keep beside the programs.
copy("$dir/keys/signing.key", "$progs/signing.key") or die;
mkdir "$progs/templates";
copy('templates/default/verification_template.eml',
    "$progs/templates/verification_template.eml") or die;
spew("$progs/.pgpass", "localhost:5432:sigil:sigil:secretpassword\n");

for my $path (qw(/sigil/sigil.conf /sigil/signing.key /sigil/.pgpass
    /sigil/templates/verification_template.eml /sigil/sigil-status.cgi
    /sigil/sigil-lookup.cgi /sigil/ /sigil /sigil/errors/404.json
    /sigil/.htaccess /sigil/templates/)) {
	my $r = get($path);
	is_error($r, 403, 'M_FORBIDDEN', "$path is not served");
	unlike($r->{content}, qr/database|PRIVATE|secretpassword|ed25519|ELF/,
	    "nor any of its content");
}
is_error(get('/sigil/sigil-status.cgi/_matrix/identity/v2'), 403,
    'M_FORBIDDEN', 'nor a program reached with a path after it');

# The routes still answer through the same programs.
is(get('/_matrix/identity/v2')->{content}, '{}', 'the routes answer');
is_error(get('/nosuch'), 404, 'M_UNRECOGNIZED',
    'a path outside sigil: the server\'s 404 as Matrix JSON');
is_error(get('/.htaccess'), $lighttpd ? 404 : 403,
    $lighttpd ? 'M_UNRECOGNIZED' : 'M_FORBIDDEN',
    'nor a file of the document root');

# Bodies: one over the cap is refused before it reaches a program (under
# mod_fcgid too, which would pass it on empty); so is a chunked one,
# whose length neither Apache module would give the program (lighttpd
# reads it whole and gives its length: it is answered).
my $big = post('/_matrix/identity/api/v1/bulk_lookup',
    '{"threepids":[]}' . (' ' x (1024 * 1024)));
is_front_error($big, 413, 'M_TOO_LARGE', 'a body over 1 MiB: 413, not run');
my @chunks = ('{"threepids":', '[]}');
my $chunked = HTTP::Tiny->new(timeout => 30)->request('POST',
    "$ENV{SIGIL_TEST_URL}/_matrix/identity/api/v1/bulk_lookup",
    { headers => { 'Content-Type' => 'application/json' },
      content => sub { shift @chunks } });
$chunked->{json} = eval { JSON::PP::decode_json($chunked->{content}) };
if ($lighttpd) {
	is($chunked->{status}, 200, 'a chunked body: answered')
	    or diag($chunked->{content});
	is_deeply($chunked->{json}, { threepids => [] },
	    'by the program, with the whole body');
} else {
	is_error($chunked, 411, 'M_UNKNOWN', 'a chunked body: 411, not run');
}

# The libraries the bundle put beside the programs are the ones loaded.
my $ldd = `ldd $progs/sigil-lookup.cgi`;
like($ldd, qr{libpq\.so\.5 => \Q$progs\E/lib/libpq\.so\.5},
    'the programs load the uploaded libraries (RPATH $ORIGIN/lib)');
like($ldd, qr{libc\.so\.6 => /}, 'but the host\'s C library');
unlike($ldd, qr/not found/, 'and find every one');
like(`ldd $progs/sigil-notify`, qr{libcurl\.so\.4 => \Q$progs\E/lib/},
    'sigil-notify too');

# Who runs the programs, and for how long.
# (this stack's only: another may run beside it, make bench's)
sub cgi_procs {
	return grep { /\Q$progs\E\/sigil-\w+\.cgi/ } `ps -eo user=,args=`;
}
get('/_matrix/identity/v2/pubkey/ed25519:nosuch');
if (front() eq 'apache-fcgid') {
	my @p = cgi_procs();
	ok(scalar(grep { /sigil-pubkey\.cgi/ } @p) >= 1,
	    'mod_fcgid keeps the program running between requests');
	ok(!(grep { !/^www-data\s/ } @p), 'as www-data') or diag(@p);
} else {
	ok(wait_for(sub { !cgi_procs() }, 10),
	    'plain CGI: no program outlives its request');
	my $who = psql("SELECT count(*) FROM pg_stat_activity "
	    . "WHERE application_name LIKE 'sigil-%'");
	is($who, 0, 'nor its database connection');
}

# A change to the configuration (README "Shared hosting", step 4):
# mod_fcgid's processes read it once, at start; touching the program does
# not reach them, replacing its file (a new inode, a new process class)
# does.  enable_v1 shows which configuration answered.
if (front() eq 'apache-fcgid') {
	my $conf = "$progs/sigil.conf";
	my $before = slurp($conf);
	my $v1 = '/_matrix/identity/api/v1';
	my $replace = sub {
		my $f = "$progs/sigil-status.cgi";
		copy($f, "$f.new") or die "$f: $!";
		chmod(0755, "$f.new") or die "$f.new: $!";
		rename("$f.new", $f) or die "$f: $!";
	};
	is(get($v1)->{status}, 200, 'v1 served');
	(my $off = $before) =~ s/^enable_v1\s*=.*\n//mg;
	spew($conf, $off . "enable_v1 = false\n");
	is(get($v1)->{status}, 200,
	    'a changed configuration: the running process still has the old');
	utime(undef, undef, "$progs/sigil-status.cgi") or die "utime: $!";
	is(get($v1)->{status}, 200, 'a touch of the program does not reach it');
	$replace->();
	is(get($v1)->{status}, 404,
	    'the program\'s file replaced: a new process, the new configuration');
	spew($conf, $before);
	$replace->();
	is(get($v1)->{status}, 200, 'and back');
}

done_testing();
