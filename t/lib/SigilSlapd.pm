# A throw-away OpenLDAP directory for the tests: slapd (Debian's) started
# in a folder of the test's own with a generated slapd.conf, entries
# loaded by slapadd before it starts, listening on 127.0.0.1 (plain and,
# with a CA folder from t/lib/make-test-ca, ldaps:// and StartTLS) and
# on an ldapi:// socket in the folder; stopped by its pid when the test
# ends.  Never the system's slapd service.
#
#   my $s = start_slapd($dir, entries => $ldif, tls => $ca_dir,
#       sizelimit => 50);
#   $s->{uri}, $s->{ldaps}, $s->{ldapi}, $s->{suffix}, $s->{bind_dn},
#   $s->{password_file} (mode 0600); slapd_modify($s, $ldif) as the
#   directory's admin; stop_slapd($s).
#
# The schema: core, cosine, inetorgperson, nis and OpenLDAP's copy of
# Active Directory's (msuser.schema: user, computer, proxyAddresses,
# sAMAccountName, objectCategory), so that entries can be shaped as
# either.  The bind DN, $s->{bind_dn}, is not the rootdn: the size
# limits apply to it as to any reader (slapd exempts its rootdn).
package SigilSlapd;

use strict;
use warnings;

use Exporter 'import';
use IO::Socket::INET;
use POSIX ();
use SigilTest qw(free_port wait_for slurp spew);

our @EXPORT = qw(start_slapd stop_slapd slapd_modify ldif_person
    ldif_ad_person);

our $SUFFIX = 'dc=example,dc=org';
my $ADMIN = "cn=admin,$SUFFIX";
my $ADMIN_PW = 'admin-secret-46';
my $SCHEMA = '/etc/ldap/schema';

my @running;

# The entries every directory has: the suffix, ou=people, ou=ad (Active
# Directory-shaped entries), ou=services and the bind DN in it.
sub base_ldif {
	my ($pw) = @_;
	return <<"EOF";
dn: $SUFFIX
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,$SUFFIX
objectClass: organizationalUnit
ou: people

dn: ou=ad,$SUFFIX
objectClass: organizationalUnit
ou: ad

dn: ou=services,$SUFFIX
objectClass: organizationalUnit
ou: services

dn: cn=sigil,ou=services,$SUFFIX
objectClass: person
cn: sigil
sn: sigil
userPassword: $pw

EOF
}

# ldif_person(UID, MAIL...): an inetOrgPerson under ou=people.
sub ldif_person {
	my ($uid, @mail) = @_;
	return "dn: uid=$uid,ou=people,$SUFFIX\nobjectClass: inetOrgPerson\n"
	    . "uid: $uid\ncn: $uid\nsn: $uid\n"
	    . join('', map { "mail: $_\n" } @mail) . "\n";
}

# ldif_ad_person(CN, SAMACCOUNTNAME, [PROXYADDRESSES], [MAIL], CLASS?):
# an entry under ou=ad as Active Directory has a user (CLASS 'user', the
# default) or a computer: the mandatory attributes of msuser.schema's
# mstop (instanceType, nTSecurityDescriptor, objectCategory), and
# extensibleObject for sAMAccountName, which that schema gives to no
# class.
sub ldif_ad_person {
	my ($cn, $sam, $proxy, $mail, $class) = @_;
	$class //= 'user';
	my $cat = $class eq 'user' ? 'Person' : 'Computer';
	return "dn: CN=$cn,ou=ad,$SUFFIX\nobjectClass: top\n"
	    . "objectClass: person\nobjectClass: organizationalPerson\n"
	    . "objectClass: user\n"
	    . ($class eq 'user' ? '' : "objectClass: $class\n")
	    . "objectClass: extensibleObject\ncn: $cn\nsn: $cn\n"
	    . "instanceType: 4\nnTSecurityDescriptor: AQAEjA==\n"
	    . "objectCategory: CN=$cat,CN=Schema,CN=Configuration,$SUFFIX\n"
	    . "sAMAccountName: $sam\n"
	    . join('', map { "proxyAddresses: $_\n" } @{ $proxy // [] })
	    . join('', map { "mail: $_\n" } @{ $mail // [] }) . "\n";
}

# start_slapd(DIR, entries => LDIF, tls => CA_DIR, sizelimit => N,
# password => PW): a running slapd holding the base entries and LDIF.
# With sizelimit, a search returns at most N entries and a page at most
# N (size.pr), but a paged search may go on past N (size.prtotal
# unlimited), as Active Directory's MaxPageSize does.  Dies when slapd
# does not start.
sub start_slapd {
	my ($dir, %o) = @_;
	my $pw = $o{password} // 'sigil-ldap-password-46';
	my $limit = defined $o{sizelimit} ?
	    "size.soft=$o{sizelimit} size.hard=$o{sizelimit} "
	    . "size.pr=$o{sizelimit} size.prtotal=unlimited" : 'unlimited';
	my $tls = $o{tls} ? "TLSCACertificateFile $o{tls}/ca.pem\n"
	    . "TLSCertificateFile $o{tls}/hs.pem\n"
	    . "TLSCertificateKeyFile $o{tls}/hs.key\n" : '';
	mkdir $dir;
	mkdir "$dir/db" or die "$dir/db: $!";
	spew("$dir/slapd.conf", <<"EOF");
include $SCHEMA/core.schema
include $SCHEMA/cosine.schema
include $SCHEMA/inetorgperson.schema
include $SCHEMA/nis.schema
include $SCHEMA/msuser.schema
pidfile $dir/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
$tls
database mdb
suffix "$SUFFIX"
rootdn "$ADMIN"
rootpw $ADMIN_PW
directory $dir/db
maxsize 268435456
sizelimit $limit
access to attrs=userPassword
	by anonymous auth
	by * none
access to *
	by dn.exact="cn=sigil,ou=services,$SUFFIX" read
	by * none
EOF
	spew("$dir/data.ldif", base_ldif($pw) . ($o{entries} // ''));
	system("slapadd -q -f '$dir/slapd.conf' -l '$dir/data.ldif' "
	    . ">'$dir/slapadd.log' 2>&1") == 0
	    or die "slapadd failed: " . slurp("$dir/slapadd.log");
	spew("$dir/password", "$pw\n");
	chmod 0600, "$dir/password";
	my ($port, $tls_port) = (free_port(), free_port());
	(my $sock = "$dir/ldapi") =~ s{/}{%2F}g;
	my $s = { dir => $dir, suffix => $SUFFIX,
	    uri => "ldap://127.0.0.1:$port", ldapi => "ldapi://$sock",
	    bind_dn => "cn=sigil,ou=services,$SUFFIX", password => $pw,
	    password_file => "$dir/password", owner => $$ };
	my @urls = ("$s->{uri}/", "$s->{ldapi}/");
	if ($o{tls}) {
		$s->{ldaps} = "ldaps://127.0.0.1:$tls_port";
		push @urls, "$s->{ldaps}/";
	}
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDOUT, '>', "$dir/slapd.log") or POSIX::_exit(127);
		open(STDERR, '>&', \*STDOUT) or POSIX::_exit(127);
		# -d 0: in the foreground, so that this pid is slapd's.
		exec('slapd', '-d', '0', '-f', "$dir/slapd.conf", '-h',
		    join(' ', @urls)) or POSIX::_exit(127);
	}
	$s->{pid} = $pid;
	push @running, $s;
	my $exited = 0;
	my $up = wait_for(sub {
		$exited = 1 if waitpid($pid, POSIX::WNOHANG()) == $pid;
		return 1 if $exited;
		return IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") &&
		    (!$o{tls} || IO::Socket::INET->new(
		    PeerAddr => "127.0.0.1:$tls_port")) && -S "$dir/ldapi";
	}, 30);
	if ($exited || !$up) {
		delete $s->{pid} if $exited;
		die "slapd did not start: " . slurp("$dir/slapd.log");
	}
	return $s;
}

# slapd_modify(S, LDIF): ldapmodify as the directory's admin (changetype
# records).  Dies when it fails.
sub slapd_modify {
	my ($s, $ldif) = @_;
	spew("$s->{dir}/modify.ldif", $ldif);
	my $out = `ldapmodify -x -H '$s->{uri}' -D '$ADMIN' -w '$ADMIN_PW' -f '$s->{dir}/modify.ldif' 2>&1`;
	$? == 0 or die "ldapmodify failed: $out";
}

# stop_slapd(S): TERM to its pid, then waits for it (KILL after 30 s).
sub stop_slapd {
	my ($s) = @_;
	my $pid = delete $s->{pid} or return;
	kill 'TERM', $pid;
	wait_for(sub { waitpid($pid, POSIX::WNOHANG()) == $pid }, 30)
	    or do { kill 'KILL', $pid; waitpid($pid, 0) };
}

END {
	my $rc = $?;
	stop_slapd($_) for grep { ($_->{owner} // 0) == $$ } @running;
	$? = $rc;
}

1;
