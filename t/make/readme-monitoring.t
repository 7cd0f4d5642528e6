# The monitoring examples in README.md's "Operating" are what an operator
# pastes into Prometheus: the alert rules must load (promtool check
# rules), and every sigil_* metric an alert asks for must be one that
# sigil-status exports (its name appears in cgi/status.c), so that a
# renamed metric cannot leave an alert that never fires.
use strict;
use warnings;
use File::Temp qw(tempdir);
use Test::More;

sub slurp { open(my $fh, '<', $_[0]) or die "$_[0]: $!"; local $/; <$fh> }
my $readme = slurp('README.md');
my $status = slurp('cgi/status.c');

my ($rules) = $readme =~ /^Alert rules:\n\n```yaml\n(.*?)^```/ms;
ok(defined $rules, 'README.md has an alert rules block') or BAIL_OUT('none');
my @names = $rules =~ /\b(sigil_[a-z_]+)/g;
ok(@names > 0, 'the rules ask for sigil metrics');
my %seen;
for my $name (grep { !$seen{$_}++ } @names) {
	(my $base = $name) =~ s/_(bucket|sum|count)$//;
	(my $family = $base) =~ s/^sigil_pool_//;
	ok(index($status, "\"$base") >= 0 || index($status, " $base") >= 0
	    || ($base ne $family && index($status, "\"$family\"") >= 0)
	    || index($status, "$base\{") >= 0,
	    "$name is exported by sigil-status");
}
SKIP: {
	skip('no promtool (apt-get install prometheus)', 1)
	    unless system('sh', '-c', 'command -v promtool >/dev/null') == 0;
	my $dir = tempdir(CLEANUP => 1);
	open(my $fh, '>', "$dir/rules.yml") or die;
	print $fh $rules;
	close $fh;
	my $out = `promtool check rules '$dir/rules.yml' 2>&1`;
	is($?, 0, 'promtool loads the alert rules') or diag($out);
}
done_testing();
