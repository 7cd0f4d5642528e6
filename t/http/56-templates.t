# Templates are checked at start, and only those the program uses: a
# template that is not UTF-8, names an unknown placeholder or does not
# make a message stops the worker with the file and the reason in its
# log; a missing text template does not stop sigil-validate without an
# SMS gateway, nor a missing invite template.  ?brand= names a brand
# folder or gets the default, and no value (the brand included) can add
# a header or reach a page unescaped.  A mail's .j2 file, in sydent's
# Jinja2 subset, is used in place of the legacy one and makes the mail
# sydent would; one outside the subset stops the start.
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

# --- sydent's .j2 templates ---------------------------------------------
# sydent 2.x mails <brand>/<name>.eml.j2 in place of <brand>/<name>.eml
# when the file exists (sydent/sydent.py:239-244), rendered by Jinja2 with
# autoescape=True (sydent/config/general.py:63-66) and the variables of
# sydent/util/emailutils.py:62-79 (date, from, to, messageid,
# multipart_boundary), sydent/validators/emailvalidator.py:84-91 (link,
# token, ipaddress) and sydent/http/servlets/store_invite_servlet.py:
# 133-200 (the request's fields and what it adds).  The templates below
# are written for this test in the shape of sydent's res/*/*.eml.j2: a
# multipart/alternative message whose boundary header is folded, |safe in
# the header and the text part, values escaped in the HTML part,
# |urlencode in links and {% if room_type == "m.space" %} ... {% else %}.

# The header fields every mail starts with.
my $j2_head = <<'EOT';
Date: {{ date|safe }}
From: {{ from|safe }}
To: {{ to|safe }}
Message-ID: {{ messageid|safe }}
EOT
# After the subject: the multipart header and the text part's header.
my $j2_text = <<'EOT';
MIME-Version: 1.0
Content-Type: multipart/alternative;
	boundary="{{ multipart_boundary|safe }}"

--{{ multipart_boundary|safe }}
Content-Type: text/plain; charset=UTF-8
Content-Disposition: inline

EOT

my $j2v = $j2_head
    . "Subject: Confirm your address for Example Chat\n" . $j2_text . <<'EOT';
Hello,

Someone asked to use this address with the Example Chat identity server.
To confirm it, open:

{{ link|safe }}

or type the code {{ token|safe }} in your client.

--{{ multipart_boundary|safe }}
Content-Type: text/html; charset=UTF-8
Content-Disposition: inline

<!DOCTYPE html>
<html>
<body>
<p>Someone asked to use this address with Example Chat.</p>
<p><a href="{{ link }}">Confirm your address</a> or copy {{ link }}</p>
<p>Code: {{ token }}</p>
</body>
</html>

--{{ multipart_boundary|safe }}--
EOT

my $j2i = $j2_head . "Subject: {{ subject_header_value|safe }}\n"
    . $j2_text . <<'EOT';
Hi,

{{ sender_display_name|safe }} {{ bracketed_verified_sender|safe }}invited you to a {% if room_type == "m.space" %}space{% else %}room{% endif %}
{{ bracketed_room_name|safe }}on Example Chat. Join it here:

{{ web_client_location }}/#/room/{{ room_id|urlencode }}?email={{ to|urlencode }}&signurl={{ sign_url|urlencode }}&room_name={{ room_name|urlencode }}&inviter_name={{ sender_display_name|urlencode }}&room_type={{ room_type|urlencode }}

--{{ multipart_boundary|safe }}
Content-Type: text/html; charset=UTF-8
Content-Disposition: inline

<p>{{ sender_display_name }} <span>{{ bracketed_verified_sender }}</span> invited you to a {% if room_type == "m.space" %}space{% else %}room{% endif %} {{ bracketed_room_name }} on Example Chat.</p>
<p><a href="{{ web_client_location }}/#/room/{{ room_id|urlencode }}?email={{ to|urlencode }}&amp;token={{ token|urlencode }}&amp;private_key={{ ephemeral_private_key|urlencode }}&amp;room_type={{ room_type|urlencode }}">Join the conversation.</a></p>

--{{ multipart_boundary|safe }}--
EOT

# An operator's edit of both, for the brand acme, with the same
# constructs: a subject and a header chosen by tests, a comment, white
# space control, nested tests, == "" and !=.
my $acme_v = $j2_head . <<'EOT';
Subject: {% if brand == "acme" %}Acme: confirm your address{% else %}Confirm{% endif %}
X-Acme-Brand: {{ brand }}
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="{{ multipart_boundary|safe }}"

--{{ multipart_boundary|safe }}
Content-Type: text/plain; charset=UTF-8

{# Acme's own wording #}
Welcome to Acme!
{%- if ipaddress %} (asked from {{ ipaddress|safe }}){% endif %}

{{ link|safe }}

--{{ multipart_boundary|safe }}
Content-Type: text/html; charset=UTF-8

<p>Welcome to Acme! <a href="{{ link }}">Confirm</a></p>
<p><a href="https://acme.example/not-me?to={{ to|urlencode }}">Not you?</a></p>
--{{ multipart_boundary|safe }}--
EOT

my $acme_i = $j2_head . <<'EOT';
Subject: {% if room_type == "m.space" %}A space awaits{% else %}{{ subject_header_value|safe }}{% endif %}
X-Room: {% if room_name != "" %}named{% else %}unnamed{% endif %}
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8

{{ sender_display_name|safe }} wants you in {% if room_name == "" %}a room without a name{% else %}{{ room_name|safe }}{% if room_type == "m.space" %} (a space){% endif %}{% endif %}.
{{ join_link|safe }}
EOT

# jinja_urlencode(S): Jinja2's |urlencode of a string: every byte but
# A-Z a-z 0-9 _ . - ~ and / as %XX (jinja2/utils.py url_quote, safe "/").
sub jinja_urlencode { my ($s) = @_;
	$s =~ s{([^A-Za-z0-9_.~/-])}{sprintf('%%%02X', ord($1))}ge; $s }
sub jinja_escape { my ($s) = @_;
	$s =~ s/&/&amp;/g; $s =~ s/</&lt;/g; $s =~ s/>/&gt;/g;
	$s =~ s/"/&#34;/g; $s =~ s/'/&#39;/g; $s }

# parts(RAW): the header and, by the boundary the header names, the
# bodies of the parts (each without its own header), CRLF as LF.
sub parts {
	my ($raw) = @_;
	(my $text = $raw) =~ s/\r\n/\n/g;
	my ($head, $body) = split /\n\n/, $text, 2;
	my ($b) = $head =~ /boundary="([^"]+)"/ or return ($head, $body);
	my @p = split /^--\Q$b\E(?:--)?\n/m, $body;
	shift @p;
	return ($head, map { (split /\n\n/, $_, 2)[1] } @p);
}

my $mime_of = sub {
	my ($m) = @_;
	my %f;
	for (`/usr/bin/python3 t/lib/check-mime.py '$m->{file}'`) {
		chomp; my ($k, $v) = split /=/, $_, 2; $f{$k} = $v }
	return \%f;
};

my $from = ($base =~ /^mail_from\s*=\s*(.*)$/m)[0];
my $pub = ($base =~ /^public_base_url\s*=\s*(.*)$/m)[0];
($conf, $t) = tdir('j2', "$tv.j2" => $j2v, "$ti.j2" => $j2i,
    'acme/verification_template.eml.j2' => $acme_v,
    'acme/invite_template.eml.j2' => $acme_i,
    # Never read: the .j2 file is used in its place.
    $tv => "no headers %(lnik)s\n");
if (my $w = starts('validate', $conf, '.j2 mail templates')) {
	my $n = mail_count();
	my $r = ask($w, 'j2v1', 't56-j2v@example.org');
	is($r->{status}, 200, 'requestToken with a .j2 template')
	    or diag($r->{content});
	is(mail_count(), $n + 1, 'one mail');
	my $m = (mails())[-1];
	my $sid = $r->{json}{sid} // '';
	my ($head, $plain, $html) = parts($m->{raw});
	my ($b) = $head =~ /boundary="([^"]+)"/;
	like($head, qr/^Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000$/m,
	    'Date: the date');
	like($head, qr/^From: \Q$from\E$/m, 'From: mail_from');
	like($head, qr/^To: t56-j2v\@example\.org$/m, 'To: the address');
	like($head, qr/^Message-ID: <[^<>\s]+\@[^<>\s]+>$/m, 'Message-ID');
	like($head, qr/^Subject: Confirm your address for Example Chat$/m,
	    'the subject of the .j2 template');
	like($head, qr/^Content-Type: multipart\/alternative;\n\tboundary="\Q$b\E"$/m,
	    'the folded boundary header');
	ok(length($b // '') >= 16, 'a boundary of the mail\'s own');
	like($m->{raw}, qr/\r\n--\Q$b\E--\r\n\z/, 'the closing boundary last');
	my $f = $mime_of->($m);
	is($f->{defects}, 0, 'a message without defects');
	is($f->{types}, 'text/plain,text/html', 'a text and an HTML part');
	my ($link) = $plain =~ m{^(https?://\S+)$}m;
	my ($token) = ($link // '') =~ /[?&]token=([^&]+)/;
	is($link, "$pub/_matrix/identity/api/v1/validate/email/submitToken?"
	    . "token=$token&client_secret=j2v1&sid=$sid",
	    'the text part: the link as it is (|safe)');
	like($plain, qr/^or type the code \Q$token\E in your client\.$/m,
	    'the code (|safe)');
	unlike($plain, qr/\{[{%#]|%\(/, 'nothing of the template syntax left');
	my $elink = jinja_escape($link // '');
	like($html, qr/^<p><a href="\Q$elink\E">Confirm your address<\/a> or (?#
	    )copy \Q$elink\E<\/p>$/m, 'the HTML part: the link HTML-escaped '
	    . '(& as &amp;), as autoescape does');
	like($html, qr/^<p>Code: \Q$token\E<\/p>$/m, 'the code in HTML');
	unlike($plain . $html, qr/\Qno headers\E/, 'the legacy file unused');

	# The operator's edit, for ?brand=acme.
	$r = ask($w, 'j2v2', 't56-j2v2@example.org', '?brand=acme');
	is($r->{status}, 200, 'requestToken ?brand=acme') or diag($r->{content});
	$m = (mails())[-1];
	($head, $plain, $html) = parts($m->{raw});
	like($head, qr/^Subject: Acme: confirm your address$/m,
	    'acme: the subject its test chose');
	like($head, qr/^X-Acme-Brand: acme$/m, 'acme: its own header');
	like($head, qr/^To: t56-j2v2\@example\.org$/m, 'acme: To');
	is($mime_of->($m)->{defects}, 0, 'acme: a message without defects');
	like($plain, qr/\A\nWelcome to Acme! \(asked from 127\.0\.0\.1\)\n\n(?#
	    )https?:\/\/\S+client_secret=j2v2&sid=[^&\s]+\n\n\z/,
	    'acme: the comment gone, white space control, the test on '
	    . 'ipaddress');
	like($html, qr{<a href="https://acme\.example/not-me\?to=(?#
	    )t56-j2v2%40example\.org">}, 'acme: |urlencode');
	stop_worker($w);
}

if (my $w = starts('invite', $conf, '.j2 invite templates')) {
	my $n = mail_count();
	# The request is JSON text (characters); the mail, UTF-8 bytes.
	my $room_name = "Caf\xc3\xa9 <b>&\"'";
	my $name = 'Alice & "Bob"';
	my $r = fcgi_request($w, 'POST', "$v1/store-invite",
	    { medium => 'email', address => 't56-j2i@example.org',
	      room_id => '!space:example.org', sender => '@alice:example.org',
	      room_type => 'm.space', room_name => "Caf\x{e9} <b>&\"'",
	      sender_display_name => $name,
	      'org.matrix.web_client_location' => 'https://chat.example.org' });
	is($r->{status}, 200, 'store-invite with a .j2 template')
	    or diag($r->{content});
	is(mail_count(), $n + 1, 'one invite mail');
	my $m = (mails())[-1];
	my ($head, $plain, $html) = parts($m->{raw});
	like($head, qr/^Subject: \Q$name\E has invited you to a space$/m,
	    'the subject: invite_subject_space, as it is (|safe)');
	like($head, qr/^To: t56-j2i\@example\.org$/m, 'To: the address');
	like($head, qr/^From: \Q$from\E$/m, 'From: mail_from');
	my $f = $mime_of->($m);
	is($f->{defects}, 0, 'a message without defects');
	is($f->{types}, 'text/plain,text/html', 'a text and an HTML part');
	like($plain, qr/^\Q$name\E invited you to a space\n(?#
	    )\(\Q$room_name\E\) on Example Chat\. Join it here:$/m,
	    'the text part: values as they are, the space branch');
	my ($sign) = $plain =~ /&signurl=(\S+?)&room_name=/;
	like($plain, qr{^https://chat\.example\.org/\#/room/
	    %21space%3Aexample\.org\?email=t56-j2i%40example\.org
	    &signurl=https?%3A//\S+/_matrix/identity/api/v1/sign-ed25519
	    %3Ftoken%3D\S+
	    &room_name=\Q${\ jinja_urlencode($room_name)}\E
	    &inviter_name=Alice%20%26%20%22Bob%22&room_type=m\.space$}mx,
	    'the link: |urlencode leaves / and encodes the rest');
	like($html, qr{^<p>Alice\ &amp;\ &\#34;Bob&\#34;\ <span></span>\ invited
	    \ you\ to\ a\ space\ \(Caf\xc3\xa9\ &lt;b&gt;&amp;&\#34;&\#39;\)\ \ on
	    \ Example\ Chat\.</p>$}mx,
	    'the HTML part: values escaped as Jinja2 does, once');
	like($html, qr{href="https://chat\.example\.org/\#/room/
	    %21space%3Aexample\.org\?email=t56-j2i%40example\.org&amp;token=
	    \Q$r->{json}{token}\E&amp;private_key=[A-Za-z0-9%_-]+&amp;
	    room_type=m\.space"}x, 'the HTML link with the invite\'s token');

	# No room type: the other branch.
	$r = fcgi_request($w, 'POST', "$v1/store-invite",
	    { medium => 'email', address => 't56-j2i2@example.org',
	      room_id => '!room:example.org', sender => '@alice:example.org',
	      sender_display_name => 'Alice' });
	is($r->{status}, 200, 'store-invite without room_type')
	    or diag($r->{content});
	($head, $plain, $html) = parts((mails())[-1]{raw});
	like($plain, qr/^Alice invited you to a room\non Example Chat\./m,
	    'the room branch, no room name');
	like($html, qr/invited you to a room  on Example Chat/,
	    'the room branch in HTML');

	# The operator's edit.
	$r = fcgi_request($w, 'POST', "$v1/store-invite?brand=acme",
	    { medium => 'email', address => 't56-j2i3@example.org',
	      room_id => '!room:example.org', sender => '@alice:example.org',
	      sender_display_name => 'Alice' });
	is($r->{status}, 200, 'store-invite ?brand=acme') or diag($r->{content});
	$m = (mails())[-1];
	($head, $plain) = parts($m->{raw});
	like($head, qr/^Subject: Alice has invited you to chat$/m,
	    'acme: the else branch: subject_header_value');
	like($head, qr/^X-Room: unnamed$/m, 'acme: != "" fails for no name');
	like($plain, qr/\AAlice wants you in a room without a name\.\n(?#
	    )https:\/\/\S+\/#\/room\//, 'acme: == "" and the join link');
	is($mime_of->($m)->{defects}, 0, 'acme: a message without defects');
	$r = fcgi_request($w, 'POST', "$v1/store-invite?brand=acme",
	    { medium => 'email', address => 't56-j2i4@example.org',
	      room_id => '!space2:example.org', sender => '@alice:example.org',
	      sender_display_name => 'Alice', room_name => 'Garden',
	      room_type => 'm.space' });
	is($r->{status}, 200, 'store-invite ?brand=acme, a space')
	    or diag($r->{content});
	($head, $plain) = parts((mails())[-1]{raw});
	like($head, qr/^Subject: A space awaits$/m, 'acme: the space subject');
	like($head, qr/^X-Room: named$/m, 'acme: != "" passes');
	like($plain, qr/\AAlice wants you in Garden \(a space\)\.\n/,
	    'acme: the nested test');
	stop_worker($w);
}

# A .j2 template outside the subset stops the start with the file, the
# line and the construct.
sub line_of { my ($text, $re) = @_; my $i = 0;
	for (split /\n/, $text) { $i++; return $i if /$re/ } return 0 }
my $bad = $j2v =~ s/^(or type the code.*)$/$1\n{% for c in token %}{{ c }}{% endfor %}/mr;
($conf, $t) = tdir('j2for', "$tv.j2" => $bad);
my $l = line_of($bad, qr/\{% for/);
start_fails('validate', $conf, qr{\Q$t/$tv.j2\E:$l: \{% for c in token %\}: (?#
    )for is not a statement of the subset}, 'a .j2 {% for %}');

$bad = $j2i =~ s/\{\{ bracketed_room_name \}\}/{{ bracketed_room_name|upper }}/r;
($conf, $t) = tdir('j2filter', 'acme/invite_template.eml.j2' => $bad);
$l = line_of($bad, qr/\|upper/);
start_fails('invite', $conf, qr{\Q$t\E/acme/invite_template\.eml\.j2:$l: (?#
    )\{\{ bracketed_room_name\|upper \}\}: the filter upper is not known},
    'an unknown filter in a brand\'s .j2 invite');

$bad = $j2v =~ s/\{\{ token \}\}/{{ tokne }}/r;
($conf, $t) = tdir('j2var', "$tv.j2" => $bad);
$l = line_of($bad, qr/tokne/);
start_fails('validate', $conf, qr{\Q$t/$tv.j2\E:$l: \{\{ tokne \}\}: tokne (?#
    )is not one of: token link}, 'an unknown variable in a .j2');

$bad = $j2i =~ s/\{% endif %\}\n/\n/r;
($conf, $t) = tdir('j2open', "$ti.j2" => $bad);
$l = line_of($bad, qr/\{% if room_type/);
start_fails('invite', $conf, qr{\Q$t/$ti.j2\E:$l: \{% if %\} without (?#
    )\{% endif %\}}, 'an {% if %} left open');

$bad = $j2i =~ s/\{\{ web_client_location \}\}/{{ org.matrix.web_client_location }}/r;
($conf, $t) = tdir('j2dot', "$ti.j2" => $bad);
$l = line_of($bad, qr/org\.matrix/);
start_fails('invite', $conf, qr{\Q$t/$ti.j2\E:$l: (?#
    )\{\{ org\.matrix\.web_client_location \}\}: not in the subset},
    'a namespaced field is no .j2 variable');

system('rm', '-rf', glob("$dir/templates-56-*"), "$dir/t56.conf");
done_testing();
