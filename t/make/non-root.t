# make as a user who is not root, on a machine with the build packages:
# it builds and asks for nothing, whatever of the run and test packages
# (web servers, PostgreSQL, test tools) is missing; missing a build
# package, it stops before any compiler and names the package and how to
# get it; and the targets that run the stack still ask for the rest.  A
# copy of the tree owned by nobody is built through runuser, with a
# dpkg-query in front of the real one that hides the packages named in
# SIGIL_HIDE (a regex), standing in for a machine without them.
use strict;
use warnings;
use File::Temp qw(tempdir);
use Test::More;
use lib 't/lib';
use SigilMake;

plan skip_all => 'needs root (runuser to nobody)'
    unless $> == 0 && -x '/usr/sbin/runuser' && defined getpwnam('nobody');
my ($real) = grep { -x } map { "$_/dpkg-query" } split /:/, $ENV{PATH};
$real or plan skip_all => 'no dpkg-query: not Debian';

my $tmp = tempdir(CLEANUP => 1);
chmod 0755, $tmp or die "chmod: $!";
mkdir "$tmp/bin" or die;
open(my $fh, '>', "$tmp/bin/dpkg-query") or die;
print $fh "#!/bin/sh\n'$real' \"\$\@\" | grep -Ev \"^(\$SIGIL_HIDE)[[:space:]]\"\n";
close $fh;
chmod 0755, "$tmp/bin/dpkg-query";

# The tree as it is now (tracked files, with their changes), nobody's.
mkdir "$tmp/src" or die;
copy_tree("$tmp/src");
system('chown', '-R', 'nobody', "$tmp/src") == 0 or die 'chown failed';

# make(HIDE, TARGET...) as nobody in the copy: its output and exit status.
sub make {
	my ($hide, @targets) = @_;
	my $pid = open(my $out, '-|') // die "fork: $!";
	if ($pid == 0) {
		open(STDERR, '>&', \*STDOUT) or die;
		exec('/usr/sbin/runuser', '-u', 'nobody', '--', 'env', '-i',
		    "PATH=$tmp/bin:/usr/local/bin:/usr/bin:/bin",
		    "HOME=$tmp", "SIGIL_HIDE=$hide", 'make', '-C', "$tmp/src",
		    '--no-print-directory', '-j2', @targets) or exit 127;
	}
	my $text = do { local $/; <$out> };
	close $out;
	return ($text // '', $? >> 8);
}

ok(system("runuser -u nobody -- test -w '$tmp/src'") == 0,
    'nobody may write the copy');
is(system("SIGIL_HIDE=prometheus '$tmp/bin/dpkg-query' -W prometheus "
    . '>/dev/null 2>&1') >> 8, 1,
    'the stand-in dpkg-query hides a package');

# A build package missing: stopped at once, and told what to do.
my ($out, $rc) = make('libpq-dev|prometheus|nginx', 'all');
isnt($rc, 0, 'libpq-dev missing: make stops');
like($out, qr/missing packages \(build\): libpq-dev$/m,
    'and names it, and only it (not the run packages)');
like($out, qr{deploy/install-deps build.*apt-get install libpq-dev}s,
    'and says how to install it');
ok(!-e "$tmp/src/build/common", 'before compiling anything') or diag($out);

# Every build package there, run and test packages missing: make builds.
($out, $rc) = make('prometheus|nginx|postgresql|valgrind', 'all');
is($rc, 0, 'run and test packages missing: a non-root make builds')
    or diag($out);
unlike($out, qr/^install-deps:|apt-get/m, 'and asks for nothing');
ok(-x "$tmp/src/build/sigil-status" && -x "$tmp/src/build/sigil-lookup",
    'the programs are built');

# What runs the stack or a tool asks for the rest.
($out, $rc) = make('prometheus', 'deps-all');
isnt($rc, 0, 'the run and test set (make check, run ...) is still asked for');
like($out, qr/missing packages \(all\): prometheus$/m, 'naming what is missing');

done_testing();
