# Helpers for the t/make tests that install what the tree builds (make
# install, make deb): make in a clean environment, the files under a
# directory, a file's text, and a copy of the tree as git has it.
package SigilMake;

use strict;
use warnings;

use Exporter 'import';
use File::Find;

our @EXPORT = qw(sigil_make make_install files slurp spew copy_tree);

# sigil_make(DIR, ARG...): make ARG... in the tree at DIR with the build
# of SIGIL_BUILD (default build/, as a path from DIR) and no deps step;
# its output and exit status, in a clean make environment (no flags of a
# make the test runs under).
sub sigil_make {
	my ($dir, @args) = @_;
	my $build = $ENV{SIGIL_BUILD} // 'build';
	local %ENV = %ENV;
	delete @ENV{qw(MAKEFLAGS MFLAGS MAKELEVEL)};
	my $out = `make -C '$dir' --no-print-directory BUILD=$build INSTALL_DEPS=true @args 2>&1`;
	return ($out, $? >> 8);
}

# make_install(VAR=VALUE...): "make install" in the tree (the current
# directory): sigil_make's answer.
sub make_install { sigil_make('.', 'install', @_) }

# files(DIR): every file under DIR, as paths relative to it, sorted.
sub files {
	my ($dir) = @_;
	my @f;
	find({ no_chdir => 1, wanted => sub {
		push @f, substr($_, length($dir) + 1) if -f $_;
	} }, $dir);
	return sort @f;
}

# slurp(PATH): the file's text; dies when it cannot be read.
sub slurp {
	open(my $fh, '<', $_[0]) or die "$_[0]: $!";
	local $/;
	return scalar <$fh>;
}

# spew(PATH, TEXT): TEXT written to PATH; dies when it cannot be.
sub spew {
	open(my $fh, '>', $_[0]) or die "$_[0]: $!";
	print $fh $_[1];
	close $fh or die "$_[0]: $!";
}

# copy_tree(DEST): the tree as it is now into the existing directory DEST:
# the files git tracks, with their changes and their times (so that a
# build directory made from the tree is up to date for the copy too).
sub copy_tree {
	my ($dest) = @_;
	system("git ls-files -z | tar --null -T - --ignore-failed-read -cf - "
	    . "2>/dev/null | tar -xf - -C '$dest'")
	    == 0 or die 'copying the tree failed';
}

1;
