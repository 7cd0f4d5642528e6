# A read replica for lookups: a streaming standby made by the test with
# pg_basebackup; a lookup worker reads bindings through it while binds
# go to the primary.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $v1 = '/_matrix/identity/api/v1';
my ($bin) = sort { $b cmp $a } glob('/usr/lib/postgresql/*/bin');
my $sb = "$dir/standby";
my $sock = "$dir/standby-sock";
# From /, which postgres can enter (the clone may be in root's 0700 home).
my $as_pg = $> == 0 ? 'cd / && runuser -u postgres --' : '';

mkdir $sock;
mkdir $sb, 0700;
system("chown postgres: $sock $sb") if $> == 0;
is(system("$as_pg $bin/pg_basebackup -h $dir/pgsock -U postgres -D $sb -R -c fast "
    . "-X stream >$dir/logs/basebackup.log 2>&1"), 0, 'pg_basebackup');
is(system("$as_pg $bin/pg_ctl -D $sb -l $sock/standby.log -w -t 30 "
    . "-o \"-c listen_addresses='' -k $sock\" start >/dev/null"), 0,
    'the standby starts');
my $replica = "host=$sock dbname=sigil user=sigil";
is(`psql -X -A -t -d '$replica' -c 'SELECT pg_is_in_recovery()'`, "t\n",
    'and is a standby');

open(my $fh, '<', "$dir/sigil.conf") or die;
my $conf = do { local $/; <$fh> } . "database_replica = $replica\n";
my $w = start_worker('lookup', $conf);

# A binding made on the primary, through the stack.
psql("INSERT INTO bindings (medium, address, mxid, ts, not_before, not_after,"
    . " lookup_hash) SELECT 'email', 'replica\@example.org',"
    . " '\@replica:example.org', 1, 1, 2, sigil_lookup_hash("
    . "'replica\@example.org', 'email', pepper) FROM lookup_pepper");
my $seen;
for (1 .. 100) {
	$seen = `psql -X -A -t -d '$replica' -c "SELECT mxid FROM bindings WHERE address = 'replica\@example.org'"`;
	last if $seen =~ /replica/;
	select(undef, undef, undef, 0.1);
}
like($seen, qr/\@replica:example.org/, 'the binding reaches the standby');
my $r = fcgi_request($w, 'GET',
    "$v1/lookup?medium=email&address=replica%40example.org");
is($r->{json}{mxid}, '@replica:example.org',
    'a lookup worker with database_replica finds it');
is(`psql -X -A -t -d '$replica' -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sigil-lookup'"` + 0,
    1, 'reading through the standby (its connection is there)');
$r = fcgi_request($w, 'POST', "$v1/bulk_lookup",
    { threepids => [['email', 'replica@example.org']] });
is_deeply($r->{json}{threepids},
    [['email', 'replica@example.org', '@replica:example.org']],
    'bulk_lookup through the standby');

# Both of the worker's connections die while it is idle: the standby
# restarts, and the primary ends the worker's session there.  The first
# lookup after, from a new client (no lease: it takes from its limit on
# the primary, a write, before it reads through the standby), answers at
# once: the worker found both connections closed before sending
# anything, and made new ones (issue 22, item 8).
my $lookup_conns = "SELECT count(*) FROM pg_stat_activity"
    . " WHERE application_name = 'sigil-lookup'";
sub on_standby {
	open(my $fh, '-|', 'psql', '-X', '-A', '-t', '-d', $replica, '-c',
	    $_[0]) or die "psql: $!";
	my $out = do { local $/; <$fh> } // '';
	close $fh;
	return $out =~ s/\n+\z//r;
}
is(system("$as_pg $bin/pg_ctl -D $sb -l $sock/standby.log -m fast -w -t 30 "
    . "-o \"-c listen_addresses='' -k $sock\" restart >/dev/null"), 0,
    'the standby restarts');
ok(wait_for(sub { on_standby($lookup_conns) eq '0' }, 30),
    'the worker\'s connection to it is gone');
psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
    . " WHERE application_name = 'sigil-lookup'");
ok(wait_for(sub { psql($lookup_conns) == 0 }, 30),
    'the primary ended the worker\'s session there');
my $log_at = length(slurp($w->{log}));
$w->{remote_addr} = '192.0.2.80';
$r = fcgi_request($w, 'GET',
    "$v1/lookup?medium=email&address=replica%40example.org");
is($r->{json}{mxid}, '@replica:example.org',
    'the first lookup afterwards is answered')
    or diag("$r->{status} $r->{content}");
my @said = substr(slurp($w->{log}), $log_at) =~
    /info: database: the server closed the connection; reconnecting$/mg;
is(scalar @said, 2, 'the worker reconnected both, saying so once each');
is(on_standby($lookup_conns), 1, 'reading through the standby again');

stop_worker($w);
system("$as_pg $bin/pg_ctl -D $sb -m fast -w stop >/dev/null");

done_testing();
