# Lookup limits and the sliding window they share with every rate limit.
# A worker of its own with low limits (the stack's defaults are sized so
# that no other test reaches them): v1 lookup and bulk_lookup per client
# address, v2 lookup per user, counted in addresses; a refused lookup is
# 429 M_LIMIT_EXCEEDED with retry_after_ms and answers nothing; a list
# longer than the whole limit is 400.  Then the window: time is moved by
# shifting the stored slots back in rate_limits (no sleeping), and no
# span of the window's length ever takes more than the limit, across
# what would have been a fixed window's boundary too.
use strict;
use warnings;
use lib 't/lib';
use Digest::SHA qw(sha256);
use MIME::Base64;
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';
my $hs = $ENV{SIGIL_TEST_HS};

sub hash_of {
	my ($address, $medium, $pepper) = @_;
	return encode_base64(sha256("$address $medium $pepper"), '')
	    =~ tr{+/}{-_}r =~ s/=+$//r;
}

# One bound address, so that a refused lookup can be seen to say nothing.
my $sid = validated_session('limited@example.org', 'lim1');
is(post("$v1/3pid/bind", { sid => $sid, client_secret => 'lim1',
    mxid => '@limited:example.org' })->{status}, 200, 'a binding to look up');

# 10 addresses per 30 days: a slot (a tenth of the window) is 3 days, so
# no real slot boundary falls inside this test.
my $window = 30 * 86400;
my $slot_ms = $window * 100;
my $w = start_worker('lookup', slurp("$dir/sigil.conf")
    . "ratelimit_lookup_ip = 10 $window\n"
    . "ratelimit_lookup_user = 10 $window\n");

# The stored state of BUCKET as if everything in it had happened SLOTS
# slots earlier.
sub age {
	my ($bucket, $slots) = @_;
	psql("UPDATE rate_limits SET slot = slot - $slots"
	    . " WHERE bucket = '$bucket'");
}
sub pairs { [map { ['email', "limit$_\@example.org"] } 1 .. $_[0]] }
sub bulk {
	my ($n, $extra) = @_;
	return fcgi_request($w, 'POST', "$v1/bulk_lookup",
	    { threepids => [@{ pairs($n) }, @{ $extra // [] }] });
}
# A 429 whose retry_after_ms is more than LEAST slots and at most MOST:
# when the oldest slot that must leave the window will have left it.
sub limited {
	my ($r, $name, $least, $most) = @_;
	is_error($r, 429, 'M_LIMIT_EXCEEDED', $name);
	my $ms = $r->{json}{retry_after_ms} // 0;
	ok($ms > $least * $slot_ms && $ms <= $most * $slot_ms,
	    "... retry_after_ms $ms: in ($least, $most] slots");
	unlike($r->{content}, qr/limited|threepids|mappings/,
	    '... and nothing looked up');
}

# v1, per client address, in addresses.
{
	local $ENV{SIGIL_TEST_REMOTE_ADDR} = '192.0.2.1';
	my $r = bulk(5, [['email', 'limited@example.org']]);
	is($r->{status}, 200, 'bulk_lookup of 6 within a limit of 10');
	is($r->{json}{threepids}[0][2], '@limited:example.org', '... answered');
	limited(bulk(4, [['email', 'limited@example.org']]),
	    'bulk_lookup of 5 more: 429, 6 + 5 > 10', 10, 11);
	is(bulk(4)->{status}, 200, 'bulk_lookup of 4 more: 10, taken');
	limited(fcgi_request($w, 'GET',
	    "$v1/lookup?medium=email&address=limited%40example.org"),
	    'v1 lookup of one more: 429', 10, 11);
	is_error(bulk(11), 400, 'M_TOO_LARGE',
	    'a list longer than the whole limit: 400 M_TOO_LARGE');
	is_error(fcgi_request($w, 'POST', "$v1/bulk_lookup", { threepids => 'x' }),
	    400, 'M_INVALID_PARAM', 'bad input is still 400, not 429');
}
{
	local $ENV{SIGIL_TEST_REMOTE_ADDR} = '192.0.2.2';
	my $r = fcgi_request($w, 'GET',
	    "$v1/lookup?medium=email&address=limited%40example.org");
	is($r->{json}{mxid}, '@limited:example.org',
	    'another client address has a limit of its own');
}
is(psql("SELECT total - before[11] FROM rate_limits"
    . " WHERE bucket = 'lookup:ip:192.0.2.1'"), 10,
    'the refused requests took nothing');

# Two workers, 30 requests at once from one client address: exactly 10
# taken, whichever worker each reached.
{
	local $ENV{SIGIL_TEST_REMOTE_ADDR} = '192.0.2.4';
	my $w2 = start_worker('lookup', slurp("$dir/sigil.conf")
	    . "ratelimit_lookup_ip = 10 $window\n");
	my @kids;
	for my $i (1 .. 30) {
		pipe(my $rd, my $wr) or die "pipe: $!";
		my $pid = fork() // die "fork: $!";
		if ($pid == 0) {
			close $rd;
			my $r = fcgi_request($i % 2 ? $w : $w2, 'GET',
			    "$v1/lookup?medium=email&address=limited%40example.org");
			print $wr $r->{status};
			close $wr;
			exit 0;
		}
		close $wr;
		push @kids, [$pid, $rd];
	}
	my %n;
	for (@kids) {
		my ($pid, $rd) = @$_;
		my $status = <$rd> // 'none';
		waitpid($pid, 0);
		$n{$status}++;
	}
	is_deeply(\%n, { 200 => 10, 429 => 20 },
	    '30 at once through two workers: 10 taken, 20 refused');
	stop_worker($w2);
}

# The window slides: ten taken now are counted for a whole window and
# at most a tenth more, never less.
{
	local $ENV{SIGIL_TEST_REMOTE_ADDR} = '192.0.2.1';
	age('lookup:ip:192.0.2.1', 9);
	limited(bulk(1), '0.9 windows later, still full', 1, 2);
	age('lookup:ip:192.0.2.1', 1);
	limited(bulk(1), 'a window later, still counted (up to 1.1)',
	    0, 1);
	age('lookup:ip:192.0.2.1', 1);
	is(bulk(10)->{status}, 200, '1.1 windows later, all 10 again');
	limited(bulk(1), '... and no more', 10, 11);
}

# Across a boundary: 5 late in one window, 5 early in the next, and a
# fixed window would take 10 more.  Here nothing more is taken until the
# first 5 are a whole window old, and then 5, not 10.
{
	local $ENV{SIGIL_TEST_REMOTE_ADDR} = '192.0.2.3';
	is(bulk(5)->{status}, 200, '5 at the end of a window');
	age('lookup:ip:192.0.2.3', 2);
	is(bulk(5)->{status}, 200, '5 more 0.2 windows later');
	limited(bulk(1), 'the 11th within a window: 429', 8, 9);
	age('lookup:ip:192.0.2.3', 8);
	limited(bulk(1), 'a window after the first 5: still 429',
	    0, 1);
	age('lookup:ip:192.0.2.3', 1);
	is(bulk(5)->{status}, 200, 'once the first 5 are 1.1 windows old,'
	    . ' 5 more');
	limited(bulk(1), '... and not one more', 1, 2);
	my @taken = split /\|/, psql("SELECT total, before[11]"
	    . " FROM rate_limits WHERE bucket = 'lookup:ip:192.0.2.3'");
	is($taken[0] - $taken[1], 10, 'the window holds 10, the limit');
}

# v2, per user of the token, in hashes sent.
my $tok = register_user('limits');
my $other = register_user('limits2');
my $auth = { Authorization => "Bearer $tok" };
my $pepper = get("$v2/hash_details", $auth)->{json}{lookup_pepper};
my $h = hash_of('limited@example.org', 'email', $pepper);
sub v2 {
	my ($n, $a, %o) = @_;
	return fcgi_request($w, 'POST', "$v2/lookup", { algorithm => 'sha256',
	    pepper => $o{pepper} // $pepper,
	    addresses => [$h, map { "x$_" } 2 .. $n] }, $a);
}
my $r = v2(6, $auth);
is($r->{status}, 200, 'v2 lookup of 6 hashes within 10');
is($r->{json}{mappings}{$h}, '@limited:example.org', '... answered');
limited(v2(5, $auth), 'v2 lookup of 5 more: 429', 10, 11);
$r = fcgi_request($w, 'POST', "$v2/lookup", { algorithm => 'none',
    pepper => $pepper, addresses => [map { "x$_\@example.org email" }
    1 .. 5] }, $auth);
is_error($r, 429, 'M_LIMIT_EXCEEDED', '"none" counts against it too');
is_error(v2(5, $auth, pepper => 'stale'), 400, 'M_INVALID_PEPPER',
    'a stale pepper is told so, and takes nothing');
is(v2(4, $auth)->{status}, 200, '4 more: 10, taken');
is(v2(6, { Authorization => "Bearer $other" })->{status}, 200,
    'another user has a limit of their own');
is_error(v2(11, { Authorization => "Bearer $other" }), 400, 'M_TOO_LARGE',
    'a list longer than the whole limit: 400 M_TOO_LARGE');
is_error(v2(1, { Authorization => 'Bearer nosuch' }), 401, 'M_UNAUTHORIZED',
    'an unknown token is 401, not 429');
is(psql("SELECT total - before[11] FROM rate_limits"
    . " WHERE bucket = 'lookup:user:\@limits:$hs'"), 10,
    'the user\'s window holds 10');
stop_worker($w);

# Leases: a limit of 3000 lends a worker 3 units more than a request
# needs, spent on its next requests without writing the shared row.
$w = start_worker('lookup', slurp("$dir/sigil.conf")
    . "ratelimit_lookup_ip = 3000 $window\n"
    . "ratelimit_lookup_user = 3000 $window\n");
sub total { psql("SELECT total FROM rate_limits WHERE bucket = '$_[0]'") }
{
	local $ENV{SIGIL_TEST_REMOTE_ADDR} = '192.0.2.8';
	my @t;
	for (1 .. 5) {
		is(fcgi_request($w, 'GET', "$v1/lookup?medium=email&address="
		    . "limited%40example.org")->{json}{mxid},
		    '@limited:example.org', "leased v1 lookup $_");
		push @t, total('lookup:ip:192.0.2.8');
	}
	is("@t", '4 4 4 4 8', 'the row is written once every 4 lookups');
	# Room for 1 only: granted 1, no lease; then refused.
	psql("INSERT INTO rate_limits VALUES ('lookup:ip:192.0.2.9', $slot_ms,"
	    . " (extract(epoch FROM clock_timestamp()) * 1000)::bigint"
	    . " / $slot_ms, 2999, array_fill(0::bigint, ARRAY[11]), 1)");
	$ENV{SIGIL_TEST_REMOTE_ADDR} = '192.0.2.9';
	is(bulk(1)->{status}, 200, 'room for one: taken');
	is(total('lookup:ip:192.0.2.9'), 3000, '... with no lease beyond it');
	limited(bulk(1), 'and the next is refused', 10, 11);
}
my $fourth = { Authorization => 'Bearer ' . register_user('limits4') };
my @t;
for (1 .. 5) {
	is(v2(1, $fourth)->{status}, 200, "leased v2 lookup $_");
	push @t, total("lookup:user:\@limits4:$hs");
}
is("@t", '4 4 4 4 8', 'v2: the row is written once every 4 lookups');
is(v2(10, $fourth)->{status}, 200, 'a lookup larger than the lease asks');
is(total("lookup:user:\@limits4:$hs"), 21, '... for itself and a lease');
stop_worker($w);

# Behind a read replica the gate asks the primary first, and the limit
# is taken there before the lookup reads the replica (here the primary
# again, through a connection of its own).
my $third = { Authorization => 'Bearer ' . register_user('limits3') };
$w = start_worker('lookup', slurp("$dir/sigil.conf")
    . "database_replica = " . (conf_value('database'))[0] . "\n"
    . "ratelimit_lookup_user = 10 $window\n");
$r = v2(6, $third);
is($r->{status}, 200, 'with a replica: v2 lookup of 6 hashes within 10');
is($r->{json}{mappings}{$h}, '@limited:example.org', '... answered');
limited(v2(5, $third), 'with a replica: 5 more, 429', 10, 11);
is(v2(4, $third)->{status}, 200, 'with a replica: 4 more, taken');
stop_worker($w);

# The stack's defaults let a client such as Element look up 10,000
# hashes at a time, again and again.
my @many = map { "y$_" } 1 .. 10000;
for my $i (1 .. 3) {
	$r = post("$v2/lookup", { algorithm => 'sha256', pepper => $pepper,
	    addresses => [$h, @many[1 .. 9999]] }, $auth);
	is($r->{status}, 200, "default limits: lookup $i of 10,000 hashes");
}
is($r->{json}{mappings}{$h}, '@limited:example.org', '... answered');

done_testing();
