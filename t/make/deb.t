# "make deb": the Debian package, built by debhelper (debian/) from the
# build of SIGIL_BUILD, in a copy of the tree as git has it (a file of
# debian/ left out of git fails here).  lintian finds no error in it; it
# holds what "make install" installs (the same files, byte for byte but
# for the stripped programs and the compressed man pages), the units in
# /lib/systemd/system and the example configuration and workers file as
# /etc/sigil's conffiles; its maintainer scripts, run with stand-ins for
# every command they call, make the sigil system user and give it
# /etc/sigil, and enable or start nothing; unpacked into a throw-away
# root (dpkg-deb -x: no maintainer script runs, nothing of the host's
# /usr is touched), its sigil-lookup -t passes on its own configuration
# once that names a key and a real PostgreSQL (a throw-away stack's),
# and fails on the configuration as shipped and on a wrong database.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Temp qw(tempdir);
use Test::More;
use lib 't/lib';
use SigilMake;
use SigilStack;

for my $tool (qw(dh dpkg-deb fakeroot lintian)) {
	grep { -x "$_/$tool" } split /:/, $ENV{PATH} or
	    BAIL_OUT("no $tool: deploy/install-deps all installs it");
}
my $build = abs_path($ENV{SIGIL_BUILD} // 'build');
-x "$build/sigil-lookup" or BAIL_OUT("$build/sigil-lookup is not built");
my $tmp = tempdir(CLEANUP => 1);
chmod 0755, $tmp or die;	# the stack's users reach $tmp/run

# 1. make deb in a copy, with the tree's build (not built again).
mkdir "$tmp/src" or die;
copy_tree("$tmp/src");
my $version = `dpkg-parsechangelog -l debian/changelog -S Version`;
chomp $version;
like($version, qr/^\d+\.\d+/, "the version ($version), from debian/changelog");
chomp(my $arch = `dpkg --print-architecture`);
my ($out, $rc) = sigil_make("$tmp/src", "BUILD=$build", "DEBDIR=$tmp/out",
    'deb');
is($rc, 0, 'make deb') or diag($out);
unlike($out, qr/^(cc|c\+\+) /m, 'with the programs as built, not again');
my $deb = "$tmp/out/sigil_${version}_$arch.deb";
ok(-s $deb, "it writes sigil_${version}_$arch.deb") or
    BAIL_OUT('no package');

# 2. lintian: no error (warnings are shown, not failed).
my @lint = split /\n/, `lintian --fail-on error '$deb' 2>/dev/null`;
is($? >> 8, 0, 'lintian --fail-on error passes');
is_deeply([grep { /^E: / } @lint], [], 'lintian: no error');
note("lintian: $_") for grep { /^[WI]: / } @lint;

# 3. The files: make install's, with Debian's own beside them.
my $root = "$tmp/root";
system('dpkg-deb', '-x', $deb, $root) == 0 or die 'dpkg-deb -x';
($out, $rc) = make_install("DESTDIR=$tmp/mi", 'PREFIX=/usr',
    'UNITDIR=/lib/systemd/system');
is($rc, 0, 'make install PREFIX=/usr UNITDIR=/lib/systemd/system') or
    diag($out);
my @mi = files("$tmp/mi");
ok(@mi > 50, scalar(@mi) . ' files from make install');
my @debian = qw(etc/sigil/sigil.conf etc/sigil/workers
    usr/share/doc/sigil/README.md.gz usr/share/doc/sigil/changelog.gz
    usr/share/doc/sigil/copyright);
# missing(ROOT): what of make install's set and Debian's own ROOT lacks,
# and what it has beyond them.
sub missing {
	my ($r) = @_;
	my %want = map { $_ => 1 } @debian,
	    map { m{^usr/share/man/} ? "$_.gz" : $_ } @mi;
	my %have = map { $_ => 1 } files($r);
	return ([grep { !$have{$_} } sort keys %want],
	    [grep { !$want{$_} } sort keys %have]);
}
my ($lacks, $extra) = missing($root);
is_deeply($lacks, [], 'the package has every file make install puts');
is_deeply($extra, [], 'and no other but the configuration and the docs');
my @differ = grep {
	!-B "$tmp/mi/$_" && system('cmp', '-s', "$tmp/mi/$_", "$root/$_") != 0
} grep { !m{^usr/share/man/} } @mi;
is_deeply(\@differ, [], 'its text files are make install\'s, unchanged');
is(slurp("$root/etc/sigil/sigil.conf"),
    slurp("$root/usr/share/sigil/sigil.conf.example"),
    '/etc/sigil/sigil.conf is the example configuration');
is((stat "$root/etc/sigil/sigil.conf")[2] & 07777, 0640,
    'mode 0640 (it may hold a password)');
# The check can fail: a file taken out of the unpacked root is found.
unlink "$root/usr/lib/sigil/sigil-migrate" or die;
is_deeply((missing($root))[0], ['usr/lib/sigil/sigil-migrate'],
    'a package without sigil-migrate would be found lacking it');
system('dpkg-deb', '-x', $deb, $root) == 0 or die 'dpkg-deb -x';

# 4. The control part: conffiles, dependencies.
my $ctl = "$tmp/ctl";
system('dpkg-deb', '-e', $deb, $ctl) == 0 or die 'dpkg-deb -e';
is(slurp("$ctl/conffiles"), "/etc/sigil/sigil.conf\n/etc/sigil/workers\n",
    'the configuration and workers file are conffiles');
my ($depends) = slurp("$ctl/control") =~ /^Depends: (.*)$/m;
my %dep = map { /^(\S+)/ ? ($1 => 1) : () } split /,\s*/, $depends // '';
ok($dep{$_}, "it depends on $_") for qw(libpq5 libfcgi0ldbl adduser
    postgresql-client openssl python3-yaml);

# 5. The maintainer scripts, with a stand-in for every command they run
# (PATH holds only those: a command the scripts call that has none fails
# the run, and nothing reaches the host).  Each logs its arguments;
# deb-systemd-helper says a unit was installed by the package but never
# enabled, as on a first install.
my $stub = "$tmp/stub";
mkdir $stub or die;
for my $cmd (qw(adduser dpkg-statoverride deb-systemd-helper
    deb-systemd-invoke systemctl)) {
	open(my $fh, '>', "$stub/$cmd") or die;
	print $fh "#!/bin/sh\necho \"$cmd \$*\" >>'$tmp/calls'\n",
	    $cmd eq 'deb-systemd-helper' ?
	    "case \$1 in debian-installed) exit 0 ;; *) exit 1 ;; esac\n" :
	    $cmd eq 'dpkg-statoverride' ?
	    "case \$1 in --list) exit 1 ;; esac\n" : '';
	close $fh;
	chmod 0755, "$stub/$cmd";
}
# script(NAME, ARG...): the control part's NAME run with ARG...; its
# output and exit status, and the commands it ran.
sub script {
	my ($name, @args) = @_;
	unlink "$tmp/calls";
	local $ENV{PATH} = $stub;
	my $o = `/bin/sh '$ctl/$name' @args 2>&1`;
	my $status = $? >> 8;
	my @calls = -e "$tmp/calls" ? split(/\n/, slurp("$tmp/calls")) : ();
	return ($o, $status, @calls);
}
my @calls;
($out, $rc, @calls) = script('postinst', 'configure', "''");
is($rc, 0, 'postinst configure (a first install)') or diag($out);
ok((grep { /^adduser --system\b.* sigil$/ } @calls),
    'it makes the sigil system user') or diag explain \@calls;
ok((grep { $_ eq 'dpkg-statoverride --update --add root sigil 0750 /etc/sigil' }
    @calls), '/etc/sigil: root, group sigil, 0750');
ok((grep { $_ eq 'dpkg-statoverride --update --add sigil sigil 0640 /etc/sigil/sigil.conf' }
    @calls), '/etc/sigil/sigil.conf: sigil\'s, 0640');
# starts(CALLS...): the calls that enable, start or restart a unit
# (try-restart, which starts nothing, is not one).
sub starts {
	grep { /^(systemctl|deb-systemd-invoke|deb-systemd-helper)\b.*(?<![-\w])(start|restart|enable|reload)\b/ }
	    @_;
}
is_deeply([starts(@calls)], [], 'and enables or starts nothing');
ok(starts('deb-systemd-invoke start sigil.target'),
    '(which a start would be)');
for my $s (qw(prerm postrm)) {
	($out, $rc, @calls) = script($s, 'remove');
	is($rc, 0, "$s remove") or diag($out);
	is_deeply([starts(@calls)], [], 'starts nothing');
}
($out, $rc, @calls) = script('postrm', 'purge');
is($rc, 0, 'postrm purge') or diag($out);
ok((grep { m{^deb-systemd-helper purge } } @calls),
    'it forgets the units\' state');

# 6. The installed programs on a real PostgreSQL: a throw-away stack's.
my $dir = "$tmp/run";
my $port = free_port();
# stack(COMMAND): deploy/sigil-stack COMMAND on $dir, with the tree's
# build; its output and whether it worked.
sub stack {
	return sigil_stack('deploy/sigil-stack', $_[0], $dir, $port,
	    SIGIL_BUILD => $build, SIGIL_WORKERS => 1,
	    SIGIL_MAIL_PORT => free_port());
}
my ($sout, $ok) = stack('start');
my $started = 1;
END { stack('stop') if $started }
ok($ok, 'a stack for its PostgreSQL starts') or BAIL_OUT($sout);
my ($db) = slurp("$dir/sigil.conf") =~ /^database = (.*)$/m;
ok($db, "its database: $db");

my $lib = "$root/usr/lib/sigil";
my $shipped = slurp("$root/etc/sigil/sigil.conf");
like($shipped, qr{^template_dir = /usr/share/sigil/templates$}m,
    'the shipped configuration names the package\'s templates');
like($shipped, qr{^signing_key = /etc/sigil/signing\.key$}m,
    'and the key the administrator makes');
# conf(NAME, KEY => VALUE...): the shipped configuration with those keys
# set, written to $tmp/NAME; its path.
sub conf {
	my ($name, %set) = @_;
	my $t = $shipped;
	for my $k (sort keys %set) {
		$t =~ s/^\Q$k\E = .*$/$k = $set{$k}/m or die "no $k line";
	}
	spew("$tmp/$name", $t);
	return "$tmp/$name";
}
# lookup_t(CONF): the installed sigil-lookup -t on CONF; its output and
# exit status.
sub lookup_t {
	my $o = `'$lib/sigil-lookup' -t -c '$_[0]' 2>&1`;
	return ($o, $? >> 8);
}

# As shipped (the key not made yet, the templates where the package puts
# them): refused, so nothing could run before it is configured.
($out, $rc) = lookup_t(conf('shipped.conf',
    template_dir => "$root/usr/share/sigil/templates"));
isnt($rc, 0, 'sigil-lookup -t refuses the configuration as shipped');
like($out, qr{/etc/sigil/signing\.key}, 'naming the missing key') or
    diag($out);

# The key from the installed sigil-keygen, the stack's database.
my $keygen = `'$lib/sigil-keygen' '$tmp/signing.key' 2>&1`;
is($?, 0, 'the installed sigil-keygen makes a key') or diag($keygen);
my ($key_id) = $keygen =~ /^signing_key_id = (\S+)$/m;
ok($key_id, "and names it ($key_id)");
my %good = (template_dir => "$root/usr/share/sigil/templates",
    signing_key => "$tmp/signing.key", signing_key_id => $key_id,
    database => $db);
($out, $rc) = lookup_t(conf('good.conf', %good));
is($rc, 0, 'the installed sigil-lookup -t passes, reaching PostgreSQL') or
    diag($out);

# The installed sigil-migrate finds nothing to apply that the stack's
# tree applied: the package's sql/ is the tree's.
$out = `'$lib/sigil-migrate' -n '$db' '$root/usr/share/sigil/sql' 2>&1`;
is($?, 0, 'the installed sigil-migrate -n reaches it') or diag($out);
is($out, '', 'and has nothing to apply');

# A wrong database: refused, with the reason.
($out, $rc) = lookup_t(conf('nodb.conf', %good,
    database => "$db dbname=sigil_none"));
isnt($rc, 0, 'sigil-lookup -t on a database that does not exist fails');
like($out, qr/sigil_none/, 'naming it') or diag($out);

done_testing();
