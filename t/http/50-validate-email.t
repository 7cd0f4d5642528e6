# Email validation through the real stack and a real SMTP server on
# loopback: requestToken (v1 JSON, form, query string; v2 with a token),
# send_attempt, the mail itself, submitToken (POST and the link), the
# brute-force limit, expiry, getValidated3pid, and bad input refused with
# no mail sent.
use strict;
use warnings;
use lib 't/lib';
use HTTP::Tiny;
use Test::More;
use SigilTest;

my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';
my $base = $ENV{SIGIL_TEST_URL};
my $n_secret = 0;

sub request_token {
	my ($api, $body, $headers) = @_;
	return post("$api/validate/email/requestToken", $body, $headers);
}
sub token_of {	# the token and link in a mail
	my ($raw) = @_;
	my ($link) = $raw =~ m{^(http\S+/submitToken\?\S+)\r$}m;
	my ($token) = ($link // '') =~ /token=([^&]+)/;
	return ($token, $link);
}

# v1 JSON: a session, one mail to the canonical address.
my $before = mail_count();
my $r = request_token($v1, { client_secret => 'secret1',
    email => 'Alice.Smith@Example.ORG', send_attempt => 1 });
is($r->{status}, 200, 'v1 requestToken with JSON') or diag($r->{content});
my $sid = $r->{json}{sid};
like($sid, qr/^[0-9A-Za-z]{32}$/, 'a random 32-character sid');
my @m = mails();
is(scalar @m, $before + 1, 'one mail was sent');
my $mail = $m[-1];
is_deeply($mail->{rcpt}, ['alice.smith@example.org'],
    'to the canonical (case-folded) address');
unlike($mail->{raw}, qr/(?<!\r)\n/, 'every line ends in CRLF');
like($mail->{raw}, qr/^Date: \w{3}, \d\d \w{3} \d{4} [\d:]{8} \+0000\r$/m,
    'a Date header');
like($mail->{raw}, qr/^Message-ID: <[0-9A-Za-z]+\@localhost>\r$/m,
    'a Message-ID header');
my ($token, $link) = token_of($mail->{raw});
like($link, qr{^\Q$base\E/_matrix/identity/api/v1/validate/email/submitToken\?},
    'the link uses the configured base URL and the v1 path');
like($link, qr/sid=$sid/, 'and carries the sid');
my $mime = `/usr/bin/python3 t/lib/check-mime.py '$mail->{file}'`;
like($mime, qr/^parts=2$/m, 'the mail parses as MIME with two parts');
like($mime, qr/^types=text\/plain,text\/html$/m, 'text and HTML');
like($mime, qr/^defects=0$/m, 'without defects');
like($mime, qr/href="[^"]*&amp;client_secret=/,
    'the link is HTML-escaped in the HTML part');
my ($boundary1) = $mail->{raw} =~ /boundary="([^"]+)"/;

# send_attempt: a repeat sends nothing; a higher one sends again.
$r = request_token($v1, { client_secret => 'secret1',
    email => 'alice.smith@example.org', send_attempt => 1 });
is($r->{json}{sid}, $sid, 'a repeat answers the same sid');
is(mail_count(), $before + 1, 'and sends no mail');
$r = request_token($v1, { client_secret => 'secret1',
    email => 'alice.smith@example.org', send_attempt => '2' });
is($r->{json}{sid}, $sid, 'send_attempt "2" (a string) is the same session');
is(mail_count(), $before + 2, 'and sends another mail');
my ($boundary2) = (mails())[-1]{raw} =~ /boundary="([^"]+)"/;
isnt($boundary1, $boundary2, 'each mail has a fresh random boundary');
my ($token2) = token_of((mails())[-1]{raw});
is($token2, $token, 'the session keeps its token');
$r = request_token($v1, { client_secret => 'secret1',
    email => 'alice.smith@example.org', send_attempt => 1 });
is(mail_count(), $before + 2, 'a lower send_attempt sends nothing');

# submitToken.
is_error(post("$v1/validate/email/submitToken",
    { sid => $sid, client_secret => 'secret1', token => 'wrong' }), 400,
    'M_TOKEN_INCORRECT', 'a wrong token: 400 M_TOKEN_INCORRECT');
$r = get("$v1/3pid/getValidated3pid?sid=$sid&client_secret=secret1");
is_error($r, 400, 'M_SESSION_NOT_VALIDATED',
    'getValidated3pid before validation: 400 M_SESSION_NOT_VALIDATED');
$r = post("$v1/validate/email/submitToken",
    { sid => $sid, client_secret => 'secret1', token => $token });
is($r->{status}, 200, 'the right token') or diag($r->{content});
is_deeply($r->{json}, { success => JSON::PP::true }, 'answers success');
$r = post("$v1/validate/email/submitToken",
    { sid => $sid, client_secret => 'secret1', token => $token });
is($r->{status}, 200, 'a correct replay succeeds again');
$r = get("$v1/3pid/getValidated3pid?sid=$sid&client_secret=secret1");
is($r->{status}, 200, 'getValidated3pid');
is($r->{json}{medium}, 'email', 'medium');
is($r->{json}{address}, 'alice.smith@example.org', 'the canonical address');
ok(abs($r->{json}{validated_at} - time * 1000) < 60_000,
    'validated_at is the time of validation, in ms');
my $unknown = post("$v1/validate/email/submitToken",
    { sid => 'nosuchsid', client_secret => 'secret1', token => $token });
my $wrong_secret = post("$v1/validate/email/submitToken",
    { sid => $sid, client_secret => 'other', token => $token });
is_error($unknown, 400, 'M_INVALID_PARAM', 'an unknown sid: 400 M_INVALID_PARAM');
is($wrong_secret->{content}, $unknown->{content},
    'a wrong client_secret gets the very same reply');
is_error(get("$v1/3pid/getValidated3pid?sid=$sid&client_secret=other"), 404,
    'M_NO_VALID_SESSION', 'getValidated3pid with a wrong secret: 404');
is_error(get("$v1/3pid/getValidated3pid?sid=$sid"), 400, 'M_MISSING_PARAMS',
    'getValidated3pid without client_secret: 400 M_MISSING_PARAMS');

# v1 form-urlencoded and query string.
$r = request('POST', "$v1/validate/email/requestToken",
    'client_secret=form1&email=form%40example.org&send_attempt=1',
    { 'Content-Type' => 'application/x-www-form-urlencoded' });
is($r->{status}, 200, 'v1 requestToken form-urlencoded') or diag($r->{content});
is((mails())[-1]{rcpt}[0], 'form@example.org', 'mails the form address');
my ($ftoken) = token_of((mails())[-1]{raw});
$r = request('POST', "$v1/validate/email/submitToken",
    "sid=$r->{json}{sid}&client_secret=form1&token=$ftoken",
    { 'Content-Type' => 'application/x-www-form-urlencoded' });
is($r->{status}, 200, 'v1 submitToken form-urlencoded');
$r = request('POST', "$v1/validate/email/requestToken"
    . '?client_secret=query1&email=query%40example.org&send_attempt=1');
is($r->{status}, 200, 'v1 requestToken with the query string')
    or diag($r->{content});

# v2: behind the gate; the link uses the v2 path.
is_error(request_token($v2, { client_secret => 'v2a',
    email => 'v2@example.org', send_attempt => 1 }), 401, 'M_UNAUTHORIZED',
    'v2 requestToken without a token: 401');
my $tok = register_user('valerie');
my $auth = { Authorization => "Bearer $tok" };
$r = request_token($v2, { client_secret => 'v2a', email => 'v2@example.org',
    send_attempt => 1 }, $auth);
is($r->{status}, 200, 'v2 requestToken with a token') or diag($r->{content});
my $v2sid = $r->{json}{sid};
my ($v2token, $v2link) = token_of((mails())[-1]{raw});
like($v2link, qr{/_matrix/identity/v2/validate/email/submitToken\?},
    'the v2 mail links to the v2 path');
is_error(post("$v2/validate/email/submitToken",
    { sid => $v2sid, client_secret => 'v2a', token => $v2token }), 401,
    'M_UNAUTHORIZED', 'v2 POST submitToken needs the token');

# The link in the mail: no token needed, an HTML page.
(my $path = $v2link) =~ s/^\Q$base\E//;
$r = get($path);
is($r->{status}, 200, 'v2 link without an access token');
like($r->{headers}{'content-type'}, qr{^text/html}, 'answers HTML');
like($r->{content}, qr/Verification successful/, 'saying it worked');
$r = get("$v2/3pid/getValidated3pid?sid=$v2sid&client_secret=v2a", $auth);
is($r->{json}{address}, 'v2@example.org', 'v2 getValidated3pid');
$r = get($path . '&nextLink=https%3A%2F%2Fphish.example%2F&next_link=https%3A%2F%2Fphish.example%2F');
is($r->{status}, 200, 'a nextLink in the query of the link is ignored');
$r = get("$v2/validate/email/submitToken?sid=$v2sid&client_secret=v2a&token=bad");
is($r->{status}, 400, 'a wrong token in the link: 400');
like($r->{content}, qr/Verification failed/, 'with a failure page');
$r = get("$v2/validate/email/submitToken?sid=$v2sid");
like($r->{content}, qr/Verification failed/, 'an incomplete link: a page');

# next_link: fixed at requestToken, only http(s) on an allowed host.
$r = request_token($v1, { client_secret => 'nl1', email => 'nl@example.org',
    send_attempt => 1, next_link => 'https://app.example.org/#/done?x=1' });
is($r->{status}, 200, 'requestToken with an allowed next_link');
my ($nltoken, $nllink) = token_of((mails())[-1]{raw});
($path = $nllink) =~ s/^\Q$base\E//;
$r = HTTP::Tiny->new(max_redirect => 0)->get("$base$path");
is($r->{status}, 302, 'the link redirects on success');
is($r->{headers}{location}, 'https://app.example.org/#/done?x=1',
    'to exactly the stored next_link');
for my $bad ('javascript:alert(1)', '//evil.example/x', 'ftp://app.example.org/',
    'https://evil.example/', "https://app.example.org/\r\nSet-Cookie: x",
    'https://user@app.example.org/', 'https://evil.example\@app.example.org/') {
	my $n = mail_count();
	is_error(request_token($v1, { client_secret => 'nl2',
	    email => 'nl2@example.org', send_attempt => 1, next_link => $bad }),
	    400, 'M_INVALID_PARAM', "next_link '$bad' refused");
	is(mail_count(), $n, '  and no mail sent');
}

# Bad input: each refused, zero mails.
my @bad_email = ('a@evil.com@victim.com', '"Name" <a@b.example>',
    "a\@b.example\r\nBcc: c\@d.example", 'a@b.example,c@d.example',
    '<a@b.example>', 'a b@example.org', 'no-at-sign', '@example.org',
    'a@', 'a@b@c', 'a@example.org ', "a\@ex\tample.org",
    'x' x 250 . '@example.org', 'a' x (100 * 1024));
for my $e (@bad_email) {
	my $n = mail_count();
	my $show = length $e > 40 ? substr($e, 0, 20) . '...(' . length($e) . ')' : $e;
	$show =~ s/\r\n/\\r\\n/g;
	is_error(request_token($v1, { client_secret => 'bad1', email => $e,
	    send_attempt => 1 }), 400, 'M_INVALID_EMAIL', "email '$show' refused");
	is(mail_count(), $n, '  and no mail sent');
}
{
	my $n = mail_count();
	$r = request_token($v1, '{"client_secret":"bad1","send_attempt":1,'
	    . '"email":"victim@x.example\u0000@evil.example"}');
	is_error($r, 400, 'M_NOT_JSON', 'an email with \u0000: 400 M_NOT_JSON');
	is(mail_count(), $n, '  and no mail sent');
}
for my $cs ('', 'x' x 256, 'a+b', 'a/b', 'a b', "a\x{e9}b") {
	my $n = mail_count();
	is_error(request_token($v1, { client_secret => $cs,
	    email => 'cs@example.org', send_attempt => 1 }), 400,
	    'M_INVALID_PARAM', 'client_secret of ' . length($cs)
	    . ' characters like "' . substr($cs, 0, 5) . '" refused');
	is(mail_count(), $n, '  and no mail sent');
}
$r = request('POST', "$v1/validate/email/requestToken",
    'client_secret=a%00b&email=cs%40example.org&send_attempt=1',
    { 'Content-Type' => 'application/x-www-form-urlencoded' });
is_error($r, 400, 'M_INVALID_PARAM', 'client_secret with %00 refused');
for my $cs ('a', 'y' x 255) {
	is(request_token($v1, { client_secret => $cs,
	    email => 'cs' . length($cs) . '@example.org',
	    send_attempt => 1 })->{status}, 200,
	    'client_secret of ' . length($cs) . ' characters accepted');
}
is_error(request_token($v1, { client_secret => 'sa', email => 'sa@example.org',
    send_attempt => 'one' }), 400, 'M_INVALID_PARAM', 'send_attempt "one": 400');
is_error(request_token($v1, { client_secret => 'sa', email => 'sa@example.org',
    send_attempt => 1.5 }), 400, 'M_INVALID_PARAM', 'send_attempt 1.5: 400');
is_error(request_token($v1, { client_secret => 'sa',
    email => 'sa@example.org' }), 400, 'M_MISSING_PARAMS',
    'no send_attempt: 400 M_MISSING_PARAMS');
is_error(request_token($v1, { client_secret => 'sa', email => ['a@b.c'],
    send_attempt => 1 }), 400, 'M_INVALID_EMAIL', 'email as a list: 400');

# Brute force: after max_token_attempts (5 here) wrong tokens the session
# is dead, and the right token no longer works.
$r = request_token($v1, { client_secret => 'bf', email => 'bf@example.org',
    send_attempt => 1 });
my $bfsid = $r->{json}{sid};
my ($bftoken) = token_of((mails())[-1]{raw});
for my $i (1 .. 5) {
	post("$v1/validate/email/submitToken",
	    { sid => $bfsid, client_secret => 'bf', token => "guess$i" });
}
is_error(post("$v1/validate/email/submitToken",
    { sid => $bfsid, client_secret => 'bf', token => $bftoken }), 400,
    'M_SESSION_EXPIRED', 'after 5 wrong tokens the right one fails');
$r = request_token($v1, { client_secret => 'bf', email => 'bf@example.org',
    send_attempt => 1 });
isnt($r->{json}{sid}, $bfsid, 'asking again starts a fresh session');
is(mail_count() > 0, 1, 'which mails a new token');

# Expiry: 24 h after the last change.
$r = request_token($v1, { client_secret => 'exp', email => 'exp@example.org',
    send_attempt => 1 });
my $expsid = $r->{json}{sid};
my ($exptoken) = token_of((mails())[-1]{raw});
psql("UPDATE validation_sessions SET modified_ts = modified_ts - 25 * 3600000"
    . " WHERE sid = '$expsid'");
is_error(post("$v1/validate/email/submitToken",
    { sid => $expsid, client_secret => 'exp', token => $exptoken }), 400,
    'M_SESSION_EXPIRED', 'an aged session: 400 M_SESSION_EXPIRED');
is_error(get("$v1/3pid/getValidated3pid?sid=$expsid&client_secret=exp"), 400,
    'M_SESSION_EXPIRED', 'getValidated3pid on it: M_SESSION_EXPIRED');
$r = request_token($v1, { client_secret => 'exp', email => 'exp@example.org',
    send_attempt => 1 });
isnt($r->{json}{sid}, $expsid, 'requestToken after expiry: a fresh session');

# Rate limit per address (3 per minute here), kept in PostgreSQL.
my $n = mail_count();
my @status = map {
	request_token($v1, { client_secret => "rl$_", email => 'rl@example.org',
	    send_attempt => 1 })->{status}
} 1 .. 4;
is_deeply(\@status, [200, 200, 200, 429], 'the 4th mail to one address: 429');
is(mail_count(), $n + 3, 'three mails, not four');
$r = request_token($v1, { client_secret => 'rl5', email => 'rl@example.org',
    send_attempt => 1 });
is_error($r, 429, 'M_LIMIT_EXCEEDED', 'as M_LIMIT_EXCEEDED');
# A sliding window forgets a mail between 1 and 1.1 windows after it.
ok(($r->{json}{retry_after_ms} // 0) > 0 &&
    $r->{json}{retry_after_ms} <= 66_000, 'with retry_after_ms');
$r = request_token($v1, { client_secret => 'rl1', email => 'rl@example.org',
    send_attempt => 1 });
is($r->{status}, 200, 'a repeat of an attempt already sent is not limited');

# 20 identical concurrent requests: one session, one mail.
$n = mail_count();
my @pids;
for (1 .. 20) {
	my $pid = fork();
	if ($pid == 0) {
		my $res = request_token($v1, { client_secret => 'burst',
		    email => 'burst@example.org', send_attempt => 1 });
		exit($res->{status} == 200 ? 0 : 1);
	}
	push @pids, $pid;
}
my $failed = 0;
for (@pids) { waitpid($_, 0); $failed++ if $? != 0 }
is($failed, 0, '20 concurrent identical requests all succeed');
is(mail_count(), $n + 1, 'and send exactly one mail');
is(psql("SELECT count(*) FROM validation_sessions WHERE address = "
    . "'burst\@example.org'"), 1, 'for exactly one session');

done_testing();
