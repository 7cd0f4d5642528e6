# What a program does at start: a bad configuration or a database on
# another schema version stops it with the reason; the migration script
# applies each migration once.
use strict;
use warnings;
use lib 't/lib';
use File::Temp qw(tempfile);
use Test::More;
use SigilTest;

my $build = build_dir();
my $dir = stack_dir();

# Runs a program with the given config text; returns (exit code, stderr).
sub start_with {
	my ($prog, $conf) = @_;
	my ($fh, $file) = tempfile(UNLINK => 1);
	print $fh $conf;
	close $fh;
	my $err = `$build/sigil-$prog -c $file 2>&1 </dev/null`;
	return ($? >> 8, $err);
}

open(my $fh, '<', "$dir/sigil.conf") or die;
my $good = do { local $/; <$fh> };

my ($rc, $err) = start_with('status', $good . "colour = blue\n");
my $line = () = $good =~ /\n/g;
$line++;
is($rc, 1, 'an unknown key stops the start');
like($err, qr/:$line: unknown key "colour"/, 'naming the file and line');

($rc, $err) = start_with('status', $good =~ s/^enable_v1.*\n//mr .
    "enable_v1 = maybe\n");
is($rc, 1, 'a bad value stops the start');
like($err, qr/enable_v1: want true or false/, 'saying what is wrong');

($rc, $err) = start_with('status', $good =~ s/^server_name.*\n//mr);
like($err, qr/server_name is required/, 'a missing required key is named');

my $nokey = $good =~ s/^(signing_key = ).*$/$1\/nonexistent.key/mr;
($rc, $err) = start_with('pubkey', $nokey);
is($rc, 1, 'a missing key file stops the start of a program that signs');
like($err, qr/signing key: cannot open/, 'saying so');
($rc, $err) = start_with('status', $nokey);
unlike($err, qr/signing key/, 'sigil-status, which signs nothing, never '
    . 'reads the key');

my $err2 = `$build/sigil-status 2>&1 </dev/null`;
like($err2, qr/no configuration/, 'no -c and no SIGIL_CONFIG: refused');

# The schema version: a database that is newer than the build.
psql("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')");
($rc, $err) = start_with('pubkey', $good);
is($rc, 1, 'a database at another schema version stops the start');
like($err, qr/schema version is 999, this build needs \d+/,
    'with both versions named');
psql("DELETE FROM schema_migrations WHERE version = 999");

my $conn = "host=$dir/pgsock dbname=sigil user=sigil";
my $out = `deploy/sigil-migrate '$conn' 2>&1`;
like($out, qr/\(0 applied now\)/, 'migrate again: nothing to apply');
$out = `deploy/sigil-migrate -n '$conn' 2>&1`;
is($out, '', 'migrate -n on a current database lists nothing');
is(psql('SELECT count(*) FROM schema_migrations'),
    scalar(() = glob('sql/[0-9][0-9][0-9]_*.sql')),
    'one schema_migrations row per file in sql/');

# A fresh database gets every migration, in order, recorded.
`psql -X -q -h $dir/pgsock -U postgres -d postgres -c 'CREATE DATABASE sigil_fresh OWNER sigil'`;
$out = `deploy/sigil-migrate -n 'host=$dir/pgsock dbname=sigil_fresh user=sigil' 2>&1`;
like($out, qr/^would apply 001_init$/m, 'migrate -n lists what it would apply');
$out = `deploy/sigil-migrate 'host=$dir/pgsock dbname=sigil_fresh user=sigil' 2>&1`;
like($out, qr/applied 001_init/, 'a fresh database gets 001_init');
like($out, qr/schema is at version \d+/, 'and reports the version');

# A failing migration leaves nothing behind.
mkdir "$dir/badsql";
system("cp sql/*.sql $dir/badsql/");
open(my $bad, '>', "$dir/badsql/900_broken.sql") or die;
print $bad "CREATE TABLE half_done (x int);\nSELECT no_such_function();\n";
close $bad;
$out = `deploy/sigil-migrate 'host=$dir/pgsock dbname=sigil_fresh user=sigil' $dir/badsql 2>&1`;
isnt($?, 0, 'a failing migration fails the script');
is(`psql -X -A -t -h $dir/pgsock -U sigil -d sigil_fresh -c "SELECT count(*) FROM pg_tables WHERE tablename = 'half_done'"`,
    "0\n", 'and its transaction left no table behind');
my $newest = (sort { $a <=> $b } map { /(\d{3})_/ ? $1 + 0 : () }
    glob('sql/*.sql'))[-1];
is(`psql -X -A -t -h $dir/pgsock -U sigil -d sigil_fresh -c "SELECT max(version) FROM schema_migrations"`,
    "$newest\n", 'nor a schema_migrations row');

# A program links only the parts its struct app names (common/app.c
# reaches them through the tables named there): sigil-status has neither libpq nor
# libcurl nor ICU, and still serves; sigil-lookup has libpq.  Only
# sigil-validate, which parses phone numbers, carries libphonenumber and
# with it ICU and the C++ runtime (case folding is libunistring's, which
# libpq loads anyway).
my $b = build_dir();
my $ldd = `ldd $b/sigil-status`;
unlike($ldd, qr/libpq|libcurl|libicu|libcrypto/,
    'sigil-status links neither libpq, libcurl, ICU nor libcrypto');
like(`ldd $b/sigil-pubkey`, qr/libcrypto/, 'sigil-pubkey links libcrypto');
like(`ldd $b/sigil-lookup`, qr/libpq/, 'sigil-lookup links libpq');
like(`ldd $b/sigil-account`, qr/libcurl/, 'sigil-account links libcurl');
for my $p (qw(lookup bind invite account pubkey)) {
	my $libs = `ldd $b/sigil-$p`;
	# (ASan and UBSan bring the C++ runtime themselves.)
	my $cxx = $libs =~ /libasan|libubsan/ ? qr/(?!)/ : qr/libstdc\+\+/;
	unlike($libs, qr/libicu|libphonenumber|$cxx/,
	    "sigil-$p links neither ICU nor the C++ runtime");
}
like(`ldd $b/sigil-validate`, qr/libphonenumber/,
    'sigil-validate links libphonenumber');
is(get('/_matrix/identity/v2')->{content}, '{}', 'sigil-status serves');

done_testing();
