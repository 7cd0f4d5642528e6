# Templates are checked at start, and only those the program uses: a
# template that is not UTF-8, names an unknown placeholder or does not
# make a message stops the worker with the file and the reason in its
# log; a missing text template does not stop sigil-validate without an
# SMS gateway, nor a missing invite template.  ?brand= names a brand
# folder or gets the default, and no value (the brand included) can add
# a header or reach a page unescaped.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $build = build_dir();
my $v1 = '/_matrix/identity/api/v1';
my $base = slurp("$dir/sigil.conf");
sub without { my ($conf, @keys) = @_;
	$conf =~ s/^\Q$_\E\s*=.*\n//mg for @keys; return $conf }

# tdir(NAME, FILE => TEXT or undef to remove, ...): a template_dir of
# its own with the shipped default brand, changed as asked; returns the
# configuration that uses it and the folder.
sub tdir {
	my ($name, %files) = @_;
	my $t = "$dir/templates-56-$name";
	system('rm', '-rf', $t) == 0 or die;
	mkdir $t or die "$t: $!";
	system('cp', '-r', 'templates/default', "$t/default") == 0 or die;
	for my $f (sort keys %files) {
		(my $sub = $f) =~ s{/[^/]*$}{};
		mkdir "$t/$sub";
		if (defined $files{$f}) { spew("$t/$f", $files{$f}) }
		else { unlink "$t/$f" or die "$t/$f: $!" }
	}
	return (without($base, 'template_dir') . "template_dir = $t\n", $t);
}

# Every worker log, to find a reason whatever the log is called.
sub logs_text { join '', map { slurp($_) } glob("$dir/logs/*.log") }

# start_fails(PROGRAM, CONFIG, REASON, NAME): a worker of PROGRAM with
# CONFIG does not start: it exits (spawn-fcgi may see it go, or not
# when it is slow, as under valgrind) and the log gives REASON; the
# program run alone exits non-zero with REASON too.
sub start_fails {
	my ($prog, $conf, $reason, $name) = @_;
	# spawn-fcgi's own "child exited" goes nowhere.
	open(my $err, '>&', \*STDERR) or die;
	open(STDERR, '>', '/dev/null') or die;
	my $w = eval { start_worker($prog, $conf) };
	open(STDERR, '>&', $err) or die;
	ok(wait_for(sub { logs_text() =~ $reason }, 20),
	    "$name: the log says why");
	if ($w) {
		my ($pid) = slurp($w->{pid}) =~ /(\d+)/;
		my $gone = !$pid || wait_for(sub { !running($pid) }, 20);
		ok($gone, "$name: the worker exits");
		stop_worker($w) unless $gone;
	} else {
		pass("$name: the worker exits (spawn-fcgi saw it)");
	}
	spew("$dir/t56.conf", $conf);
	my $out = `$build/sigil-$prog -c $dir/t56.conf 2>&1 </dev/null`;
	ok($? != 0 && $out =~ $reason, "$name: sigil-$prog alone stops")
	    or diag($out);
}

# starts(PROGRAM, CONFIG, NAME): a worker that starts (a test); the
# handle, or undef when it did not.
sub starts {
	my ($prog, $conf, $name) = @_;
	my $w = eval { start_worker($prog, $conf) };
	ok($w, "$name: sigil-$prog starts") or diag($@);
	return $w;
}

sub ask { my ($w, $secret, $email, $query) = @_;
	return fcgi_request($w, 'POST', "$v1/validate/email/requestToken"
	    . ($query // ''), { client_secret => $secret, email => $email,
	    send_attempt => 1 });
}

sub head_of { my ($raw) = @_; return (split /\r\n\r\n/, $raw, 2)[0] }

my $tv = 'default/verification_template.eml';
my $ti = 'default/invite_template.eml';
my $mail = slurp("templates/$tv");
my ($conf, $t);

# --- Templates that cannot be used stop the start ---------------------

($conf, $t) = tdir('latin1', $tv => $mail =~ s/^Hello,$/H\xe9llo,/mr);
start_fails('validate', $conf,
    qr{\Q$t/$tv\E:\d+: not valid UTF-8}, 'a Latin-1 template');

($conf, $t) = tdir('unknown', $tv => $mail =~ s/%\(link\)s/%(lnik)s/r);
start_fails('validate', $conf,
    qr{\Q$t/$tv\E:\d+: %\(lnik\)s is not one of}, 'an unknown placeholder');

($conf, $t) = tdir('space', $tv => $mail =~ s/%\(link\)s/%(to from)s/r);
start_fails('validate', $conf,
    qr{\Q$t/$tv\E:\d+: a malformed placeholder},
    'a placeholder with a space in it');

($conf, $t) = tdir('noheader', $tv => "Hello,\n\nFollow %(link)s\n");
start_fails('validate', $conf,
    qr{\Q$t/$tv\E: line 1, in the header, is not a header field},
    'a template without headers');

($conf, $t) = tdir('nobody', $tv => "Subject: Verify %(link)s\n");
start_fails('validate', $conf,
    qr{\Q$t/$tv\E: no blank line after the headers},
    'a template without a body');

($conf, $t) = tdir('acmepage', 'acme/verify_response_template.html' =>
    "<p>%(message)s</p>\n\xff\n");
start_fails('validate', $conf,
    qr{\Q$t\E/acme/verify_response_template.html:2: not valid UTF-8},
    'a brand other than the default is checked too');

# --- Only the templates a program uses --------------------------------

($conf, $t) = tdir('nosms', 'default/sms_template.txt' => undef,
    'acme/sms_template.txt' => "\xff\n");
if (my $w = starts('validate', without($conf, qw(sms_gateway sms_url
    sms_token sms_from)) . "sms_gateway = none\n",
    'no sms_template.txt, sms_gateway = none')) {
	my $n = mail_count();
	my $r = ask($w, 'nosms1', 't56-nosms@example.org');
	is($r->{status}, 200, 'and mails') or diag($r->{content});
	is(mail_count(), $n + 1, 'one mail');
	stop_worker($w);
}
# The stack's own configuration has an SMS gateway.  Which fault of the
# two comes first depends on the order of the folders.
start_fails('validate', $conf, qr{\Q$t\E/default:\ sms_template.txt\ is\ missing
    |\Q$t\E/acme/sms_template.txt:1:\ not\ valid\ UTF-8}x,
    'with an SMS gateway, the text template is needed');

($conf, $t) = tdir('badsms',
    'acme/sms_template.txt' => "Code \xff %(token)s\n");
start_fails('validate', $conf,
    qr{\Q$t\E/acme/sms_template.txt:1: not valid UTF-8},
    'with an SMS gateway, a brand\'s text template is checked');

($conf, $t) = tdir('noinvite', $ti => undef);
if (my $w = starts('validate', $conf, 'no invite template')) {
	is(ask($w, 'noinv1', 't56-noinvite@example.org')->{status}, 200,
	    'and mails');
	stop_worker($w);
}
start_fails('invite', $conf,
    qr{\Q$t\E/default: invite_template.eml is missing},
    'sigil-invite without its template');

($conf, $t) = tdir('badinvite', $ti => "Subject: %(room_name)s\n");
if (my $w = starts('validate', $conf, 'a broken invite template')) {
	is(ask($w, 'badinv1', 't56-badinvite@example.org')->{status}, 200,
	    'and mails');
	stop_worker($w);
}
start_fails('invite', $conf,
    qr{\Q$t/$ti\E: no blank line after the headers},
    'sigil-invite with a broken template');

# --- ?brand= -----------------------------------------------------------

($conf, $t) = tdir('brand',
    $tv => $mail =~ s/^(Subject:.*)$/$1\nX-Brand: %(brand)s/mr,
    'default/verify_response_template.html' =>
	"<p class=\"%(brand)s\">%(message)s</p>\n",
    'acme/verification_template.eml' => "Subject: Acme %(brand)s\n"
	. "To: %(to)s\n\nAcme: %(link)s\n");
if (my $w = starts('validate', $conf, 'brands')) {
	my %want = (acme => qr/^Subject: Acme acme\r$/m,
	    nosuch => qr/^X-Brand: default\r$/m,
	    '..%2F..%2Fetc' => qr/^X-Brand: default\r$/m,
	    '..%2Facme' => qr/^X-Brand: default\r$/m,
	    '%2Fetc' => qr/^X-Brand: default\r$/m,
	    'acme%2F..%2Fdefault' => qr/^X-Brand: default\r$/m);
	my $i = 0;
	for my $b (sort keys %want) {
		$i++;
		my $r = ask($w, "brand$i", "t56-brand$i\@example.org",
		    "?brand=$b");
		is($r->{status}, 200, "?brand=$b: 200") or diag($r->{content});
		like(head_of((mails())[-1]{raw}), $want{$b}, "?brand=$b: the "
		    . "brand is " . ($b eq 'acme' ? 'acme' : 'the default'));
	}

	# A brand that would add a header: no Bcc, in any template that
	# puts the brand in a header; the mail goes to the address alone.
	my $n = mail_count();
	my $r = ask($w, 'inject1', 't56-inject@example.org',
	    '?brand=acme%0D%0ABcc:%20evil@example.org');
	is($r->{status}, 200, 'a brand with CR LF: 200 (the default brand)');
	is(mail_count(), $n + 1, 'one mail');
	my $m = (mails())[-1];
	unlike(head_of($m->{raw}), qr/^Bcc:/mi, 'no Bcc header');
	like(head_of($m->{raw}), qr/^X-Brand: default\r$/m,
	    'X-Brand is the default');
	is_deeply($m->{rcpt}, ['t56-inject@example.org'], 'one recipient');
	my $mime = `/usr/bin/python3 t/lib/check-mime.py '$m->{file}'`;
	like($mime, qr/^defects=0$/m, 'a message without defects');

	# The page the link shows: the brand is a folder's name, never the
	# request's text.
	$r = fcgi_request($w, 'GET', "$v1/validate/email/submitToken?sid=1&"
	    . 'client_secret=x&token=y&brand=%22%3E%3Cscript%3Ealert(1)'
	    . '%3C/script%3E');
	like($r->{content}, qr/<p class="default">/,
	    'the page names the default brand');
	unlike($r->{content}, qr/<script/, 'no markup from ?brand=');
	stop_worker($w);
}

# An invite with a brand that would add a header.
($conf, $t) = tdir('ibrand', $ti => slurp("templates/$ti")
    =~ s/^(Subject:.*)$/$1\nX-Brand: %(brand)s/mr);
if (my $w = starts('invite', $conf, 'an invite template with the brand')) {
	my $n = mail_count();
	my $r = fcgi_request($w, 'POST',
	    "$v1/store-invite?brand=x%0ABcc:%20evil\@example.org",
	    { medium => 'email', address => 't56-ibrand@example.org',
	      room_id => '!ibrand:example.org',
	      sender => '@ibrand:example.org' });
	is($r->{status}, 200, 'store-invite with a LF in the brand: 200')
	    or diag($r->{content});
	is(mail_count(), $n + 1, 'one mail');
	my $m = (mails())[-1];
	unlike(head_of($m->{raw}), qr/^Bcc:/mi, 'no Bcc header in the invite');
	like(head_of($m->{raw}), qr/^X-Brand: default\r$/m,
	    'X-Brand is the default');
	stop_worker($w);
}

system('rm', '-rf', glob("$dir/templates-56-*"), "$dir/t56.conf");
done_testing();
