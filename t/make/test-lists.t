# The test lists come from the tree, not from hand lists: make's UNITS is
# every t/unit/*.c and FUZZERS every t/fuzz/fuzz_*.c (a new file runs
# without touching the Makefile), and each HTTP test has a number of its
# own, so the order the suite runs in is the order of the numbers.
use strict;
use warnings;
use Test::More;

# var(NAME): make's value of NAME, as words.
sub var {
	local %ENV = %ENV;
	delete @ENV{qw(MAKEFLAGS MFLAGS MAKELEVEL)};
	my $v = `make -s --no-print-directory INSTALL_DEPS=false --eval='print-var: ; \@echo \$($_[0])' print-var`;
	$? == 0 or die "make print-var $_[0] failed";
	return sort split ' ', $v;
}

my @units = map { m{^t/unit/(.*)\.c$} } glob('t/unit/*.c');
ok(@units > 10, 'there are unit tests');
is_deeply([var('UNITS')], [sort @units], 'UNITS: every t/unit/*.c');
my @fuzz = map { m{^t/fuzz/(fuzz_.*)\.c$} } glob('t/fuzz/fuzz_*.c');
ok(@fuzz > 0, 'there are fuzzers');
is_deeply([var('FUZZERS')], [sort @fuzz], 'FUZZERS: every t/fuzz/fuzz_*.c');

my %by;
for (glob('t/http/*.t')) {
	my ($n) = m{^t/http/(\d+)-[a-z0-9-]+\.t$} or do {
		fail("$_: named NN-name.t");
		next;
	};
	push @{ $by{$n} }, $_;
}
my @twice = map { "@{ $by{$_} }" } grep { @{ $by{$_} } > 1 } sort keys %by;
is_deeply(\@twice, [], 'no two HTTP tests share a number');

done_testing();
