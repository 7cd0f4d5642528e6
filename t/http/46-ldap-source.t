# The directory source (common/ldapsrc.c) against a real slapd
# (t/lib/SigilSlapd.pm) holding entries generated here, read through
# build/t/ldap-dump, which prints what ldapsrc_read() hands the sync:
# "<medium> <address> <mxid>" lines, then "ok <n>" or "error <reason>".
#
# - an OpenLDAP-shaped directory (inetOrgPerson, uid, mail) over plain
#   LDAP, StartTLS, ldaps:// and ldapi://, the server's certificate
#   checked against the stack's test CA (t/lib/make-test-ca);
# - an Active Directory-shaped one (user objects, sAMAccountName,
#   proxyAddresses typed SMTP:/smtp:/X500:/sip:, objectCategory) with
#   the filter AD deployments use;
# - a directory larger than slapd's size limit (50, as a page limit
#   too; 125 people) read whole through paged results (RFC 2696), and
#   the same without paging, or with pages over the limit, failing;
# - every address through the address rule (lowercased, one per entry
#   however many attributes carry it), user IDs by Matrix's grammar
#   (lowercased; a localpart outside it skipped with a log line);
# - failures, each exit 1 with one line and nothing after it: wrong
#   password, unreachable server, a CA that did not sign the server's
#   certificate (StartTLS and ldaps), the system's CAs, a bad filter, a
#   base that does not exist, a password file others can read, a caller
#   that stops the read; a filter matching nobody is no failure (0
#   lines, exit 0: the sync's removal guard judges that).
#
# Not the web stack's: with-stack gives the CA and the stack folder; the
# test runs under every front alike.
use strict;
use warnings;
use lib 't/lib';
use File::Temp qw(tempdir);
use Test::More;
use SigilTest;
use SigilSlapd;

my $build = build_dir();
my $dump = "$build/t/ldap-dump";
-x $dump or BAIL_OUT("$dump is missing: make $dump");
my $ca = stack_dir() . '/tls';
-r "$ca/ca.pem" or BAIL_OUT("no test CA in $ca");

# A short folder of its own: the ldapi:// socket's path must fit 108
# bytes.
my $tmp = tempdir('sigil-ldap46-XXXXXX', TMPDIR => 1, CLEANUP => 1);
system('t/lib/make-test-ca', "$tmp/other-ca") == 0
    or BAIL_OUT('make-test-ca failed');

my $vg = $ENV{SIGIL_VALGRIND} ? 'valgrind -q --leak-check=full '
    . '--show-leak-kinds=definite,indirect '
    . '--errors-for-leak-kinds=definite,indirect --error-exitcode=99 ' : '';

# The people: u001..u120 with one address each (so 120 lines), and a
# few whose entries test the rules.
my $people = join '', map { ldif_person(sprintf('u%03d', $_),
    sprintf('u%03d@example.org', $_)) } 1 .. 120;
$people .= ldif_person('Alice', 'Alice.Smith@Example.ORG',
    'alice.smith@example.org', 'ALICE@example.net');
$people .= ldif_person('nomail');
$people .= ldif_person('J Smith', 'jsmith@example.org');
$people .= ldif_person('bob', 'not-an-address', 'bob@example.org');
$people .= ldif_person('star*(paren)', 'star@example.org');

# Active Directory's shape: proxyAddresses hold every address, typed
# (SMTP: the primary, smtp: the others, X500:, sip: not mail), mail the
# primary again; a computer account is a "user" too, which the filter
# leaves out.  (AD deployments often filter on objectCategory=person, a
# shorthand of AD's own; msuser.schema gives objectCategory no equality
# rule, so slapd cannot match it, and the filter here is the other
# usual one, by objectClass.)
my $ad = ldif_ad_person('Anna Smith', 'ASmith', [
    'SMTP:Anna.Smith@example.org', 'smtp:asmith@example.net',
    'X500:/o=Example/ou=Exchange Administrative Group/cn=Recipients/cn=asmith',
    'sip:anna.smith@example.org', 'smtp:Anna.Smith@EXAMPLE.org' ],
    ['Anna.Smith@example.org']);
$ad .= ldif_ad_person('Carl Jones', 'cjones', ['SMTP:carl@example.org']);
$ad .= ldif_ad_person('Dee Nomail', 'dnomail', ['X500:/o=Example/cn=dee']);
$ad .= ldif_ad_person('Erin Space', 'erin space',
    ['SMTP:erin@example.org']);
$ad .= ldif_ad_person('PC01', 'PC01$', ['SMTP:pc01@example.org'], undef,
    'computer');

my $s = start_slapd("$tmp/slapd", entries => $people . $ad, tls => $ca,
    sizelimit => 50);

my $n = 0;
# dump_with(KEY => VALUE...): ldap-dump on a config of the directory's
# defaults and these keys ('-' deletes one; key _args: ldap-dump's own
# arguments).  Returns (exit status, [lines before the last], last line,
# stderr).
sub dump_with {
	my (%kv) = @_;
	my $args = delete $kv{_args} // '';
	my %conf = (server_name => 'example.org',
	    public_base_url => 'https://id.example.org',
	    database => 'dbname=unused', signing_key => '/nonexistent',
	    ldap_uri => $s->{uri}, ldap_bind_dn => $s->{bind_dn},
	    ldap_bind_password_file => $s->{password_file},
	    ldap_base => "ou=people,$s->{suffix}",
	    ldap_filter => '(objectClass=inetOrgPerson)',
	    ldap_page_size => 20, %kv);
	my $file = "$tmp/dump-" . ++$n;
	spew("$file.conf", join '', map { "$_ = $conf{$_}\n" }
	    grep { $conf{$_} ne '-' } sort keys %conf);
	system("$vg'$dump' -c '$file.conf' $args >'$file.out' 2>'$file.err'");
	my $rc = $? >> 8;
	my @lines = split /\n/, slurp("$file.out");
	my $last = pop(@lines) // '';
	my $err = slurp("$file.err");
	unlike($err, qr/\Q$s->{password}\E/, "run $n: the password is in "
	    . 'no log line');
	return ($rc, \@lines, $last, $err);
}

# The lines of a good read, sorted; and the checks of a failed one.
sub read_ok {
	my ($name, %kv) = @_;
	my ($rc, $lines, $last, $err) = dump_with(%kv);
	is($rc, 0, "$name: exit 0") or diag("$last\n$err");
	is($last, 'ok ' . scalar(@$lines), "$name: ok and its count");
	return ([sort @$lines], $err);
}
# read_fails(NAME, REGEX, KEY => VALUE...): exit 1, the last line says
# why.  Returns how many lines came before it: emit streams, so a search
# that fails midway (a size limit) has handed over what it read, which
# the caller drops.
sub read_fails {
	my ($name, $want, %kv) = @_;
	my ($rc, $lines, $last, $err) = dump_with(%kv);
	is($rc, 1, "$name: exit 1") or diag("$last\n$err");
	like($last, $want, "$name: says why");
	note("$name: $last");
	return scalar(@$lines);
}
# fails_at_once(NAME, REGEX, KEY => VALUE...): read_fails, before any
# entry was read.
sub fails_at_once {
	is(read_fails(@_), 0, "$_[0]: nothing read");
}

my @people = map { sprintf('email u%03d@example.org @u%03d:example.org',
    $_, $_) } 1 .. 120;
my @rules = ('email alice.smith@example.org @alice:example.org',
    'email alice@example.net @alice:example.org',
    'email bob@example.org @bob:example.org');
my @all = sort(@people, @rules);

# 1. Plain LDAP, 125 entries in pages of 20 past the limit of 50.
my ($got, $err) = read_ok('plain LDAP, paged');
is_deeply($got, \@all, 'every person of the directory, past its size '
    . 'limit of 50: 120 plus the rules\' cases');
like($err, qr/ldap: uid=J Smith,ou=people,dc=example,dc=org: skipped: uid is not a Matrix localpart/,
    'a uid outside the user-ID grammar: skipped, with a log line');
like($err, qr/uid=bob,.*: a value of mail is not an address the address rule accepts/,
    'an address the rule refuses: skipped, with a log line');
like($err, qr/uid=star\*\(paren\),.*: skipped/,
    'a uid with filter characters: skipped too');
like($err, qr/ldap: \S+: 125 entries, 123 addresses; skipped 2 entries without a valid uid and 1 addresses/,
    'and one summary line');
ok(!grep({ /nomail/ } @$got), 'an entry without mail gives nothing');

# 2. The size limit: without paging the search stops at 50, and a read
# that stops short is an error, not 50 people.
is(read_fails('no paging', qr/^error \Q$s->{uri}\E: search of ou=people,dc=example,dc=org without paging \(ldap_page_size\): Size limit exceeded$/,
    ldap_page_size => 0), 50, 'no paging: the 50 entries read before the '
    . 'limit came before the error');
fails_at_once('pages over the server\'s page limit',
    qr/^error .*: Administrative limit exceeded/, ldap_page_size => 500);
($got) = read_ok('pages of exactly the limit', ldap_page_size => 50);
is(scalar(@$got), scalar(@all), 'all of them again');

# 3. TLS: StartTLS and ldaps://, checked against the test CA.
($got) = read_ok('StartTLS', ldap_starttls => 'true',
    ldap_ca_file => "$ca/ca.pem");
is_deeply($got, \@all, 'StartTLS: the same people');
($got) = read_ok('ldaps://', ldap_uri => $s->{ldaps},
    ldap_ca_file => "$ca/ca.pem");
is_deeply($got, \@all, 'ldaps://: the same people');
($got) = read_ok('ldapi://', ldap_uri => $s->{ldapi});
is_deeply($got, \@all, 'ldapi://: the same people');
my $tls_failed = qr/the TLS handshake failed: is the server's certificate signed by/;
fails_at_once('StartTLS, another CA', qr/^error \Q$s->{uri}\E: StartTLS: $tls_failed ldap_ca_file \Q$tmp\E\/other-ca\/ca\.pem/,
    ldap_starttls => 'true', ldap_ca_file => "$tmp/other-ca/ca.pem");
fails_at_once('ldaps://, another CA', qr/^error \Q$s->{ldaps}\E: bind as \Q$s->{bind_dn}\E: $tls_failed ldap_ca_file/,
    ldap_uri => $s->{ldaps}, ldap_ca_file => "$tmp/other-ca/ca.pem");
fails_at_once('ldaps://, the system\'s CAs', qr/^error .*: $tls_failed one of the system's CAs/,
    ldap_uri => $s->{ldaps});
fails_at_once('StartTLS on ldaps://', qr/^error ldap_starttls wants an ldap:\/\/ URI/,
    ldap_uri => $s->{ldaps}, ldap_starttls => 'true');

# 4. Active Directory's shape.
($got) = read_ok('Active Directory',
    ldap_base => "ou=ad,$s->{suffix}",
    ldap_filter => '(&(objectClass=user)(!(objectClass=computer)))',
    ldap_mail => 'proxyAddresses mail', ldap_localpart => 'sAMAccountName');
is_deeply($got, [
    'email anna.smith@example.org @asmith:example.org',
    'email asmith@example.net @asmith:example.org',
    'email carl@example.org @cjones:example.org',
], 'smtp: and SMTP: addresses, lowercased, each once; X500: and sip: '
    . 'left; the computer account not found; a sAMAccountName with a '
    . 'space skipped');
($got) = read_ok('Active Directory, mail alone',
    ldap_base => "ou=ad,$s->{suffix}", ldap_filter => '(objectClass=user)',
    ldap_localpart => 'sAMAccountName');
is_deeply($got, ['email anna.smith@example.org @asmith:example.org'],
    'ldap_mail unset reads mail');

# 5. Failures.
my $wrong = "$tmp/wrong-password";
spew($wrong, "not-the-password\n");
chmod 0600, $wrong;
fails_at_once('wrong password', qr/^error \Q$s->{uri}\E: bind as \Q$s->{bind_dn}\E: Invalid credentials$/,
    ldap_bind_password_file => $wrong);
my $port = free_port();
fails_at_once('unreachable server', qr/^error ldap:\/\/127\.0\.0\.1:$port: bind as .*: Can't contact LDAP server$/,
    ldap_uri => "ldap://127.0.0.1:$port");
fails_at_once('bad filter', qr/^error .*: search of ou=people,dc=example,dc=org for \(uid=u001: Bad search filter/,
    ldap_filter => '(uid=u001');
fails_at_once('a base that does not exist', qr/^error .*: search of ou=nobody,dc=example,dc=org: No such object/,
    ldap_base => "ou=nobody,$s->{suffix}");
my $open = "$tmp/open-password";
spew($open, "$s->{password}\n");
chmod 0644, $open;
fails_at_once('a password file others can read', qr/^error ldap_bind_password_file \Q$open\E: not a file only its owner .*\(mode 644\): chmod 600/,
    ldap_bind_password_file => $open);
fails_at_once('a bind DN without a password', qr/^error ldap_bind_dn and ldap_bind_password_file go together$/,
    ldap_bind_password_file => '-');
# A caller that stops the read: the read fails (what came before is
# the caller's to drop).
my ($rc, $lines, $last) = dump_with(_args => '--stop-after 30');
is($rc, 1, 'a caller that stops: exit 1');
like($last, qr/^error \Q$s->{uri}\E: the read was stopped at uid=u031,/,
    'and the read says where it stopped');
is(scalar(@$lines), 30, 'after the 30 lines the caller took');

# 6. A filter matching nobody is a complete read of nobody.
my ($none) = read_ok('a filter matching nobody',
    ldap_filter => '(uid=nobody-at-all)');
is_deeply($none, [], 'no lines, exit 0');

# An anonymous bind (no bind DN, no password file) is accepted, and
# then sees what the directory shows anonymous readers: here not even
# the base (slapd answers noSuchObject for what an ACL hides), a failed
# read rather than an empty one.
fails_at_once('anonymous bind', qr/^error \Q$s->{uri}\E: search of ou=people,dc=example,dc=org: No such object$/,
    ldap_bind_dn => '-', ldap_bind_password_file => '-');

# 7. The directory changes: the next read says what it holds now.
slapd_modify($s, <<"EOF");
dn: uid=u001,ou=people,$s->{suffix}
changetype: modify
replace: mail
mail: first.changed\@example.org

dn: uid=u002,ou=people,$s->{suffix}
changetype: delete

EOF
($got) = read_ok('after a change', ldap_filter => '(uid=u00*)');
ok((grep { $_ eq 'email first.changed@example.org @u001:example.org' }
    @$got) && !(grep { /u001\@example\.org|u002/ } @$got),
    'a changed mail moved, a removed person is gone');

stop_slapd($s);
done_testing();
