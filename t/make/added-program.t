# A program added as README "Adding a program" says, its C file and one
# row of deploy/programs, then "make routes" and "make": on a copy of
# the tree, a tiny program with one route of its own (the project's
# app and router, cgi/NAME.c as any other) is built, and a stack with
# nginx, then Apache (mod_proxy_fcgi), then a shared host (Apache
# running the programs as CGI from the .htaccess) sends its route to it,
# while the other routes still reach theirs.
use strict;
use warnings;
use Cwd qw(abs_path getcwd);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP ();
use Test::More;
use lib 't/lib';
use SigilStack;

my $top = getcwd();
my $build = abs_path($ENV{SIGIL_BUILD} // 'build');
-x "$build/sigil-status" or BAIL_OUT("$build/sigil-status is not built");

# The copy: the sources, and the build with its times kept, so that make
# builds only what the addition changes (the program, and supervise,
# whose known[] "make routes" rewrites).  A tempdir is 0700: the
# stack's users (postgres, www-data) must reach it.
my $tmp = tempdir(CLEANUP => 1);
chmod 0755, $tmp or die;
my $copy = "$tmp/sigil";
mkdir $copy or die;
mkdir "$copy/t" or die;
system('cp', '-a', (map { "$top/$_" } qw(Makefile cgi common deploy sql
    templates)), $copy) == 0 or die 'cp';
system('cp', '-a', "$top/t/lib", "$top/t/tap.h", "$copy/t/") == 0 or die 'cp';
system('cp', '-a', $build, "$copy/build") == 0 or die 'cp build';

# 1. Its C file: one route, GET v2/hello, answered by the router.
open(my $c, '>', "$copy/cgi/hello.c") or die;
print $c <<'C';
/* A program added by a test (t/make/added-program.t). */
#include "app.h"
#include "fcgi.h"
#include "req.h"
#include "resp.h"

/* GET v2/hello: {"hello":"added"}. */
static void
h_hello(struct ctx *c, const struct req *r, struct resp *rs)
{
	(void)c;
	(void)r;
	resp_json_text(rs, 200, "{\"hello\":\"added\"}");
}

static const struct route routes[] = {
	{ METHOD_GET, API_V2, "hello", h_hello, AUTH_NONE },
};

static const struct app hello_app = {
	"sigil-hello", routes, sizeof(routes) / sizeof(routes[0]), { 0 },
};

int
main(int argc, char *argv[])
{
	return fcgi_main(&hello_app, argc, argv);
}
C
close $c or die;

# 2. One row.
open(my $t, '>>', "$copy/deploy/programs") or die;
print $t "hello\t1\tno\tv2/hello\n";
close $t or die;

# 3. make routes, then make.  The build's flags are its own: a
# sanitizer build (make sanitize) links the program the same way.
# Nothing of an outer make's flags or jobs reaches this one.
delete @ENV{qw(MAKEFLAGS MFLAGS MAKELEVEL)};
my @flags = ('INSTALL_DEPS=true', 'BUILD=build');
if (`nm -A $build/libsigil.a 2>/dev/null` =~ /__asan_/) {
	push @flags, 'SANITIZE=-fsanitize=address,undefined '
	    . '-fno-sanitize-recover=all -fno-omit-frame-pointer',
	    'CFLAGS=-O1 -g';
}
sub slurp { open(my $fh, '<', $_[0]) or die "$_[0]: $!"; local $/; <$fh> }
ok(!grep({ /sigil[-_]hello/ } map { slurp("$copy/deploy/$_") }
    qw(nginx-sigil-locations.conf.in apache-sigil.conf.in
    shared-hosting/.htaccess)), 'no front routes it before make routes');
my $out = `cd '$copy' && make routes 2>&1`;
is($?, 0, 'make routes') or diag($out);
$out = `cd '$copy' && make @{[map { "'$_'" } @flags]} all 2>&1`;
is($?, 0, 'make builds it') or diag($out);
unlike($out, qr{common/\w+\.o\b}, 'and only what changed') or diag($out);
ok(-x "$copy/build/sigil-hello", 'build/sigil-hello');
is(`'$copy/build/sigil-hello' --routes`, "/_matrix/identity/v2/hello\n",
    'its own route table');
is(`sh '$copy/deploy/gen-routes' -p /_matrix/identity/v2/hello`, "hello\n",
    'the table sends its route to it');

# 4. A stack on the copy under each front.
my ($port, $mail_port) = (free_port(), free_port());
my $dir = "$tmp/run";
my $url = "http://127.0.0.1:$port/_matrix/identity";
my $http = HTTP::Tiny->new(timeout => 30);

# stack(COMMAND, FRONT): the copy's deploy/sigil-stack COMMAND; its
# output and whether it worked.
sub stack {
	my ($cmd, $front) = @_;
	return sigil_stack("$copy/deploy/sigil-stack", $cmd, $dir, $port,
	    SIGIL_BUILD => "$copy/build", SIGIL_WORKERS => 1,
	    SIGIL_MAIL_PORT => $mail_port, SIGIL_FRONT => $front // 'nginx');
}
my $started = 0;
END { stack('stop') if $started }

for my $front (qw(nginx apache apache-cgi)) {
	my ($o, $ok) = stack('start', $front);
	$started = 1;
	ok($ok, "$front: the stack starts") or diag($o);
	my $r = $http->get("$url/v2/hello");
	is("$r->{status} $r->{content}", '200 {"hello":"added"}',
	    "$front: v2/hello reaches the added program");
	$r = $http->get("$url/v2/hello/x");
	my $j = eval { JSON::PP::decode_json($r->{content}) } // {};
	is("$r->{status} " . ($j->{errcode} // $r->{content}),
	    '404 M_UNRECOGNIZED', "$front: nothing under it (an exact route)");
	$r = $http->get("$url/v2");
	is("$r->{status} $r->{content}", '200 {}',
	    "$front: the other programs still answer theirs");
	($o, $ok) = stack('stop');
	$started = 0;
	ok($ok, "$front: the stack stops") or diag($o);
}

done_testing();
