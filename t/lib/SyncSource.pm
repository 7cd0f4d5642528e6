# Helpers for the sigil-sync tests (t/http/64-sync.t, 65-sync-sql.t): a
# second database in the stack's PostgreSQL shaped as Synapse's, whose
# user_threepids table is the SQL source; a configuration for sigil-sync
# (the stack's plus the sync_ keys); one run of sigil-sync.
package SyncSource;

use strict;
use warnings;

use Exporter 'import';
use SigilTest;

our @EXPORT = qw(synapse_db synapse_conninfo synapse_sql set_threepids
    sync_conf run_sync sync_fresh figure figure_is);

# The cluster's superuser (with-stack's initdb -U postgres, trust).
sub super_psql { psql_as('postgres', @_) }

sub synapse_conninfo {
	my ($name) = @_;
	return 'host=' . stack_dir() . "/pgsock dbname=$name user=synapse_ro";
}

# synapse_sql(NAME, SQL): SQL on that database as its owner.
sub synapse_sql { super_psql(@_) }

# synapse_db(NAME): a fresh database NAME with Synapse's user_threepids
# table, exactly as Synapse's schema has it (full schema 72,
# synapse/storage/schema/main/full_schemas/72/full.sql.postgres:935-941
# the table, :1045-1046 its UNIQUE (medium, address), :1288-1289 its
# indexes); validated_at and added_at are ms since the epoch (Synapse
# writes clock.time_msec(): synapse/handlers/auth.py:1619), and email
# addresses are stored lower-cased (canonicalise_email,
# synapse/handlers/auth.py:1612-1614).  A role synapse_ro may only
# SELECT it, as an operator would set sigil-sync up.
sub synapse_db {
	my ($name) = @_;
	super_psql('postgres', "DROP DATABASE IF EXISTS $name");
	super_psql('postgres', "CREATE DATABASE $name");
	super_psql('postgres', "DO \$\$ BEGIN CREATE ROLE synapse_ro LOGIN;"
	    . " EXCEPTION WHEN duplicate_object THEN NULL; END \$\$");
	super_psql($name, <<'SQL');
CREATE TABLE user_threepids (
    user_id text NOT NULL,
    medium text NOT NULL,
    address text NOT NULL,
    validated_at bigint NOT NULL,
    added_at bigint NOT NULL
);
ALTER TABLE ONLY user_threepids
    ADD CONSTRAINT medium_address UNIQUE (medium, address);
CREATE INDEX user_threepids_medium_address ON user_threepids USING btree (medium, address);
CREATE INDEX user_threepids_user_id ON user_threepids USING btree (user_id);
GRANT SELECT ON user_threepids TO synapse_ro;
SQL
}

# set_threepids(NAME, [USER_ID, MEDIUM, ADDRESS]...): the table holds
# exactly those rows, validated and added now (ms).
sub set_threepids {
	my ($name, @rows) = @_;
	my $ms = int(Time::HiRes::time() * 1000);
	my $sql = 'BEGIN; DELETE FROM user_threepids;';
	for my $r (@rows) {
		my @v = map { my $x = $_; $x =~ s/'/''/g; "'$x'" } @$r;
		$sql .= " INSERT INTO user_threepids VALUES ("
		    . join(', ', @v, $ms, $ms) . ');';
	}
	super_psql($name, "$sql COMMIT;");
}

# sync_conf(KEY => VALUE, ...): the stack's configuration plus these
# keys, in a file of its own; returns its path.
my $confs = 0;
sub sync_conf {
	my (%kv) = @_;
	my $dir = stack_dir();
	my $file = "$dir/sync-" . ($0 =~ m{(\d+)[^/]*$})[0] . '-' . ++$confs
	    . '.conf';
	spew($file, slurp("$dir/sigil.conf")
	    . join('', map { "$_ = $kv{$_}\n" } sort keys %kv));
	return $file;
}

# run_sync(CONF, ARGS...): one sigil-sync with that configuration;
# returns { status => its exit status, out => stdout, err => stderr }.
sub run_sync {
	my ($conf, @args) = @_;
	my $dir = stack_dir();
	my ($out, $err) = ("$dir/sync-run-$$.out", "$dir/sync-run-$$.err");
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDOUT, '>', $out) && open(STDERR, '>', $err) &&
		    exec(build_dir() . '/sigil-sync', '-c', $conf, @args);
		POSIX::_exit(127);
	}
	waitpid($pid, 0);
	my %r = (status => $? >> 8, out => scalar(slurp($out)) // '',
	    err => scalar(slurp($err)) // '');
	unlink($out, $err);
	return \%r;
}

# sync_fresh(): no binding sigil-sync made is left from another file
# (the suite shares one database), so the removal guard's share is this
# file's alone.
sub sync_fresh { psql("DELETE FROM bindings WHERE origin = 'sync'") }

# figure(NAME): a sample of /_sigil/metrics (0 when absent, and on a
# shared host, which has no metrics_dir); figure_is(NAME, WANT, TEST):
# a test of it, skipped on a shared host.
sub figure {
	return 0 if shared_host();
	my ($m) = scrape();
	return $m->{$_[0]} // 0;
}
sub figure_is {
	my ($name, $want, $test) = @_;
	SKIP: {
		Test::More::skip('no metrics_dir on a shared host', 1)
		    if shared_host();
		Test::More::is(figure($name), $want, $test);
	}
}

use POSIX ();
use Test::More ();
use Time::HiRes ();

1;
