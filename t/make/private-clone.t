# A clone where only root can enter (root's home is mode 0700, the
# natural place for root's clone): the stack starts from it all the same,
# as make run and make check start it, though PostgreSQL runs as
# postgres and the web servers' children as www-data.  What they must
# reach goes where they reach it (the stack's directory becomes a link
# to one under SIGIL_STACK_PLACE, /var/lib/sigil-stack by default), the
# data stays for the next start, the user's directory keeps its mode,
# Apache serves its JSON error pages, and a stop leaves nothing running.
use strict;
use warnings;
use Cwd qw(abs_path getcwd);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use Test::More;
use lib 't/lib';
use SigilStack;

plan skip_all => 'only as root (otherwise everything runs as the user)'
    if $> != 0;
my $top = getcwd();
my $build = abs_path($ENV{SIGIL_BUILD} // 'build');
-x "$build/sigil-status" or BAIL_OUT("$build/sigil-status is not built");

my $home = tempdir(CLEANUP => 1);
chmod 0700, $home or die;
my $place = tempdir(CLEANUP => 1);
chmod 0755, $place or die;
my $clone = "$home/sigil";
mkdir $clone or die;
mkdir "$clone/t" or die;
system('cp', '-R', "$top/deploy", "$top/sql", "$top/templates",
    "$top/common", $clone) == 0	# common/: gen-routes reads MAX_BODY
    or die;
system('cp', '-R', "$top/t/lib", "$clone/t/") == 0 or die;
our $dir = "$clone/.run";

my ($port, $mail_port) = (free_port(), free_port());
my $url = "http://127.0.0.1:$port";
my $http = HTTP::Tiny->new(timeout => 30);

# stack(COMMAND, FRONT): deploy/sigil-stack COMMAND on the clone's .run,
# with the clone's copy of the script; its output and whether it worked.
sub stack {
	my ($cmd, $front) = @_;
	return sigil_stack("$clone/deploy/sigil-stack", $cmd, $dir, $port,
	    SIGIL_BUILD => $build, SIGIL_STACK_PLACE => $place,
	    SIGIL_MAIL_PORT => $mail_port, SIGIL_FRONT => $front // 'nginx');
}
my $started = 0;
END { stack('stop') if $started }

# The processes whose command line names PATH.
sub running_on {
	my ($path) = @_;
	my @p;
	for my $f (glob('/proc/[0-9]*/cmdline')) {
		open(my $fh, '<', $f) or next;
		my $c = do { local $/; <$fh> } // '';
		next if $f =~ m{^/proc/$$/};
		push @p, $c =~ s/\0/ /gr if index($c, $path) >= 0;
	}
	return @p;
}

# Nothing running on PATH within 10 s (PostgreSQL removes its pid file,
# which pg_ctl stop waits for, a moment before it exits): what is left.
sub left_on {
	my ($path) = @_;
	my @p;
	for (1 .. 100) {
		@p = running_on($path) or last;
		select(undef, undef, undef, 0.1);
	}
	return join("\n", @p);
}

sub key { open(my $fh, '<', "$dir/keys/signing.key") or return '';
	local $/; return <$fh> }

# --- Apache (mod_proxy_fcgi) in front, the first start ----------------
my ($out, $ok) = stack("start", 'apache');
$started = 1;
ok($ok, 'the stack starts from a clone in a 0700 directory') or
    diag($out);
$ok or BAIL_OUT('no stack');
ok(-l $dir, 'its directory is a link now');
my $real = readlink($dir) // '';
like($real, qr{^\Q$place\E/run\.[A-Za-z0-9]+$}, 'to one under the place')
    or diag($real);
is((stat $home)[2] & 07777, 0700, 'the user\'s directory keeps mode 0700');
like($out, qr/cannot reach \Q$dir\E/, 'and the script says where it went');
is(`runuser -u postgres -- stat -c %U '$real/pg'`, "postgres\n",
    'the cluster is postgres\'s, where postgres reaches it');

my $r = $http->get("$url/_matrix/identity/v2");
is("$r->{status} $r->{content}", '200 {}', 'the stack answers');
# A request line over Apache's limit: Apache answers itself, with its
# error page (a file the stack's Apache children read as www-data).
$r = $http->get("$url/_matrix/identity/v2?q=" . ('a' x 20000));
is($r->{status}, 414, 'a request line over Apache\'s limit: its 414');
like($r->{content}, qr/"errcode"\s*:\s*"M_TOO_LARGE"/,
    'as the JSON error page, which www-data can read')
    or diag($r->{content});
my $key = key();
ok(length $key, 'a signing key was made');

($out, $ok) = stack('stop');
$started = 0;
ok($ok, 'the stack stops') or diag($out);
is(left_on($real), '', 'and nothing of it runs');
ok(!IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port"),
    'its port is free');

# --- Again, as a shared host (Apache runs the programs as www-data) ----
($out, $ok) = stack("start", 'apache-cgi');
$started = 1;
ok($ok, 'the stack starts again, as a shared host') or diag($out);
is(readlink($dir), $real, 'on the same data');
is(key(), $key, 'with the same signing key');
$r = $http->get("$url/_matrix/identity/v2");
is("$r->{status} $r->{content}", '200 {}',
    'the programs run as www-data and answer');
$r = $http->post("$url/_matrix/identity/api/v1/validate/email/requestToken",
    { content => '{"client_secret":"abcd1234","email":"a@example.org",'
    . '"send_attempt":1}', headers => { 'Content-Type' => 'application/json' } });
is($r->{status}, 200, 'and read the templates to mail a token')
    or diag($r->{content});
my @mail = glob("$real/mail/new/*.eml");
is(scalar @mail, 1, 'which the mail sink got');
($out, $ok) = stack('stop');
$started = 0;
ok($ok, 'the shared host stops') or diag($out);
is(left_on($real), '', 'and nothing of it runs');

# --- A directory every user reaches stays where it is ------------------
my $plain = "$place/plain";
{
	local $dir = $plain;
	($out, $ok) = stack('start');
	$started = 1;
	ok($ok, 'a stack in a directory every user reaches starts') or
	    diag($out);
	ok(-d $plain && !-l $plain && -f "$plain/pg/PG_VERSION",
	    'and its data stays there');
	is(join(' ', glob("$place/run.*")), $real, 'nothing else under the place');
	($out, $ok) = stack('stop');
	$started = 0;
	ok($ok, 'it stops') or diag($out);
	is(left_on($plain), '', 'and nothing of it runs');
}

done_testing();
