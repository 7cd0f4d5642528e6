# "make install": the files it puts in place are the set this test
# derives from the tree (every cgi/*.c a program, every operator script
# of deploy/, every migration, template and unit, the web server parts,
# every man page); the units and web server parts have their paths
# filled in; the installed programs and scripts run from where they are
# installed (a program's -t, sigil-migrate finding the installed sql/,
# sigil-rotate-key calling its installed siblings); the man pages are
# clean under "mandoc -T lint", and sigil.conf(5) is up to date with
# deploy/sigil.conf.example and names every key of the configuration
# table (common/cfg.c).
use strict;
use warnings;
use File::Temp qw(tempdir);
use Test::More;
use lib 't/lib';
use SigilMake;

my $build = $ENV{SIGIL_BUILD} // 'build';
my $tmp = tempdir(CLEANUP => 1);

# The expected set, from the tree.  The scripts of deploy/ that are not
# for a production host: the dev/test stack, its mail sink, the shared
# hosting bundle (run in the source tree) and the routes generator.
my %not_installed = map { $_ => 1 }
    qw(sigil-stack sigil-mailsink sigil-shared-bundle);
my @progs = map { m{^cgi/(.*)\.c$} ? "sigil-$1" : () } glob('cgi/*.c');
my @served = split /\n/, `sh deploy/gen-routes -l`;
ok(@served > 5, 'gen-routes -l lists the programs');
my %prog = map { $_ => 1 } @progs;
ok(!(grep { !$prog{"sigil-$_"} } @served),
    'every program of gen-routes -l is a cgi/*.c');
my @scripts = grep { !$not_installed{$_} }
    map { m{^deploy/(sigil-[a-z-]+)$} ? $1 : () } glob('deploy/sigil-*');
ok((grep { $_ eq 'sigil-migrate' } @scripts), 'sigil-migrate is a script');
my @expect = (
    (map { "lib/sigil/$_" } @progs, @scripts),
    (map { "lib/systemd/system/" . (m{([^/]+)\.in$})[0] }
	glob('deploy/systemd/*.in')),
    (map { "share/man/man" . (m{\.(\d)$})[0] . "/" . (m{([^/]+)$})[0] }
	glob('man/*.[0-9]')),
    (map { "share/sigil/$_" } glob('sql/*.sql')),
    (map { "share/sigil/templates/$_" } files('templates')),
    (map { "share/sigil/apache/errors/" . (m{([^/]+)$})[0] }
	glob('deploy/apache-errors/*')),
    (map { "share/sigil/nginx/nginx-sigil-$_.conf" }
	qw(upstreams locations server site)),
    qw(share/sigil/nginx/sigil-location.conf
       share/sigil/nginx/sigil-error-headers.conf
       share/sigil/apache/apache-sigil.conf
       share/sigil/apache/apache-sigil-limits.conf
       share/sigil/lighttpd/lighttpd-sigil.conf
       share/sigil/logrotate/sigil
       share/sigil/sigil.conf.example share/sigil/workers),
);
ok((grep { $_ eq 'share/man/man5/sigil.conf.5' } @expect),
    'sigil.conf.5 is among the pages');

# A package's install: DESTDIR, PREFIX=/usr.
my $root = "$tmp/root";
my ($out, $rc) = make_install("DESTDIR=$root", 'PREFIX=/usr');
is($rc, 0, 'make install DESTDIR=... PREFIX=/usr') or diag $out;
is_deeply([files("$root/usr")], [sort @expect],
    'it installs the expected files under /usr') or
    diag explain [files("$root/usr")];
is_deeply([files($root)], [map { "usr/$_" } sort @expect],
    'and nothing outside it (the configuration is never written)');
for my $p (@progs, grep { $_ ne 'sigil-key-common' } @scripts) {
	-x "$root/usr/lib/sigil/$p" or fail("$p is not executable");
}

# The example configuration names the installed templates, so that a
# copy of it works as it is (the Debian package's /etc/sigil/sigil.conf).
like(slurp("$root/usr/share/sigil/sigil.conf.example"),
    qr{^template_dir = /usr/share/sigil/templates$}m,
    'the installed example names the installed template_dir');

# The units and web server parts: every @...@ filled in, but the site's
# own names, ports and certificates in nginx-sigil-site.conf.
for my $f (files("$root/usr/lib/systemd/system")) {
	my $t = slurp("$root/usr/lib/systemd/system/$f");
	unlike($t, qr/\@[A-Z_]+\@/, "$f: no \@...\@ left");
}
like(slurp("$root/usr/lib/systemd/system/sigil\@.service"),
    qr{^ExecStart=/usr/lib/sigil/sigil-supervise -c /etc/sigil/sigil\.conf -w /etc/sigil/workers }m,
    'sigil@.service runs the installed supervisor on /etc/sigil');
for my $f (grep { !/site/ } files("$root/usr/share/sigil/nginx"),
    map { "../apache/$_" } grep { /\.conf$/ }
    files("$root/usr/share/sigil/apache")) {
	my $t = slurp("$root/usr/share/sigil/nginx/$f");
	unlike($t, qr/\@(CONFDIR|SOCKDIR|ERRDIR|DATADIR)\@/, "$f: no \@...\@ left");
}
my $site = slurp("$root/usr/share/sigil/nginx/nginx-sigil-site.conf");
unlike($site, qr/\@(CONFDIR|SOCKDIR)\@/, 'the site has its paths');
like(slurp("$root/usr/share/sigil/nginx/nginx-sigil-locations.conf"),
    qr{include /usr/share/sigil/nginx/sigil-location\.conf;},
    'the nginx locations include their installed sibling');

# An install run where it is: no DESTDIR, PREFIX and SYSCONFDIR in $tmp.
my $p = "$tmp/p";
($out, $rc) = make_install("PREFIX=$p/usr", "SYSCONFDIR=$p/etc");
is($rc, 0, 'make install PREFIX=... SYSCONFDIR=...') or diag $out;
is_deeply([files("$p/usr")], [sort @expect], 'the same set of files');
ok(!-e "$p/etc", 'nothing written to SYSCONFDIR');
my $lib = "$p/usr/lib/sigil";
for my $u (qw(sigil@.service sigil-cleanup.service)) {
	my ($exe) = slurp("$p/usr/lib/systemd/system/$u") =~ /^ExecStart=(\S+)/m;
	ok(defined $exe && -x $exe, "$u starts an installed program ($exe)");
}

# The installed units pass systemd-analyze verify (which also checks that
# ExecStart names a program that is there).
{
	my $u = "$p/usr/lib/systemd/system";
	for my $unit (qw(sigil.target sigil@lookup.service sigil@lookup.socket
	    sigil@notify.service sigil-cleanup.service sigil-cleanup.timer)) {
		my $v = `cd '$u' && systemd-analyze verify './$unit' 2>&1`;
		is($? >> 8, 0, "installed $unit: systemd-analyze verify") or
		    diag $v;
	}
}

# The programs answer from there: --routes as the build's, and -t on a
# configuration whose key the installed sigil-keygen made and whose
# templates are the installed ones.
my $routes = `$lib/sigil-lookup --routes`;
is($routes, `$build/sigil-lookup --routes`, 'installed sigil-lookup --routes');
my $keygen = `$lib/sigil-keygen $tmp/signing.key 2>&1`;
is($?, 0, 'installed sigil-keygen makes a key') or diag $keygen;
like($keygen, qr/^signing_key_id = (ed25519:\S+)$/m, 'and names it');
my $conf = "$tmp/sigil.conf";
open(my $fh, '>', $conf) or die;
print $fh "server_name = id.example.org\n",
    "public_base_url = https://id.example.org\n",
    "database = dbname=sigil\n",
    "signing_key = $tmp/signing.key\n",
    "mail_from = sigil <noreply\@id.example.org>\n",
    "template_dir = $p/usr/share/sigil/templates\n";
close $fh;
$out = `$lib/sigil-validate -t --config-only -c $conf 2>&1`;
is($?, 0, 'installed sigil-validate -t with the installed templates') or
    diag $out;
(my $bad = slurp($conf)) =~ s{share/sigil/templates}{share/sigil/none};
open($fh, '>', "$tmp/bad.conf") or die;
print $fh $bad;
close $fh;
$out = `$lib/sigil-validate -t --config-only -c $tmp/bad.conf 2>&1`;
isnt($?, 0, 'and refuses a template_dir that is not there');

# sigil-rotate-key sources sigil-key-common and runs sigil-keygen from
# its own directory.
$out = `$lib/sigil-rotate-key $conf 2>&1`;
is($?, 0, 'installed sigil-rotate-key runs its siblings') or diag $out;
like(slurp($conf), qr/^old_key = ed25519:0 /m, 'the old key is kept');

# sigil-migrate -n lists the installed migrations, with a psql that
# reports an empty database (the connection is not what is tested).
mkdir "$tmp/bin";
open($fh, '>', "$tmp/bin/psql") or die;
print $fh "#!/bin/sh\ncase \"\$*\" in *max*) echo 0 ;; esac\n";
close $fh;
chmod 0755, "$tmp/bin/psql";
{
	local $ENV{PATH} = "$tmp/bin:$ENV{PATH}";
	my @want = map { m{^sql/(.*)\.sql$} ? "would apply $1" : () }
	    glob('sql/*.sql');
	$out = `cd / && $lib/sigil-migrate -n dbname=sigil 2>&1`;
	is_deeply([split /\n/, $out], \@want,
	    'installed sigil-migrate -n lists the installed sql/');
	# The script as it is in the tree, copied alone: no sql/ beside it.
	mkdir "$tmp/alone";
	system('cp', 'deploy/sigil-migrate', "$tmp/alone/") == 0 or die;
	$out = `cd / && sh $tmp/alone/sigil-migrate -n dbname=sigil 2>&1`;
	is($out, '', 'the tree\'s script copied elsewhere finds no sql/');
}

# The man pages: clean under mandoc's lint, every level, but for the
# pages' references to each other, which mandoc looks for in the host's
# man database (where they are only once installed there).
my %ours = map { m{/([^/]+)\.(\d)$} ? ("$1 $2" => 1) : () }
    glob("$root/usr/share/man/man*/*");
is(scalar(keys %ours), 3, 'three man pages');
for my $m (glob("$root/usr/share/man/man*/*")) {
	my @lint = grep {
	    !/STYLE: referenced manual not found: Xr (\S+ \d)/ || !$ours{$1}
	} split /\n/, `mandoc -T lint $m 2>&1`;
	is_deeply(\@lint, [], "mandoc -T lint: $m");
}
my $lint = `mandoc -T lint -W warning man/*.[0-9] 2>&1`;
is($lint, '', 'mandoc -T lint -W warning: no warning') and
    is($?, 0, 'and exit 0');

# sigil.conf(5) is made from the example configuration and lists every
# key of the table.  keys(): the table's names (cfg_keys[], and a
# "ratelimit_<name>" key per entry of ratelimit_name[]).
my $cfg = slurp('common/cfg.c');
my ($table) = $cfg =~ /cfg_keys\[\] = \{(.*?)\n\};/s;
my ($rates) = $cfg =~ /ratelimit_name\[RATELIMIT__MAX\] = \{(.*?)\};/s;
my @keys = ($table =~ /\(\s*"([a-z0-9_]+)"/g),
    map { "ratelimit_$_" } $rates =~ /"([a-z0-9_]+)"/g;
ok(@keys > 50, scalar(@keys) . ' keys in the table');
# missing(PAGE): the keys of the table PAGE does not document.
sub missing {
	my %doc = map { $_ => 1 } $_[0] =~ /^\.It Cm ([a-z0-9_]+)$/mg;
	return [grep { !$doc{$_} } @keys];
}
my $page = slurp('man/sigil.conf.5');
is($page, `sh man/gen-conf-page deploy/sigil.conf.example`,
    'man/sigil.conf.5 is up to date (make man)');
is_deeply(missing($page), [], 'sigil.conf.5 documents every key');
# A key dropped from the example drops out of the page, and is found
# missing.
(my $less = slurp('deploy/sigil.conf.example')) =~ s/^token_lifetime = .*\n//m;
open($fh, '>', "$tmp/less.example") or die;
print $fh $less;
close $fh;
is_deeply(missing(scalar `sh man/gen-conf-page $tmp/less.example`),
    ['token_lifetime'], 'a key left out is found missing');
open($fh, '>', "$tmp/odd.example") or die;
print $fh "# a comment\nnot a key line\n";
close $fh;
`sh man/gen-conf-page $tmp/odd.example 2>/dev/null`;
isnt($?, 0, 'gen-conf-page refuses a line it cannot place');

done_testing();
