# -t warns when the program runs as a user other than the owner of its
# configuration or of its key: the sign of a shared host without
# per-account execution (the web server's user runs the programs, and the
# account's files must then be readable to every customer's programs),
# or of files left root's.  A warning only: the exit status stays 0.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SigilTest;

plan skip_all => 'needs root (to give the files to another user)' if $> != 0;

my $dir = stack_dir();
my $build = build_dir();
my $home = "$dir/owner-32";
mkdir $home or die "$home: $!";
system("deploy/sigil-keygen '$home/signing.key' a_own >/dev/null") == 0
    or BAIL_OUT('sigil-keygen failed');
(my $conf = slurp("$dir/sigil.conf")) =~
    s{^signing_key = .*$}{signing_key = $home/signing.key}m;
$conf =~ s{^signing_key_id = .*$}{signing_key_id = ed25519:a_own}m;
my $file = "$home/sigil.conf";
spew($file, $conf);
my $nobody = getpwnam('nobody') // die 'no user nobody';

sub check {
	my ($prog) = @_;
	my $out = `$build/sigil-$prog -t -c '$file' 2>&1`;
	return ($? >> 8, $out);
}

my ($rc, $out) = check('pubkey');
is($rc, 0, 'sigil-pubkey -t, as root, on root\'s files: passes');
unlike($out, qr/runs as/, 'with no warning') or diag($out);

chown $nobody, -1, $file or die "chown: $!";
($rc, $out) = check('pubkey');
is($rc, 0, 'the configuration nobody\'s: still passes');
my $said = "sigil-pubkey runs as uid 0 (root), but its configuration "
    . "$file is owned by uid $nobody (nobody)";
like($out, qr/warn: -t: \Q$said\E/,
    'but warns, naming both users and the file') or diag($out);
like($out, qr/per-account execution/, 'and saying what is missing');
unlike($out, qr/signing key/, 'the key, root\'s, is not named');

chown 0, -1, $file or die "chown: $!";
chown $nobody, -1, "$home/signing.key" or die "chown: $!";
($rc, $out) = check('pubkey');
is($rc, 0, 'the key nobody\'s: passes');
$said = "runs as uid 0 (root), but its signing key $home/signing.key "
    . "is owned by uid $nobody (nobody)";
like($out, qr/warn: -t: sigil-pubkey \Q$said\E/,
    'and warns about the key') or diag($out);
unlike($out, qr/its configuration/, 'not the configuration');

($rc, $out) = check('status');
is($rc, 0, 'sigil-status -t passes');
unlike($out, qr/runs as/, 'and, loading no key, warns of none') or diag($out);

done_testing();
