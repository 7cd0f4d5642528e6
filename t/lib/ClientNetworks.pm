# The checks that a web front's per-client limit counts an IPv6 client by
# its /64 (t/http/74-client-networks-nginx.t, 79-client-networks-apache.t):
# the same requests and answers through each front, which differ only in
# how a request from a chosen client address is made.
package ClientNetworks;
use strict;
use warnings;
use Exporter 'import';
use Test::More;

our @EXPORT = qw(client_network_checks);

# client_network_checks(FROM): FROM(ADDRESS) makes one request to a
# limited path as from the client at ADDRESS (a text form of it, as a
# client's front may write it) and returns 'ok' when it was let through,
# else the status.  The limit lets 3 requests of one client through, all
# at once, and refuses the fourth with 429 for the rest of the test.
sub client_network_checks {
	my ($from) = @_;
	my $statuses = sub { join ' ', map { $from->($_) } @_ };
	# Networks of the run's own, should a front keep its counts.
	my $run = sprintf('%x', $$ % 0xffff + 1);
	is($statuses->("2001:db8:$run:1::1",
	    "2001:db8:$run:1:ffff:ffff:ffff:ffff", "2001:db8:$run:1:a:b:c:d",
	    "2001:db8:$run:1::99"), 'ok ok ok 429',
	    'four addresses of one /64: the fourth is 429, one client');
	is($statuses->("2001:db8:$run:2::1"), 'ok',
	    'another /64 is another client');
	is($statuses->("2001:db8:$run:1::1"), '429',
	    '... and the first is still limited');
	# Every place of the "::" within a /64's first four hextets, and
	# each /64 written in several forms.
	my @forms = (
		['2001:db8::a', '2001:db8:0:0:1::', '2001:db8::1:2:3:4',
		    '2001:DB8:0:0:ffff::5'],
		['2001:db8:7::1', '2001:db8:7:0:1::', '2001:db8:7:0:1:2:3:4',
		    '2001:db8:7::9:9'],
		['2001::1', '2001::1:0:0:1', '2001:0:0:0:a:b:c:d',
		    '2001::5:6:7:8'],
		['2001::1:2:3:4:5', '2001:0:0:1::', '2001:0:0:1:ffff::',
		    '2001::1:0:0:0:1'],
		['::1', '::a:b:c:d', '::', '0:0:0:0:1::'],
		['::7:1:2:3:4', '0:0:0:7::', '::7:0:0:0:1', '0:0:0:7:1:1:1:1'],
		['::6:7:1:2:3:4', '0:0:6:7::', '::6:7:0:0:0:1',
		    '0:0:6:7:f:f:f:f'],
	);
	is($statuses->(@$_), 'ok ok ok 429', "one /64: @$_") for @forms;
	is($statuses->('2001:db8:0:1::a', '::8:1:2:3:4', '2001:0:0:2::'),
	    'ok ok ok', 'and the networks beside those are others');
	my $v4 = '198.51.100.' . ($$ % 200 + 1);
	is($statuses->($v4, $v4, "::ffff:$v4", $v4), 'ok ok ok 429',
	    'an IPv4 address and its mapped form: one client');
	my $other = '198.51.100.' . (($$ + 1) % 200 + 1);
	is($statuses->($other), 'ok', 'the next IPv4 address is another client');
}

1;
