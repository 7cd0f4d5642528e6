# sigil-supervise reloads on SIGHUP without a failed request: a key
# rotated in the configuration is served by the new workers, pools take
# their new sizes, and a bad configuration or workers file is refused
# while the running workers go on; all of it under a steady load that
# must see only 200s.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $sup = "$dir/reload";
mkdir $sup;
my $bin = build_dir() . '/sigil-supervise';
my $conf = "$sup/sigil.conf";
spew($conf, slurp("$dir/sigil.conf"));
spew("$sup/workers", "status 2\npubkey 2\n");

sub count { scalar @{ children($_[0])->{$_[1]} // [] } }
sub log_text { slurp("$sup/supervise.log") }

my $pid = fork() // die;
if ($pid == 0) {
	open(STDOUT, '>', '/dev/null');
	exec($bin, '-c', $conf, '-w', "$sup/workers", '-s', $sup,
	    '-l', "$sup/supervise.log", '-p', "$sup/supervise.pid");
	exit 127;
}
ok(wait_for(sub { count($pid, 'sigil-status') == 2
    && count($pid, 'sigil-pubkey') == 2 }, 15), 'two status, two pubkey workers');
my $pubkey = { sock => "$sup/sigil-pubkey.sock" };
my $status = { sock => "$sup/sigil-status.sock" };
my $old_id = conf_value('signing_key_id');
is(fcgi_request($pubkey, 'GET', "/_matrix/identity/v2/pubkey/$old_id")->{status},
    200, 'the current key is served');

# The load: two clients, each request answered 200 or counted a failure.
my @load;
for my $h ($pubkey, $status) {
	my $path = $h eq $pubkey ? "/_matrix/identity/v2/pubkey/$old_id"
	    : '/_matrix/identity/versions';
	my $child = fork() // die;
	if ($child == 0) {
		open(my $out, '>', "$sup/load-$$") or die;
		$out->autoflush(1);
		my $end = time + 120;
		while (!-e "$sup/stop" && time < $end) {
			my $r = fcgi_request($h, 'GET', $path);
			print $out "$r->{status}\n";
		}
		exit 0;
	}
	push @load, $child;
}
sub answers { map { split /\n/, slurp("$sup/load-$_") } @load }
ok(wait_for(sub { answers() > 20 }, 30), 'the load runs');

# 1. A key rotation in the configuration, then SIGHUP.
my $before = children($pid);
my $out = `deploy/sigil-rotate-key '$conf' '$sup/new.key' ed25519:reloaded 2>&1`;
is($?, 0, 'the key rotated in the configuration') or diag($out);
kill 'HUP', $pid;
ok(wait_for(sub { fcgi_request($pubkey, 'GET',
    '/_matrix/identity/v2/pubkey/ed25519:reloaded')->{status} == 200 }, 30),
    'SIGHUP: the new workers serve the new key');
ok(wait_for(sub { my $c = children($pid);
    my %old = map { $_ => 1 } map { @$_ } values %$before;
    @{ $c->{'sigil-pubkey'} // [] } == 2 && @{ $c->{'sigil-status'} // [] } == 2
    && !grep { $old{$_} } map { @$_ } values %$c }, 30),
    'every worker was replaced, the pools as they were');
is(fcgi_request($pubkey, 'GET', "/_matrix/identity/v2/pubkey/$old_id")->{status},
    200, 'the old key stays published (old_key)');

# 2. A bad configuration: refused, the same workers serve on.
$before = children($pid);
my $good = slurp($conf);
spew($conf, $good . "no_such_key = 1\n");
kill 'HUP', $pid;
ok(wait_for(sub { log_text() =~ /reload refused: .*no_such_key/ }, 30),
    'a bad configuration: the reload is refused, saying why')
    or diag(log_text());
is_deeply(children($pid), $before, 'and the workers are the same');
is(fcgi_request($pubkey, 'GET', '/_matrix/identity/v2/pubkey/ed25519:reloaded')
    ->{status}, 200, 'and serve');
spew($conf, $good);

# 3. A key file that no worker could load: -t refuses it first.
spew("$sup/broken.key", "not a key\n");
chmod 0600, "$sup/broken.key";
spew($conf, $good =~ s{^signing_key = .*$}{signing_key = $sup/broken.key}mr);
kill 'HUP', $pid;
ok(wait_for(sub { log_text() =~ /reload refused: sigil-\w+ -t failed/ }, 30),
    'a key no worker could load: refused (the programs\' -t)')
    or diag(log_text());
is_deeply(children($pid), $before, 'the workers are the same');
spew($conf, $good);

# 4. A database down for a moment is no reason to refuse: the new
# workers start without it and connect when it is back.
spew($conf, $good =~ s{^database\s*=.*$}{database = host=$dir/nosuch dbname=sigil user=sigil}mr);
kill 'HUP', $pid;
sub reloads { scalar(() = log_text() =~ /reloaded: every worker/g) }
ok(wait_for(sub { reloads() == 2 }, 30),
    'a configuration whose database does not answer now: reloaded')
    or diag(log_text());
spew($conf, $good);
kill 'HUP', $pid;
ok(wait_for(sub { reloads() == 3 }, 30),
    'and back');
ok(wait_for(sub { fcgi_request($pubkey, 'GET',
    '/_matrix/identity/v2/pubkey/ed25519:reloaded')->{status} == 200 }, 30),
    'serving');

# 5. The pools' sizes: grown, then shrunk.
spew("$sup/workers", "status 2\npubkey 3\n");
kill 'HUP', $pid;
ok(wait_for(sub { count($pid, 'sigil-pubkey') == 3 && reloads() == 4 }, 60),
    'pubkey grown to 3');
spew("$sup/workers", "status 1\npubkey 1\n");
kill 'HUP', $pid;
ok(wait_for(sub { count($pid, 'sigil-pubkey') == 1
    && count($pid, 'sigil-status') == 1 }, 60), 'and shrunk to 1 each')
    or diag(join(' ', map { chomp; $_ } `ps -o pid=,stat=,comm= --ppid $pid`),
    "\n", log_text());

# 6. Another set of programs needs a restart.
$before = children($pid);
spew("$sup/workers", "status 1\npubkey 1\nlookup 1\n");
kill 'HUP', $pid;
ok(wait_for(sub { log_text() =~ /reload refused: the workers file names other programs/ }, 30),
    'a program added: refused, restart for that');
is_deeply(children($pid), $before, 'the workers are the same');

# The load saw no failure at all.
spew("$sup/stop", '');
waitpid($_, 0) for @load;
my @all = answers();
my @bad = grep { $_ ne '200' } @all;
ok(@all > 50, scalar(@all) . ' requests during the reloads');
is(scalar @bad, 0, 'none failed') or diag("statuses: @bad[0 .. ($#bad < 9 ? $#bad : 9)]");

kill 'TERM', $pid;
waitpid($pid, 0);
is($?, 0, 'the supervisor stops cleanly');

done_testing();
