# -t checks all that a program reaches at run time, now, and says plainly
# what it does not have: the database (and replica) of the programs with
# one, the SMTP server of those that mail (a real connection, greeting to
# goodbye, with no mail sent), the SMS gateway of the one that texts (a
# connection, TLS included, with nothing sent); sigil-status says it has
# no database and which program checks it, rather than passing in silence.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $build = build_dir();
my $conf = slurp("$dir/sigil.conf");
sub check {
	my ($prog, $text) = @_;
	my $file = "$dir/check-$prog-" . length($text) . '.conf';
	spew($file, $text);
	my $out = `$build/sigil-$prog -t -c '$file' 2>&1`;
	return ($? >> 8, $out);
}

my ($rc, $out) = check('status', $conf);
is($rc, 0, 'sigil-status -t passes') or diag($out);
like($out, qr/sigil-status has no database \(sigil-health -t/,
    'and says it has no database, and which program checks it');
like($out, qr/sigil-status sends no mail/, 'nor mail');

my $mails = mail_count();
for my $p (qw(validate invite)) {
	($rc, $out) = check($p, $conf);
	is($rc, 0, "sigil-$p -t passes: the database and the SMTP server answer")
	    or diag($out);
	like($out, qr/sigil-$p: all it needs is in order/, 'saying so');
}
is(mail_count(), $mails, 'no mail was sent by the checks');

# An SMTP server that does not answer: -t fails, naming it.
my $port = free_port();
(my $nosmtp = $conf) =~ s{^smtp_url\s*=.*$}{smtp_url = smtp://127.0.0.1:$port}m;
for my $p (qw(validate invite)) {
	($rc, $out) = check($p, $nosmtp);
	is($rc, 1, "sigil-$p -t with no SMTP server there fails");
	like($out, qr/the SMTP server smtp:\/\/127\.0\.0\.1:$port: /,
	    'naming it, with the reason') or diag($out);
}
($rc, $out) = check('lookup', $nosmtp);
is($rc, 0, 'a program that sends no mail does not care') or diag($out);

# The SMS gateway of the program that texts (sigil-validate): connected
# to, TLS included, and nothing sent; one that does not answer fails -t.
my $texts = () = texts();
($rc, $out) = check('validate', $conf);
is(scalar(() = texts()), $texts, 'the check of the SMS gateway sent no text');
my $sms_port = free_port();
(my $nosms = $conf) =~ s{^sms_url\s*=.*$}{sms_url = https://localhost:$sms_port/webhook?key=x}m;
($rc, $out) = check('validate', $nosms);
is($rc, 1, 'sigil-validate -t with no SMS gateway there fails');
like($out, qr{the SMS gateway https://localhost:$sms_port/webhook: },
    'naming it, without its query, with the reason') or diag($out);
unlike($out, qr/key=x/, 'the query (it may hold a secret) is not shown');
($rc, $out) = check('invite', $nosms);
is($rc, 0, 'a program that sends no text does not care') or diag($out);
($rc, $out) = check('validate', $nosms =~ s/^sms_gateway\s*=.*$/sms_gateway = none/mr);
is($rc, 0, 'nor does sigil-validate without a gateway') or diag($out);

# A replica that cannot be reached fails the programs that read from it.
($rc, $out) = check('lookup', $conf . "database_replica = host=$dir/nosuch "
    . "dbname=sigil user=sigil\n");
is($rc, 1, 'sigil-lookup -t with its replica down fails');
like($out, qr/cannot connect/, 'saying why');

done_testing();
