# A worker refuses a PostgreSQL password file that other users can read:
# the config's passfile= (in database or database_replica), $PGPASSFILE,
# or the default ~/.pgpass, as libpq would pick it.  Refused at start
# with one plain log line naming the file, its mode and the fix, and -t
# says the same; 0600 is accepted.  libpq itself would ignore such a
# file (PostgreSQL's libpq docs, "The Password File": "the permissions
# on .pgpass must disallow any access to world or group") and the
# connection would fail later for want of a password.  Under nginx the
# stack's programs run as FastCGI workers; on a shared host
# (apache-cgi) Apache runs them per request with the configuration
# beside them.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $build = build_dir();
my $home = "$dir/passfile-33";
mkdir $home or die "$home: $!";
my $pass = "$home/pgpass";
# The stack's database asks for no password: a line that matches
# nothing the workers connect to, so that only the file's mode matters.
spew($pass, "nosuchhost:5432:nosuchdb:nosuchuser:secretpassword\n");
my $said = qr/database: password file \Q$pass\E: other users can read or change it \(mode 644\): chmod 600/;

if (shared_host()) {
	plan skip_all => 'apache-cgi only among the shared hosts'
	    unless front() eq 'apache-cgi';
	my $conf = "$dir/host/public_html/sigil/sigil.conf";
	my $orig = slurp($conf);
	END { spew($conf, $orig) if defined $orig && -f $conf }
	my $webuser = getpwnam('www-data');
	chown $webuser, -1, $pass if $> == 0 && defined $webuser;
	(my $loose = $orig) =~ s{^(database = .*)$}{$1 passfile=$pass}m
	    or die 'no database line';
	chmod 0644, $pass or die;
	spew($conf, $loose);
	my $r = get(api('v1', 'lookup') . '?medium=email&address=a@example.org');
	is_error($r, 500, 'M_UNKNOWN',
	    'passfile 0644: the CGI program refuses to start, Apache '
	    . 'answers its JSON 500');
	ok(wait_for(sub { program_log('lookup') =~ $said }, 20),
	    'the program logs why, naming the file, its mode and the fix')
	    or diag(program_log('lookup'));
	chmod 0600, $pass or die;
	$r = get(api('v1', 'lookup') . '?medium=email&address=a@example.org');
	is($r->{status}, 200, 'passfile 0600: the same request is answered')
	    or diag($r->{content});
	spew($conf, $orig);
	done_testing();
	exit 0;
}

my $conf = slurp("$dir/sigil.conf");
(my $with = $conf) =~ s{^(database = .*)$}{$1 passfile=$pass}m
    or die 'no database line';
$with = join '', grep { !/^\s*metrics_dir\s*=/ } split /^/m, $with;
my $file = "$home/sigil.conf";
spew($file, $with);

# check(PROGRAM, ENV...): sigil-PROGRAM -t on the file with the
# environment changed by ENV (a name to undef: removed), as (status,
# output).
sub check {
	my ($prog, %env) = @_;
	my @unset = map { "-u $_" } grep { !defined $env{$_} } sort keys %env;
	my @set = map { "$_='$env{$_}'" } grep { defined $env{$_} }
	    sort keys %env;
	my $out = `env @unset @set $build/sigil-$prog -t -c '$file' 2>&1`;
	return ($? >> 8, $out);
}

chmod 0644, $pass or die;
my ($rc, $out) = check('lookup');
is($rc, 1, 'sigil-lookup -t with a passfile of mode 0644 fails');
like($out, qr/error: $said/, 'saying why, with the file, mode and fix')
    or diag($out);
unlike($out, qr/all it needs is in order/, 'and not that all is well');

chmod 0640, $pass or die;
($rc, $out) = check('lookup');
is($rc, 1, 'mode 0640 (a group may read) is refused too: libpq would '
    . 'ignore the file');
like($out, qr/\(mode 640\)/, 'saying its mode') or diag($out);

chmod 0600, $pass or die;
($rc, $out) = check('lookup');
is($rc, 0, 'mode 0600: sigil-lookup -t passes') or diag($out);
unlike($out, qr/password file/, 'saying nothing of the file');

# The file named by $PGPASSFILE, with no passfile= in the config.
spew($file, join '', grep { !/^\s*metrics_dir\s*=/ } split /^/m, $conf);
chmod 0644, $pass or die;
($rc, $out) = check('bind', PGPASSFILE => $pass);
is($rc, 1, 'a $PGPASSFILE of mode 0644 fails sigil-bind -t');
like($out, $said, 'with the same line') or diag($out);
# The default, ~/.pgpass, when neither names one.
my $fakehome = "$home/home";
mkdir $fakehome or die;
spew("$fakehome/.pgpass", "nosuchhost:5432:x:y:z\n");
chmod 0604, "$fakehome/.pgpass" or die;
($rc, $out) = check('bind', HOME => $fakehome, PGPASSFILE => undef);
is($rc, 1, 'a ~/.pgpass that others can read fails too');
like($out, qr/password file \Q$fakehome\E\/\.pgpass: .*\(mode 604\)/,
    'naming it') or diag($out);
# A password in the connection string: libpq reads no passfile then.
(my $pw = $conf) =~ s{^(database = .*)$}{$1 password=unused}m;
spew($file, join '', grep { !/^\s*metrics_dir\s*=/ } split /^/m, $pw);
($rc, $out) = check('bind', PGPASSFILE => $pass);
is($rc, 0, 'with password= in the connection string the file is not '
    . 'read, and not checked') or diag($out);
# The replica's connection string too, in a program that reads from it.
(my $rep = $conf) =~ s{^(database = (.*))$}{$1\ndatabase_replica = $2 passfile=$pass}m;
spew($file, join '', grep { !/^\s*metrics_dir\s*=/ } split /^/m, $rep);
($rc, $out) = check('lookup', PGPASSFILE => undef);
is($rc, 1, 'the replica\'s passfile 0644 fails sigil-lookup -t');
like($out, $said, 'naming it') or diag($out);

# At start: a FastCGI worker given the loose file does not serve, and
# says why.  (spawn-fcgi reports a child that exits at once, and not
# one that takes longer, under ASan or valgrind: its process is
# watched instead.)
spew($file, $with);
my $log = "$home/worker.log";
system("spawn-fcgi -s '$home/w.sock' -F 1 -P '$home/w.pid' -- "
    . "/bin/sh -c 'exec \"\$0\" -c \"\$1\" 2>>\"\$2\"' "
    . "'$build/sigil-lookup' '$file' '$log' >/dev/null 2>&1");
ok(wait_for(sub { slurp($log) =~ qr/error: $said/ }, 30),
    'a worker with a passfile of mode 0644 logs the refusal at start')
    or diag(slurp($log));
ok(wait_for(sub {
	my ($p) = slurp("$home/w.pid") =~ /(\d+)/;
	!defined $p || !running($p);
}, 30), 'and exits');

chmod 0600, $pass or die;
my $w = start_worker('lookup', $with);
my $r;
ok(wait_for(sub {
	$r = fcgi_request($w, 'GET',
	    '/_matrix/identity/api/v1/lookup?medium=email&address=a@example.org');
	$r->{status} == 200;
}, 30), 'with the file 0600 a worker starts and answers a lookup')
    or diag("$r->{status} $r->{content}: " . slurp($w->{log}));
unlike(slurp($w->{log}), qr/password file/, 'its log says nothing of it');
stop_worker($w);

done_testing();
