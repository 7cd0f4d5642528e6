# sigil-sync's SQL source (sync_sql_conninfo, sync_sql_query) against a
# database shaped as Synapse's (t/lib/SyncSource.pm: user_threepids,
# with a role that may only SELECT it): a source that fails (a database
# that is not there, a query that fails, too few columns, a query that
# writes) is a clear error, exit status 1, counted, and nothing is
# removed; entries with a bad address, a bad user ID, a NULL or an
# address given twice are skipped with a line each and counted, and the
# others bound in their canonical form; extra columns are ignored; with
# no source configured --once says so and fails; while another run holds
# the lock a run does nothing; the daemon runs a sync as it starts and
# stops on SIGTERM.
use strict;
use warnings;
use lib 't/lib';
use POSIX ();
use Test::More;
use SigilTest;
use SyncSource;

my $dir = stack_dir();
my $hs = $ENV{SIGIL_TEST_HS};
my $v1 = '/_matrix/identity/api/v1';
my $db = 'synapse_sync65';
my $dom = 'sync65.example';

synapse_db($db);
sync_fresh();
my $ci = synapse_conninfo($db);
my $conf = sync_conf(sync_sql_conninfo => $ci);

sub esc { $_[0] =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ger }
sub found {
	my ($medium, $address) = @_;
	return get("$v1/lookup?medium=$medium&address=" . esc($address))
	    ->{json}{mxid};
}
sub owned { psql("SELECT count(*) FROM bindings WHERE origin = 'sync'") }

set_threepids($db, ["\@ann:$hs", 'email', "ann\@$dom"],
    ["\@ben:$hs", 'email', "ben\@$dom"]);
my $r = run_sync($conf, '--once');
is($r->{status}, 0, 'a first sync') or diag($r->{err});
is(owned(), 2, 'two bindings');
my $success = figure('sigil_sync_last_success_timestamp_seconds');

# Failing sources: each is an error, exit 1, and removes nothing (the
# table now empty would otherwise remove both).
set_threepids($db);
my $errors0 = figure('sigil_sync_errors_total');
my @bad = (
    [{ sync_sql_conninfo => "host=$dir/pgsock dbname=nosuch user=synapse_ro" },
	qr/SQL source: cannot connect: .*nosuch/, 'a database that is not there'],
    [{ sync_sql_conninfo => "host=$dir/nosuch-socket dbname=$db" },
	qr/SQL source: cannot connect/, 'a server that is not there'],
    [{ sync_sql_conninfo => $ci,
	sync_sql_query => 'SELECT medium, address, user_id FROM nosuch' },
	qr/sync_sql_query failed: .*nosuch/, 'a query that fails'],
    [{ sync_sql_conninfo => $ci,
	sync_sql_query => 'SELECT medium, address FROM user_threepids' },
	qr/returns 2 column\(s\); it must return medium, address and user ID/,
	'a query of two columns'],
    [{ sync_sql_conninfo => "host=$dir/pgsock dbname=$db user=postgres",
	sync_sql_query => 'DELETE FROM user_threepids RETURNING medium,'
	. ' address, user_id' },
	qr/sync_sql_query failed: .*read-only transaction/,
	'a query that writes, even as a role that may (a read-only '
	. 'transaction)'],
);
for my $b (@bad) {
	my ($kv, $why, $name) = @$b;
	$r = run_sync(sync_conf(%$kv), '--once');
	is($r->{status}, 1, "$name: exit 1");
	like($r->{err}, $why, "$name: says why");
	like($r->{err}, qr/nothing changed/, "$name: and that nothing changed");
	is(owned(), 2, "$name: nothing removed");
}
is(found('email', "ann\@$dom"), "\@ann:$hs", 'ann is still found');
figure_is('sigil_sync_errors_total', $errors0 + @bad,
    'metrics: every failed run counted');
figure_is('sigil_sync_last_success_timestamp_seconds', $success,
    'metrics: the last success is still the first run\'s');

# Bad entries: skipped, said and counted; the rest bound, canonical.
my $skipped0 = figure('sigil_sync_skipped_total');
set_threepids($db, ["\@ann:$hs", 'email', "ann\@$dom"],
    ["\@ben:$hs", 'email', "ben\@$dom"],
    ["\@cid:$hs", 'email', "Cid\@SYNC65.Example"],
    ["\@dee:$hs", 'email', 'not-an-address'],
    ['eve', 'email', "eve\@$dom"],
    ["\@fay:$hs", 'msisdn', '0123'],
    ["\@gil:$hs", 'carrier-pigeon', "gil\@$dom"],
    ["\@ben2:$hs", 'email', "BEN\@$dom"]);
my $nulls = 'SELECT medium, address, user_id, added_at FROM user_threepids'
    . " UNION ALL SELECT 'email', 'hal\@$dom', NULL, 0";
$r = run_sync(sync_conf(sync_sql_conninfo => $ci, sync_sql_query => $nulls),
    '--once');
is($r->{status}, 0, 'bad entries are not fatal') or diag($r->{err});
like($r->{err}, qr/skipped email not-an-address -> \@dee:\S+: not a valid address/,
    'a bad address is said');
like($r->{err}, qr/skipped email eve\@\Q$dom\E -> eve: not a valid user ID/,
    'a bad user ID is said');
like($r->{err}, qr/skipped msisdn 0123 .*: not a valid address/,
    'a bad number is said');
like($r->{err}, qr/skipped carrier-pigeon /, 'an unknown medium is said');
like($r->{err}, qr/skipped email hal\@\Q$dom\E -> \(no user ID\): a column is NULL/,
    'a NULL is said');
like($r->{err}, qr/skipped email BEN\@\Q$dom\E -> \@ben2:\S+: the address is already given/,
    'an address given twice is said (the first stands)');
figure_is('sigil_sync_skipped_total', $skipped0 + 6, 'metrics: 6 skipped');
is(found('email', "cid\@$dom"), "\@cid:$hs",
    'an address bound in its canonical form');
is(found('email', "ben\@$dom"), "\@ben:$hs", 'the first of two stands');
is(owned(), 3, 'three bindings');

# One run at a time: while another holds the lock, a run does nothing.
open(my $holder, '|-', 'psql', '-X', '-q', '-o', '/dev/null', '-d',
    "host=$dir/pgsock dbname=sigil user=sigil") or die "psql: $!";
{ my $old = select($holder); $| = 1; select($old); }
print $holder "SELECT pg_advisory_lock(hashtext('sigil-sync'));\n";
ok(wait_for(sub { psql("SELECT count(*) FROM pg_locks WHERE locktype ="
    . " 'advisory' AND granted") > 0 }, 30), 'another "run" holds the lock');
set_threepids($db, ["\@ann:$hs", 'email', "ann\@$dom"],
    ["\@ben:$hs", 'email', "ben\@$dom"],
    ["\@cid:$hs", 'email', "cid\@$dom"],
    ["\@jo:$hs", 'email', "jo\@$dom"]);
$r = run_sync($conf, '--once');
is($r->{status}, 0, 'a run while another runs: exit 0');
like($r->{err}, qr/another sigil-sync is running; this run does nothing/,
    'and says so');
is(found('email', "jo\@$dom"), undef, 'and did nothing');
close($holder);
$r = run_sync($conf, '--once');
is($r->{status}, 0, 'the lock given back: a run') or diag($r->{err});
is(found('email', "jo\@$dom"), "\@jo:$hs", 'which did its work');

# No source: --once refuses to run.
my $none = sync_conf();
$r = run_sync($none, '--once');
is($r->{status}, 1, 'no source configured: exit 1');
like($r->{err}, qr/no source is configured/, 'and says so');
is(owned(), 4, 'nothing removed');

# A bad value of a sync_ key stops the start.
$r = run_sync(sync_conf(sync_sql_conninfo => $ci, sync_user_binds => 'maybe'),
    '--once');
is($r->{status}, 1, 'sync_user_binds = maybe: exit 1');
like($r->{err}, qr/sync_user_binds/, 'naming the key');

# The daemon: a run as it starts, then every sync_interval; SIGTERM.
set_threepids($db, ["\@ann:$hs", 'email', "ann\@$dom"],
    ["\@ben:$hs", 'email', "ben\@$dom"],
    ["\@cid:$hs", 'email', "cid\@$dom"],
    ["\@jo:$hs", 'email', "jo\@$dom"],
    ["\@ivy:$hs", 'email', "ivy\@$dom"]);
my $dconf = sync_conf(sync_sql_conninfo => $ci, sync_interval => 10);
my $log = "$dir/logs/sigil-sync-65.log";
my $pid = fork() // die;
if ($pid == 0) {
	open(STDOUT, '>', '/dev/null');
	{ exec(build_dir() . "/sigil-sync", "-c", $dconf, "-l", $log) };
	POSIX::_exit(127);
}
ok(wait_for(sub { defined found('email', "ivy\@$dom") }, 30),
    'the daemon synced as it started');
kill 'TERM', $pid;
my $gone = wait_for(sub { waitpid($pid, POSIX::WNOHANG()) == $pid }, 30);
ok($gone, 'and stops on SIGTERM');
is($? >> 8, 0, 'with status 0') if $gone;
like(slurp($log), qr/syncing every 10 s/, 'its log (-l)');

sync_fresh();
done_testing();
