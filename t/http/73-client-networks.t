# Every per-client limit counts an IPv6 client by its /64 (issue 22): from
# one /64, each request from a new address of it, the limit is reached
# as from one address, and a 429 M_LIMIT_EXCEEDED follows; another /64,
# and an IPv4 address, keep limits of their own; an IPv4-mapped address
# (::ffff:a.b.c.d) is its IPv4 address.  The limits are the workers'
# (ratelimit_requester on v1 requestToken, ratelimit_lookup_ip on v1
# lookup and bulk_lookup, ratelimit_invite_client on store-invite), on
# workers of this test's own with small limits, reached over FastCGI
# straight to their sockets with a REMOTE_ADDR of the test's choosing, as
# the web server passes it (loopback has no /64 to send from).  Then
# client_ipv6_prefix = 128 counts each address alone.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $v1 = '/_matrix/identity/api/v1';
open(my $fh, '<', "$dir/sigil.conf") or die;
my $base = do { local $/; <$fh> };
close $fh;
sub without { my ($conf, @keys) = @_;
	$conf =~ s/^\Q$_\E\s*=.*\n//mg for @keys; return $conf }

# A network of this run's own (the buckets live in the stack's
# database): 2001:db8:<run>:<n>::/64.
my $run = sprintf('%x', $$ % 0xffff + 1);
sub net { "2001:db8:$run:$_[0]" }
# The N-th address of /64 NET in one of the forms a web server may write
# it in: compressed, in full with leading zeros, in capitals.
sub addr {
	my ($net, $n) = @_;
	my @forms = ("$net\::$n", "$net:0:0:0:$n", "$net:" . 'ffff:' x 3 . $n,
	    uc("$net:a:b:c:$n"), "$net:$n\::");
	return $forms[$n % @forms];
}
sub from { my ($w, $addr, @req) = @_;
	local $w->{remote_addr} = $addr;
	return fcgi_request($w, @req);
}

my $limit = 5;
my $conf = without($base, qw(ratelimit_requester ratelimit_lookup_ip
    ratelimit_invite_client ratelimit_invite_sender client_ipv6_prefix))
    . "ratelimit_requester = $limit 86400\n"
    . 'ratelimit_lookup_ip = ' . 2 * $limit . " 86400\n"
    . "ratelimit_invite_client = $limit 86400\n"
    . "ratelimit_invite_sender = 0\n";

# Each limit: a request that counts 1 (bulk_lookup: 2 addresses, of a
# limit of 2 * $limit), the N-th of them different from the others in
# everything but the client (no other limit is reached).
my %limits = (
	requestToken => ['validate', sub {
		my $n = shift;
		return ('POST', "$v1/validate/email/requestToken",
		    { client_secret => "cn$run$n", send_attempt => 1,
		      email => "cn$run-$n\@example.org" });
	}],
	bulk_lookup => ['lookup', sub {
		my $n = shift;
		return ('POST', "$v1/bulk_lookup", { threepids => [
		    ['email', "cn$run-$n-a\@example.org"],
		    ['email', "cn$run-$n-b\@example.org"]] });
	}],
	'store-invite' => ['invite', sub {
		my $n = shift;
		return ('POST', "$v1/store-invite", { medium => 'email',
		    address => "cn$run-$n\@example.org",
		    room_id => "!cn$run-$n:example.org",
		    sender => "\@cn$run-$n:example.org" });
	}],
);

my $n = 0;
my $k = 0;
for my $name (sort keys %limits) {
	my ($prog, $make) = @{ $limits{$name} };
	my $w = start_worker($prog, $conf);
	my $net = net(++$k);

	my @st = map { from($w, addr($net, $_), $make->(++$n))->{status} }
	    1 .. $limit;
	is("@st", join(' ', (200) x $limit),
	    "$name: $limit from $limit addresses of $net\::/64 taken");
	my $r = from($w, "$net:1234:5678:9abc:def0", $make->(++$n));
	is_error($r, 429, 'M_LIMIT_EXCEEDED',
	    "$name: one more from a new address of that /64: 429");
	ok(($r->{json}{retry_after_ms} // 0) > 0, '... with retry_after_ms');
	is(from($w, addr(net(++$k), 1), $make->(++$n))->{status}, 200,
	    "$name: another /64 is not limited");
	# A third /64, next to the other two, to its own limit.
	my $next = net(++$k);
	my @st2 = map { from($w, "$next\::$_", $make->(++$n))->{status} }
	    1 .. $limit;
	is("@st2", join(' ', (200) x $limit),
	    "$name: nor the /64 beside it, to its own limit");
	is(from($w, "$next\::ffff%eth0", $make->(++$n))->{status}, 429,
	    "$name: ... which an address with a zone id counts against");
	stop_worker($w);
}

# IPv4: an address counts alone; its mapped form is the same client.
{
	my ($prog, $make) = @{ $limits{requestToken} };
	my $w = start_worker($prog, $conf);
	my $a = '198.51.100.' . ($$ % 200 + 1);
	my @st = map { from($w, $_ % 2 ? $a : "::ffff:$a",
	    $make->(++$n))->{status} } 1 .. $limit;
	is("@st", join(' ', (200) x $limit),
	    "IPv4: $limit from $a and ::ffff:$a taken");
	is_error(from($w, "::FFFF:$a", $make->(++$n)), 429, 'M_LIMIT_EXCEEDED',
	    'one more from its mapped form: 429, the same client');
	my $b = '198.51.100.' . (($$ + 1) % 200 + 1);
	is(from($w, $b, $make->(++$n))->{status}, 200,
	    "IPv4: the next address, $b, is another client");
	stop_worker($w);
}

# client_ipv6_prefix = 128: each address of a /64 counts alone.
{
	my ($prog, $make) = @{ $limits{'store-invite'} };
	my $w = start_worker($prog, $conf . "client_ipv6_prefix = 128\n");
	my $net = net(++$k);
	my @st = map { from($w, "$net\::$_", $make->(++$n))->{status} }
	    1 .. $limit + 2;
	is("@st", join(' ', (200) x ($limit + 2)),
	    'client_ipv6_prefix = 128: addresses of one /64 count alone');
	my @more = map { from($w, "$net\::1", $make->(++$n))->{status} }
	    1 .. $limit;
	is("@more", join(' ', (200) x ($limit - 1), 429),
	    '... and one address reaches its own limit');
	stop_worker($w);
}

done_testing();
