# Email validation with settings other than the stack's, on workers of
# their own: SMTP down, an SMTP server that never answers, STARTTLS and
# smtps:// with certificate checks, SMTP AUTH, brands of templates, and
# rate limits shared by workers.
use strict;
use warnings;
use lib 't/lib';
use IO::Socket::INET;
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $v1 = '/_matrix/identity/api/v1';
open(my $fh, '<', "$dir/sigil.conf") or die;
my $base = do { local $/; <$fh> };
sub without { my ($conf, @keys) = @_;
	$conf =~ s/^\Q$_\E\s*=.*\n//mg for @keys; return $conf }
sub ask { my ($w, $secret, $email, %more) = @_;
	return fcgi_request($w, 'POST', "$v1/validate/email/requestToken",
	    { client_secret => $secret, email => $email, send_attempt => 1,
	      %more });
}

# SMTP down: a quick M_EMAIL_SEND_ERROR, the session kept, and the same
# request through a working worker mails once.
# Workers under valgrind (SIGIL_VALGRIND) run many times slower: the
# time bounds below allow for that there, and stay tight elsewhere.
my $slow = $ENV{SIGIL_VALGRIND} ? 5 : 1;
my $down = free_port();
my $w = start_worker('validate', without($base, 'smtp_url')
    . "smtp_url = smtp://127.0.0.1:$down\n");
my $n = mail_count();
my $t0 = time;
my $r = ask($w, 'down1', 'down@example.org');
is_error($r, 400, 'M_EMAIL_SEND_ERROR', 'SMTP down: 400 M_EMAIL_SEND_ERROR');
ok(time - $t0 <= 3 * $slow, 'quickly');
is(mail_count(), $n, 'no mail');
is(psql("SELECT send_attempt FROM validation_sessions WHERE address = "
    . "'down\@example.org'"), -1, 'the session is kept, the attempt not counted');
$r = post("$v1/validate/email/requestToken", { client_secret => 'down1',
    email => 'down@example.org', send_attempt => 1 });
is($r->{status}, 200, 'the same request retried where SMTP works');
is(mail_count(), $n + 1, 'mails once');
stop_worker($w);

# An SMTP server that accepts and never answers: an error within the
# timeout (5 s), not a hang until nginx gives up.
my $silent = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1:0')
    or die;
my $sport = $silent->sockport;
$w = start_worker('validate', without($base, 'smtp_url')
    . "smtp_url = smtp://127.0.0.1:$sport\n");
$t0 = time;
$r = ask($w, 'silent1', 'silent@example.org');
is_error($r, 400, 'M_EMAIL_SEND_ERROR', 'a silent SMTP server: an error');
ok(time - $t0 <= 5 + 3 * $slow, 'within the timeout');
stop_worker($w);
close $silent;

# A mail sink of this test's own (deploy/sigil-mailsink with @args):
# its pid, its port and the folder its mail goes to.
sub start_sink { my ($name, @args) = @_;
	my $port = free_port();
	my $mdir = "$dir/mail-$name";
	my $pid = fork();
	if ($pid == 0) {
		open(STDERR, '>>', "$dir/logs/mailsink-$name.log");
		exec('/usr/bin/python3', 'deploy/sigil-mailsink', '--listen',
		    "127.0.0.1:$port", '--dir', $mdir, @args);
		exit 1;
	}
	for (1 .. 100) {
		last if IO::Socket::INET->new("127.0.0.1:$port");
		select(undef, undef, undef, 0.1);
	}
	return ($pid, $port, $mdir);
}
sub stop_sink { kill 'TERM', $_[0]; waitpid($_[0], 0) }
sub arrived { return scalar(() = glob("$_[0]/new/*.eml")) }
my @cert = ("$dir/tls/hs.pem", "$dir/tls/hs.key");
my $ca = "smtp_ca_file = $dir/tls/ca.pem\n";

# A worker with $conf mailing through a TLS sink (what: how): refused
# while it cannot verify the sink's certificate, sent with the test CA.
sub ca_checked { my ($what, $conf, $mdir, $tag) = @_;
	my $w = start_worker('validate', $conf);
	is_error(ask($w, "${tag}1", "$tag\@example.org"), 400,
	    'M_EMAIL_SEND_ERROR',
	    "$what to a certificate we cannot verify: no mail");
	is(arrived($mdir), 0, 'none arrived');
	stop_worker($w);
	$w = start_worker('validate', $conf . $ca);
	is(ask($w, "${tag}2", "$tag\@example.org")->{status}, 200,
	    "$what with the CA: sent");
	is(arrived($mdir), 1, 'and it arrived');
	stop_worker($w);
}

# STARTTLS (certificate checks stay on).
my ($sink, $tls_port, $tls_dir) = start_sink('tls', '--starttls', @cert);
ca_checked('STARTTLS', without($base, 'smtp_url', 'smtp_tls')
    . "smtp_url = smtp://localhost:$tls_port\nsmtp_tls = starttls\n",
    $tls_dir, 'tls');
my $plain = without($base, 'smtp_url', 'smtp_tls')
    . "smtp_url = smtp://localhost:$tls_port\nsmtp_tls = off\n";
$w = start_worker('validate', $plain);
is_error(ask($w, 'tls3', 'tls3@example.org'), 400, 'M_EMAIL_SEND_ERROR',
    'smtp_tls = off against a server that requires STARTTLS: an error');
stop_worker($w);
stop_sink($sink);

# smtps:// (TLS from the first byte, port 465 style): the same checks.
my ($ssink, $sport2, $sdir) = start_sink('smtps', '--smtps', @cert);
ca_checked('smtps://', without($base, 'smtp_url')
    . "smtp_url = smtps://localhost:$sport2\n", $sdir, 'smtps');
stop_sink($ssink);

# SMTP AUTH (smtp_user, smtp_password) over STARTTLS: the right password
# sends, a wrong one or none is an error and sends nothing.
my ($asink, $aport, $adir) = start_sink('auth', '--starttls', @cert,
    '--auth', 'sigil:s3cret pass');
my $auth_conf = without($base, 'smtp_url', 'smtp_tls', 'smtp_user',
    'smtp_password') . "smtp_url = smtp://localhost:$aport\n"
    . "smtp_tls = starttls\n" . $ca;
$w = start_worker('validate', $auth_conf);
is_error(ask($w, 'auth1', 'auth@example.org'), 400, 'M_EMAIL_SEND_ERROR',
    'a server that requires AUTH, without smtp_user: an error');
stop_worker($w);
$w = start_worker('validate', $auth_conf
    . "smtp_user = sigil\nsmtp_password = wrong\n");
is_error(ask($w, 'auth2', 'auth@example.org'), 400, 'M_EMAIL_SEND_ERROR',
    'a wrong smtp_password: an error');
is(arrived($adir), 0, 'and no mail');
stop_worker($w);
$w = start_worker('validate', $auth_conf
    . "smtp_user = sigil\nsmtp_password = s3cret pass\n");
is(ask($w, 'auth3', 'auth@example.org')->{status}, 200,
    'the right smtp_user and smtp_password: sent');
is(arrived($adir), 1, 'and it arrived');
stop_worker($w);
stop_sink($asink);

# Brands: ?brand= picks a folder of template_dir; anything else, ../
# included, falls back to the default.
my $tdir = "$dir/templates";
mkdir $tdir;
system("cp -r templates/default $tdir/default") == 0 or die;
mkdir "$tdir/acme";
open(my $t, '>', "$tdir/acme/verification_template.eml") or die;
print $t "From: %(from)s\nTo: %(to)s\nDate: %(date)s\n"
    . "Message-ID: %(messageid)s\nSubject: Acme \x{c3}\x{a9}t\x{c3}\x{a9} "
    . "v\x{c3}\x{a9}rification\nMIME-Version: 1.0\n"
    . "Content-Type: text/plain; charset=UTF-8\n\nAcme says: %(link)s\n"
    . "100%% sure, %(to_forhtml)s\n";
close $t;
$w = start_worker('validate', without($base, 'template_dir')
    . "template_dir = $tdir\n");
$r = fcgi_request($w, 'POST', "$v1/validate/email/requestToken?brand=acme",
    { client_secret => 'br1', email => 'brand@example.org', send_attempt => 1 });
is($r->{status}, 200, '?brand=acme') or diag($r->{content});
my $m = (mails())[-1];
like($m->{raw}, qr/^Acme says: http/m, "uses acme's template");
like($m->{raw}, qr/^100% sure, brand\@example.org\r$/m, '%% is a percent sign');
like($m->{raw}, qr/^Subject: =\?UTF-8\?B\?[A-Za-z0-9+\/=]+\?=/m,
    'a non-ASCII subject is RFC 2047 encoded');
my $mime = `/usr/bin/python3 t/lib/check-mime.py '$m->{file}'`;
like($mime, qr/^subject=Acme \x{c3}\x{a9}t\x{c3}\x{a9} v\x{c3}\x{a9}rification$/m,
    'and decodes back to the subject');
for my $brand ('..%2F..%2Fetc', '../default', 'nosuch', '.hidden') {
	$r = fcgi_request($w, 'POST',
	    "$v1/validate/email/requestToken?brand=$brand",
	    { client_secret => "br$brand" =~ s/[^a-z]//gr,
	      email => 'brand2@example.org', send_attempt => 1 });
	like((mails())[-1]{raw}, qr/^Subject: Confirm your email/m,
	    "?brand=$brand falls back to the default");
}
stop_worker($w);

# A template with an unknown placeholder stops the start, naming it.
open($t, '>', "$tdir/acme/verify_response_template.html") or die;
print $t "<p>%(mesage)s</p>\n";
close $t;
open(my $cf, '>', "$dir/brands.conf") or die;
print $cf without($base, 'template_dir'), "template_dir = $tdir\n";
close $cf;
my $build = build_dir();
my $err = `$build/sigil-validate -c $dir/brands.conf 2>&1 </dev/null`;
like($err, qr{acme/verify_response_template.html:1: %\(mesage\)s is not one of},
    'a misspelt placeholder stops the start with file and line');

# The rate limit is kept in PostgreSQL: two processes share it.
$w = start_worker('validate', $base);
$n = mail_count();
my @s;
push @s, post("$v1/validate/email/requestToken", { client_secret => "sh$_",
    email => 'shared@example.org', send_attempt => 1 })->{status} for 1 .. 2;
push @s, ask($w, "sh$_", 'shared@example.org')->{status} for 3 .. 4;
is_deeply(\@s, [200, 200, 200, 429],
    'two through the stack, the 4th through another worker: 429');
is(mail_count(), $n + 3, 'three mails in all');
stop_worker($w);

done_testing();
