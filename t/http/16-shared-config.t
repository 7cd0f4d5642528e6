# The upload bundle carries an example configuration for a shared host
# (deploy/sigil.conf.example-shared, as sigil/sigil.conf.example): the
# keys such a host needs and no more, with the account's paths as
# placeholders.  Filled in as an account would (its paths; the host's
# database and mail server being this stack's), every program's -t passes
# on it; a placeholder left in is caught.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $build = build_dir();
my $dest = "$dir/bundle-16";
system("deploy/sigil-shared-bundle -n '$build' '$dest' >/dev/null") == 0
    or BAIL_OUT('sigil-shared-bundle failed');
my $example = "$dest/sigil/sigil.conf.example";
ok(-f $example, 'the bundle has sigil/sigil.conf.example');
ok(!-e "$dest/public_html/sigil/sigil.conf.example",
    'outside the document root');
my $text = slurp($example);
like($text, qr{passfile=/home/ACCOUNT/sigil/\.pgpass},
    'the password in a passfile');
like($text, qr/sslmode=verify-full sslrootcert=/,
    'verify-full with the CA it needs');

# The account's side: the bundle's sigil/ is ~/sigil, with a key made by
# its own sigil-keygen and the templates it carries.
system("'$dest/sigil/sigil-keygen' '$dest/sigil/signing.key' a_1 >/dev/null")
    == 0 or BAIL_OUT('sigil-keygen failed');
my %host = map { $_ => conf_value($_) } qw(database smtp_url smtp_tls);
sub fill {
	my ($t) = @_;
	$t =~ s{/home/ACCOUNT}{$dest}g;
	$t =~ s{^(database|smtp_url|smtp_tls) = .*$}{$1 = $host{$1}}mg;
	# This stack's mail sink takes no login.
	$t =~ s{^smtp_(user|password) = .*\n}{}mg;
	return $t;
}
my $filled = fill($text);
unlike($filled, qr/ACCOUNT/, 'every path placeholder filled');
spew("$dest/sigil.conf", $filled);
chmod 0600, "$dest/sigil.conf";
for my $p (qw(status pubkey lookup validate invite)) {
	my $out = `$build/sigil-$p -t -c '$dest/sigil.conf' 2>&1`;
	is($? >> 8, 0, "sigil-$p -t passes on the filled example") or diag($out);
	unlike($out, qr/warn/, 'with no warning') or diag($out);
}

# Only the required keys and those a shared host cannot leave at their
# defaults (the key id, mail, templates): nothing else to get wrong.
my @keys = $text =~ /^(\w+) =/mg;
is_deeply([sort @keys], [sort qw(server_name public_base_url database
    signing_key signing_key_id smtp_url smtp_tls smtp_user smtp_password
    mail_from template_dir)], 'the minimal keys');

# A placeholder left in: -t fails, naming the file it cannot read.
(my $half = $filled) =~ s{^signing_key = .*$}
    {signing_key = /home/ACCOUNT/sigil/signing.key}m;
spew("$dest/half.conf", $half);
my $out = `$build/sigil-pubkey -t -c '$dest/half.conf' 2>&1`;
is($? >> 8, 1, 'the key path left as in the example: -t fails');
like($out, qr{/home/ACCOUNT/sigil/signing\.key}, 'naming it') or diag($out);

done_testing();
