# Phone number validation through the real stack and an SMS gateway
# double over TLS: requestToken (v1 JSON, form, query; v2), numbers
# parsed by libphonenumber, the code texted, submitToken, the brute-force
# limit on a 6-digit code, rate limits, gateway failure, region rules and
# Twilio's API.
use strict;
use warnings;
use lib 't/lib';
use JSON::PP;
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';

sub text_count { scalar(my @t = texts()) }
sub code_of { ($_[0]{text} =~ /(\d{6,})/)[0] }
sub ask { my ($api, %f) = @_;
	return post("$api/validate/msisdn/requestToken",
	    { send_attempt => 1, %f }, $f{_headers});
}

my $n = text_count();
my $r = ask($v1, client_secret => 'ph1', country => 'GB',
    phone_number => '07911 123456');
is($r->{status}, 200, 'v1 msisdn requestToken') or diag($r->{content});
is($r->{json}{success}, JSON::PP::true, 'success: true');
is($r->{json}{msisdn}, '447911123456', 'the MSISDN: E.164 digits, no +');
is($r->{json}{intl_fmt}, '+44 7911 123456', 'the international format');
my $sid = $r->{json}{sid};
like($sid, qr/^[0-9A-Za-z]{32}$/, 'a random sid');
my @t = texts();
is(scalar @t, $n + 1, 'one text sent');
is($t[-1]{to}, '+447911123456', 'to the number');
is($t[-1]{from}, 'Sigil', 'from sms_from');
my $code = code_of($t[-1]);
like($code, qr/^\d{6}$/, 'a 6-digit code');

$r = ask($v1, client_secret => 'ph1', country => 'gb',
    phone_number => '+44 7911 123456');
is($r->{json}{sid}, $sid, 'the same number another way: the same session');
is(text_count(), $n + 1, 'and no second text for the same send_attempt');

is_error(post("$v1/validate/msisdn/submitToken",
    { sid => $sid, client_secret => 'ph1', token => '000000' x ($code ne '000000') . '111111' x ($code eq '000000') }),
    400, 'M_TOKEN_INCORRECT', 'a wrong code: M_TOKEN_INCORRECT');
is_error(post("$v1/validate/email/submitToken",
    { sid => $sid, client_secret => 'ph1', token => $code }), 400,
    'M_INVALID_PARAM', 'the code is not accepted on the email endpoint');
$r = post("$v1/validate/msisdn/submitToken",
    { sid => $sid, client_secret => 'ph1', token => $code });
is($r->{status}, 200, 'the right code') or diag($r->{content});
$r = get("$v1/3pid/getValidated3pid?sid=$sid&client_secret=ph1");
is($r->{json}{medium}, 'msisdn', 'getValidated3pid: msisdn');
is($r->{json}{address}, '447911123456', 'and the number');

# Form, query string, v2 and the GET link.
$r = request('POST', "$v1/validate/msisdn/requestToken",
    'client_secret=phf&country=US&phone_number=%28202%29+555-0123&send_attempt=1',
    { 'Content-Type' => 'application/x-www-form-urlencoded' });
is($r->{json}{msisdn}, '12025550123', 'v1 form-urlencoded');
$r = request('POST', "$v1/validate/msisdn/requestToken"
    . '?client_secret=phq&country=FR&phone_number=06+12+34+56+78&send_attempt=1');
is($r->{json}{msisdn}, '33612345678', 'v1 query string');
my $tok = register_user('phoebe');
is_error(ask($v2, client_secret => 'ph2', country => 'GB',
    phone_number => '07911 123457'), 401, 'M_UNAUTHORIZED',
    'v2 without a token: 401');
$r = ask($v2, client_secret => 'ph2', country => 'GB',
    phone_number => '07911 123457', _headers => { Authorization => "Bearer $tok" });
is($r->{status}, 200, 'v2 with a token') or diag($r->{content});
my $v2sid = $r->{json}{sid};
my $v2code = code_of((texts())[-1]);
$r = get("$v2/validate/msisdn/submitToken?sid=$v2sid&client_secret=ph2&token=$v2code");
is($r->{status}, 200, 'the GET link on v2, without a token');
like($r->{content}, qr/Verification successful/, 'shows success');

# Bad numbers and fields.
for my $case (['GB', '12'], ['GB', 'not a number'], ['GB', '+999 123'],
    ['XX', '07911 123456'], ['GB', '0' x 70]) {
	my $c = text_count();
	is_error(ask($v1, client_secret => 'bad', country => $case->[0],
	    phone_number => $case->[1]), 400, 'M_INVALID_ADDRESS',
	    "'$case->[1]' in $case->[0]: M_INVALID_ADDRESS");
	is(text_count(), $c, '  and no text');
}
is_error(ask($v1, client_secret => 'bad', country => 'GBR',
    phone_number => '07911 123456'), 400, 'M_INVALID_PARAM',
    'a three-letter country: M_INVALID_PARAM');
is_error(ask($v1, client_secret => 'bad', country => 'GB'), 400,
    'M_MISSING_PARAMS', 'no phone_number: M_MISSING_PARAMS');
is_error(ask($v1, client_secret => 'b d', country => 'GB',
    phone_number => '07911 123456'), 400, 'M_INVALID_PARAM',
    'a bad client_secret: M_INVALID_PARAM');

# Gateway failure: M_SEND_ERROR, the session kept, the attempt not counted.
$r = ask($v1, client_secret => 'gw', country => 'GB',
    phone_number => '07911 123999');
is_error($r, 400, 'M_SEND_ERROR', 'the gateway fails: 400 M_SEND_ERROR');
is(psql("SELECT send_attempt FROM validation_sessions WHERE address = "
    . "'447911123999'"), -1, 'the session is kept, the attempt not counted');

# Brute force on a 6-digit code: 5 wrong codes kill the session here.
$r = ask($v1, client_secret => 'bf', country => 'GB',
    phone_number => '07911 123458');
my $bfsid = $r->{json}{sid};
my $bfcode = code_of((texts())[-1]);
for my $i (1 .. 5) {
	my $guess = sprintf('%06d', ($bfcode + $i) % 1_000_000);
	post("$v1/validate/msisdn/submitToken",
	    { sid => $bfsid, client_secret => 'bf', token => $guess });
}
is_error(post("$v1/validate/msisdn/submitToken",
    { sid => $bfsid, client_secret => 'bf', token => "$bfcode" }), 400,
    'M_SESSION_EXPIRED', 'after 5 wrong codes the right one fails');

# Rate limit per number (3 a minute here).
my @s = map { ask($v1, client_secret => "rl$_", country => 'GB',
    phone_number => '07911 123459')->{status} } 1 .. 4;
is_deeply(\@s, [200, 200, 200, 429], 'the 4th text to one number: 429');

# Region rules and the Twilio gateway, on workers of their own.
open(my $fh, '<', "$dir/sigil.conf") or die;
my $base = do { local $/; <$fh> };
my $w = start_worker('validate', $base . "sms_deny_regions = US\n");
is_error(fcgi_request($w, 'POST', "$v1/validate/msisdn/requestToken",
    { client_secret => 'rg1', country => 'US', phone_number => '202 555 0124',
      send_attempt => 1 }), 400, 'M_DESTINATION_REJECTED',
    'a denied region: M_DESTINATION_REJECTED');
is(fcgi_request($w, 'POST', "$v1/validate/msisdn/requestToken",
    { client_secret => 'rg2', country => 'GB', phone_number => '07911 123460',
      send_attempt => 1 })->{status}, 200, 'another region is texted');
stop_worker($w);
$w = start_worker('validate', $base . "sms_allow_regions = GB FR\n");
is_error(fcgi_request($w, 'POST', "$v1/validate/msisdn/requestToken",
    { client_secret => 'rg3', country => 'US', phone_number => '202 555 0125',
      send_attempt => 1 }), 400, 'M_DESTINATION_REJECTED',
    'a region not on the allow list: M_DESTINATION_REJECTED');
stop_worker($w);
my $port = $ENV{SIGIL_TEST_SMS_PORT};
my $twilio = $base =~ s/^sms_(gateway|url)\s*=.*\n//mgr
    . "sms_gateway = twilio\nsms_url = https://localhost:$port\n"
    . "sms_account = AC0123\n";
$w = start_worker('validate', $twilio);
$r = fcgi_request($w, 'POST', "$v1/validate/msisdn/requestToken",
    { client_secret => 'tw1', country => 'GB', phone_number => '07911 123461',
      send_attempt => 1 });
is($r->{status}, 200, 'through Twilio\'s API') or diag($r->{content});
is((texts())[-1]{gateway}, 'twilio', 'the double saw a Twilio request');
is((texts())[-1]{to}, '+447911123461', 'with the number');
stop_worker($w);
$w = start_worker('validate', $twilio =~ s/^sms_token\s*=.*\n//mr
    . "sms_token = wrong\n");
is_error(fcgi_request($w, 'POST', "$v1/validate/msisdn/requestToken",
    { client_secret => 'tw2', country => 'GB', phone_number => '07911 123462',
      send_attempt => 1 }), 400, 'M_SEND_ERROR',
    'Twilio refusing our credentials: M_SEND_ERROR');
stop_worker($w);

# A gateway that does not answer at all.
$w = start_worker('validate', $base =~ s/^sms_url\s*=.*\n//mr
    . "sms_url = https://localhost:1/webhook\n");
is_error(fcgi_request($w, 'POST', "$v1/validate/msisdn/requestToken",
    { client_secret => 'dn1', country => 'GB', phone_number => '07911 123463',
      send_attempt => 1 }), 400, 'M_SEND_ERROR',
    'the gateway is down: M_SEND_ERROR');
stop_worker($w);

# No secret reaches a sigil log: OpenID tokens, access tokens, client secrets,
# validation tokens and codes.
my $logs = `cat $dir/logs/sigil-*.log`;
unlike($logs, qr/access_token=/, 'no access_token in any log');
unlike($logs, qr/\b$code\b/, 'no texted code in any log');
unlike($logs, qr/sms-secret/, 'no gateway token in any log');

done_testing();
