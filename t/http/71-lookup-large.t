# v2 lookups of the largest list a client may send (lookup_max_addresses,
# 10,000 by default): the answer, byte for byte, for sha256 (hits, misses,
# repeats, in no order) and for "none" (spellings of one address, non-ASCII
# addresses), with user IDs that need JSON escapes; the index that answers
# sha256 lookups without reading the table (sql/011_*); and large requests
# that are wrong: one entry not a string, one entry too many, a body cut
# short.
use strict;
use warnings;
use lib 't/lib';
use Digest::SHA qw(sha256);
use MIME::Base64;
use Test::More;
use SigilTest;

my $v2 = '/_matrix/identity/v2';
my $auth = { Authorization => 'Bearer ' . register_user('large') };
my $r = get("$v2/hash_details", $auth);
is($r->{status}, 200, 'hash_details');
my $pepper = $r->{json}{lookup_pepper};

sub hash_of {
	my ($address, $medium) = @_;
	return encode_base64(sha256("$address $medium $pepper"), '')
	    =~ tr{+/}{-_}r =~ s/=+$//r;
}

# A JSON string as canonical JSON writes it (the spec's appendix): the
# shortest escapes, everything else as is (UTF-8 bytes stay bytes).
sub jstr {
	my ($s) = @_;
	my %short = ("\"" => '\\"', "\\" => '\\\\', "\x08" => '\\b',
	    "\x0c" => '\\f', "\n" => '\\n', "\r" => '\\r', "\t" => '\\t');
	$s =~ s/(["\\\x00-\x1f])/$short{$1} \/\/ sprintf('\\u%04x', ord($1))/ge;
	return "\"$s\"";
}
# {"mappings": MAP} in canonical JSON: keys in byte order.
sub mappings_json {
	my ($map) = @_;
	return '{"mappings":{' . join(',', map { jstr($_) . ':' . jstr($map->{$_}) }
	    sort keys %$map) . '}}';
}
# A v2 lookup body of ALGORITHM and ADDRESSES (strings as sent, or
# numbers for a wrong entry), written here so that bytes stay bytes.
sub lookup_body {
	my ($algorithm, $addresses) = @_;
	return '{"algorithm":"' . $algorithm . '","pepper":"' . $pepper
	    . '","addresses":[' . join(',', map { ref $_ ? ${$_} : jstr($_) }
	    @$addresses) . ']}';
}

# 4,000 bindings, and four whose user IDs need escapes: historical user
# IDs may hold '"' and '\'; a control byte and non-ASCII only an import of
# a broken database would bring, but the answer must be JSON whatever
# the table holds.  One row's hash is not base64 at all (the same).
my $n = 4000;
psql("INSERT INTO bindings (medium, address, mxid, ts, not_before, not_after,"
    . " lookup_hash) SELECT 'email', 'large' || i || '\@example.org',"
    . " '\@large' || i || ':example.org', 1, 1, 2,"
    . " sigil_lookup_hash('large' || i || '\@example.org', 'email', p.pepper)"
    . " FROM generate_series(1, $n) AS i, lookup_pepper p");
my %special = (
    'quote@example.org' => '@o"neil:example.org',
    'backslash@example.org' => '@back\\slash:example.org',
    'control@example.org' => "\@ctl\x01\x1f\t:example.org",
    "j\xc3\xbcrgen\@example.org" => "\@j\xc3\xbcrgen:example.org",
);
for my $a (sort keys %special) {
	(my $mx = $special{$a}) =~ s/'/''/g;
	$mx =~ s/\\/\\\\/g;
	$mx =~ s/([\x00-\x1f])/sprintf('\\%03o', ord($1))/ge;
	psql("INSERT INTO bindings (medium, address, mxid, ts, not_before,"
	    . " not_after, lookup_hash) SELECT 'email', '$a', E'$mx', 1, 1, 2,"
	    . " sigil_lookup_hash('$a', 'email', pepper) FROM lookup_pepper");
}
my $odd_key = "odd\"key\\with\x02escapes";
psql("INSERT INTO bindings (medium, address, mxid, ts, not_before, not_after,"
    . " lookup_hash) VALUES ('email', 'oddkey\@example.org',"
    . " '\@oddkey:example.org', 1, 1, 2, E'odd\"key\\\\with\\002escapes')");
is(psql("SELECT mxid FROM bindings WHERE address = 'control\@example.org'"),
    $special{'control@example.org'}, 'the control bytes are stored as meant');

# sha256: 10,000 entries, in no order: every bound address (some sent
# twice), the odd key, and misses (some of them strings that need escapes,
# which must not turn up in the answer).
my (%want, @sent);
for my $i (1 .. $n) {
	my $h = hash_of("large$i\@example.org", 'email');
	$want{$h} = "\@large$i:example.org";
	push @sent, $h;
	push @sent, $h if $i % 400 == 0;		# 10 repeats
}
for my $a (sort keys %special) {
	my $h = hash_of($a, 'email');
	$want{$h} = $special{$a};
	push @sent, $h;
}
$want{$odd_key} = '@oddkey:example.org';
push @sent, $odd_key, "miss\"quote", "miss\\backslash", "miss\x01control",
    "miss\xc3\xa9";
push @sent, hash_of("unbound$_\@example.org", 'email')
    for 1 .. 10000 - @sent;
is(scalar(@sent), 10000, 'a list of 10,000');
# A fixed shuffle, so that a failure can be run again as it was.
srand(71);
for (my $i = $#sent; $i > 0; $i--) {
	my $j = int(rand($i + 1));
	@sent[$i, $j] = @sent[$j, $i];
}
$r = post("$v2/lookup", lookup_body('sha256', \@sent), $auth);
is($r->{status}, 200, 'v2 lookup of 10,000 hashes');
is(scalar(keys %{ $r->{json}{mappings} // {} }), $n + 5,
    '... every bound hash once, no miss');
is($r->{content}, mappings_json(\%want),
    '... byte for byte the canonical JSON of what is bound');
is($r->{json}{mappings}{ hash_of('quote@example.org', 'email') },
    '@o"neil:example.org', '... a user ID with a quote, as stored');

# The same lookup sent sorted and reversed answers the same bytes.
my $again = post("$v2/lookup", lookup_body('sha256', [reverse sort @sent]),
    $auth);
is($again->{content}, $r->{content}, 'the same list reversed: the same answer');

# "none": spellings of one address are keys of their own, each as sent.
my (%nwant, @nsent);
for my $i (1 .. 2000) {
	my $s = "large$i\@example.org email";
	push @nsent, $s;
	$nwant{$s} = "\@large$i:example.org";
	if ($i % 100 == 0) {
		my $upper = uc("large$i\@example.org") . ' email';
		push @nsent, $upper, $s;	# another spelling, a repeat
		$nwant{$upper} = "\@large$i:example.org";
	}
}
my $ju = "J\xc3\x9cRGEN\@example.org email";	# folds to j\xc3\xbcrgen
push @nsent, "j\xc3\xbcrgen\@example.org email", $ju, 'quote@example.org email',
    'nobody@example.org email', 'no-medium', "large1\@example.org msisdn";
$nwant{"j\xc3\xbcrgen\@example.org email"} = $special{"j\xc3\xbcrgen\@example.org"};
$nwant{$ju} = $special{"j\xc3\xbcrgen\@example.org"};
$nwant{'quote@example.org email'} = $special{'quote@example.org'};
@nsent = reverse @nsent;
$r = post("$v2/lookup", lookup_body('none', \@nsent), $auth);
is($r->{status}, 200, 'v2 lookup "none" of ' . scalar(@nsent) . ' addresses');
is($r->{content}, mappings_json(\%nwant),
    '... byte for byte: each spelling as sent, once, in order');

# The index answers a sha256 lookup without the table (an index-only
# scan once vacuum has marked the pages visible), in byte order.
psql('VACUUM bindings');
my $plan = psql("SET enable_seqscan = off; SET enable_bitmapscan = off;"
    . " EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)"
    . " SELECT b.mxid FROM unnest(ARRAY['x', 'y']) AS y(h)"
    . " JOIN bindings b ON b.lookup_hash = y.h");
like($plan, qr/Index Only Scan using bindings_lookup_hash/,
    'sha256 lookups: an index-only scan of bindings_lookup_hash')
    or diag($plan);
like($plan, qr/Heap Fetches: 0/, '... that reads no table page') or diag($plan);
is(psql("SELECT collation_name FROM information_schema.columns"
    . " WHERE table_name = 'bindings' AND column_name = 'lookup_hash'"), 'C',
    'lookup_hash compares bytes (collation "C"), as the workers sort');
like(psql("SELECT array_to_string(reloptions, ' ') FROM pg_class"
    . " WHERE relname = 'bindings'"),
    qr/autovacuum_vacuum_scale_factor=0\.01\b.*autovacuum_vacuum_insert_scale_factor=0\.01\b/,
    'bindings is vacuumed after 1% of it changed, updates or inserts');

# Large requests that are wrong.
my @bad = @sent;
$bad[5000] = \'12345';
is_error(post("$v2/lookup", lookup_body('sha256', \@bad), $auth), 400,
    'M_INVALID_PARAM', '10,000 entries, one of them a number: 400');
is_error(post("$v2/lookup", lookup_body('sha256', [@sent, 'one-more']), $auth),
    400, 'M_TOO_LARGE', '10,001 entries: 400 M_TOO_LARGE');
my $body = lookup_body('sha256', \@sent);
is_error(post("$v2/lookup", substr($body, 0, length($body) - 2), $auth), 400,
    'M_NOT_JSON', 'a 10,000-entry body cut short: 400 M_NOT_JSON');
is_error(post("$v2/lookup", lookup_body('sha256', \@sent),
    { Authorization => 'Bearer nosuch' }), 401, 'M_UNAUTHORIZED',
    'a list of 10,000 with an unknown token: 401, not looked up');

done_testing();
