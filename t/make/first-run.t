# The first build on a fresh machine: make starts before pkg-config and
# the -dev packages exist, and its "deps" step installs them.  The flags
# must be asked for after that step, not when make reads the Makefile
# (which left common/db.c without -I/usr/include/postgresql the first
# time).  A pkg-config that fails until a marker file exists stands in
# for the packages, and INSTALL_DEPS, the deps step, creates the marker
# (run as "INSTALL_DEPS build": sh -c gives the argument to $0).
use strict;
use warnings;
use File::Temp qw(tempdir);
use Test::More;

my $tmp = tempdir(CLEANUP => 1);
my ($real) = grep { -x } map { "$_/pkg-config" } split /:/, $ENV{PATH};
$real or BAIL_OUT('no pkg-config: make deps installs it');
mkdir "$tmp/bin";
open(my $fh, '>', "$tmp/bin/pkg-config") or die;
print $fh "#!/bin/sh\n[ -e '$tmp/installed' ] || exit 1\n"
    . "exec '$real' \"\$\@\"\n";
close $fh;
chmod 0755, "$tmp/bin/pkg-config";

# make(INSTALL_DEPS, TARGET...): its output and exit status, in a clean
# make environment (no flags of a make this test runs under).
sub make {
	my ($deps, @targets) = @_;
	local %ENV = %ENV;
	delete @ENV{qw(MAKEFLAGS MFLAGS MAKELEVEL)};
	$ENV{PATH} = "$tmp/bin:$ENV{PATH}";
	my $pid = open(my $out, '-|') // die "fork: $!";
	if ($pid == 0) {
		open(STDERR, '>&', \*STDOUT) or die;
		exec('make', '--no-print-directory', "BUILD=$tmp/build",
		    "INSTALL_DEPS=$deps", @targets) or exit 127;
	}
	my $text = do { local $/; <$out> };
	close $out;
	return ($text // '', $? >> 8);
}

ok(system("$tmp/bin/pkg-config --exists libpq") != 0,
    'the stand-in pkg-config fails before the deps step');

# A deps step that installs nothing: a clear message, not a compiler's.
my ($out, $rc) = make('true', "$tmp/build/common/db.o");
isnt($rc, 0, 'packages still missing after deps: the build stops');
like($out, qr/pkg-config .* failed: are the packages installed\?/,
    'and says why');
unlike($out, qr/No such file or directory/, 'before any compiler error');
ok(!-e "$tmp/build/common/db.o", 'no object was built');

# The deps step installs them: the same make run builds.
($out, $rc) = make("sh -c 'touch $tmp/installed'", "$tmp/build/common/db.o");
is($rc, 0, 'the first make after a fresh deps step builds common/db.c')
    or diag($out);
ok(-s "$tmp/build/common/db.o", 'and writes its object');
like($out, qr{-I\S*postgresql}, 'with libpq\'s include directory');

done_testing();
