# deploy/systemd: every unit, with its paths filled in as an install
# would, passes "systemd-analyze verify" without a word (unknown keys and
# missing programs included); the workers file parses.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Temp qw(tempdir);
use Test::More;

my $top = abs_path('.');
my $build = abs_path($ENV{SIGIL_BUILD} // 'build');
my $d = tempdir(CLEANUP => 1);
mkdir "$d/bin";
symlink("$build/sigil-supervise", "$d/bin/sigil-supervise") or die;
symlink("$top/deploy/sigil-cleanup", "$d/bin/sigil-cleanup") or die;
open(my $c, '>', "$d/sigil.conf") or die;
close $c;
system('cp', "$top/deploy/systemd/workers", "$d/workers") == 0 or die;

my @units;
# The programs with a socket: every row of deploy/programs with routes.
my @fastcgi = split /\n/, `sh '$top/deploy/gen-routes' -l`;
for my $in (glob("$top/deploy/systemd/*.in")) {
	(my $name = $in) =~ s{.*/|\.in$}{}g;
	open(my $fh, '<', $in) or die;
	my $text = do { local $/; <$fh> };
	$text =~ s/\@BINDIR\@/$d\/bin/g;
	$text =~ s/\@CONFDIR\@/$d/g;
	unlike($text, qr/\@[A-Z]+\@/, "$name: every placeholder filled");
	open(my $out, '>', "$d/$name") or die;
	print $out $text;
	close $out;
	push @units, $name =~ /@\.service$/ ? map { $name =~ s/@/\@$_/r }
	    @fastcgi, 'notify' : $name =~ /@\.socket$/ ?
	    map { $name =~ s/@/\@$_/r } @fastcgi : $name;
}
for my $u (@units) {
	my $out = `cd '$d' && systemd-analyze verify './$u' 2>&1`;
	is($? >> 8, 0, "$u: systemd-analyze verify passes");
	is($out, '', "$u: and says nothing") or diag($out);
}
my $out = `cd '$d' && mv bin/sigil-supervise bin/gone && systemd-analyze verify ./sigil\@lookup.service 2>&1`;
isnt($? >> 8, 0, 'a unit whose program is missing fails the check');

# The shipped workers file: every line a program sigil-supervise knows.
$out = `'$build/sigil-supervise' -c /dev/null -w '$top/deploy/systemd/workers' -s '$d' nosuch 2>&1`;
like($out, qr/nosuch is not in/, 'deploy/systemd/workers parses');
unlike($out, qr/want|twice/, 'with no bad line');

done_testing();
