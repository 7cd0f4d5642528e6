# v2 still allows form-urlencoded bodies (deprecated) where its spec says
# so: requestToken and submitToken of both media, and 3pid/bind.  Other
# v2 routes take JSON only, and a malformed form sends nothing.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SigilTest;

my $v2 = '/_matrix/identity/v2';
my $hs = $ENV{SIGIL_TEST_HS};
my $tok = register_user('formy');
my %form = ('Content-Type' => 'application/x-www-form-urlencoded',
    Authorization => "Bearer $tok");

sub form_post { post($_[0], $_[1], { %form }) }

my $before = mail_count();
my $r = form_post("$v2/validate/email/requestToken",
    'client_secret=form1&email=formy%40example.org&send_attempt=1');
is($r->{status}, 200, 'v2 email requestToken with a form body')
    or diag($r->{content});
my $sid = $r->{json}{sid};
is(mail_count(), $before + 1, 'one mail');
my ($token) = (mails())[-1]{raw} =~ /token=([^&\s]+)/;

$r = form_post("$v2/validate/email/submitToken",
    "sid=$sid&client_secret=form1&token=$token");
is($r->{status}, 200, 'v2 email submitToken with a form body')
    or diag($r->{content});
is_deeply($r->{json}, { success => JSON::PP::true() }, 'validated');

(my $mxid = "\@formy:$hs") =~ s/([\@:])/sprintf("%%%02X", ord $1)/ge;
$r = form_post("$v2/3pid/bind", "sid=$sid&client_secret=form1&mxid=$mxid");
is($r->{status}, 200, 'v2 bind with a form body') or diag($r->{content});
is($r->{json}{mxid}, "\@formy:$hs", 'bound to the token\'s user');
is($r->{json}{address}, 'formy@example.org', 'the validated address');

$r = form_post("$v2/validate/msisdn/requestToken",
    'client_secret=form2&country=GB&phone_number=07911+123457&send_attempt=1');
is($r->{status}, 200, 'v2 msisdn requestToken with a form body')
    or diag($r->{content});
$r = form_post("$v2/validate/msisdn/submitToken",
    "sid=$r->{json}{sid}&client_secret=form2&token=000000");
is_error($r, 400, 'M_TOKEN_INCORRECT',
    'v2 msisdn submitToken with a form body reads its fields');

# The form needs the token as JSON does.
is_error(post("$v2/validate/email/requestToken",
    'client_secret=form3&email=formz%40example.org&send_attempt=1',
    { 'Content-Type' => 'application/x-www-form-urlencoded' }), 401,
    'M_UNAUTHORIZED', 'a form body without a token: 401');

# Bad forms and other routes: refused, nothing sent.
$before = mail_count();
is_error(form_post("$v2/validate/email/requestToken",
    'client_secret=form4&email=formz%zz%40example.org&send_attempt=1'),
    400, 'M_INVALID_PARAM', 'a malformed form body: 400 M_INVALID_PARAM');
is_error(form_post("$v2/validate/email/requestToken",
    'client_secret=form4&send_attempt=1'), 400, 'M_MISSING_PARAMS',
    'a form body without the address: 400 M_MISSING_PARAMS');
is(mail_count(), $before, 'and no mail');
is_error(form_post("$v2/lookup",
    'algorithm=none&pepper=x&addresses=a'), 400, 'M_NOT_JSON',
    'v2 lookup takes JSON only');
is_error(form_post("$v2/store-invite",
    "medium=email&address=f%40example.org&room_id=%21r%3Aexample.org"
    . "&sender=$mxid"), 400, 'M_NOT_JSON',
    'v2 store-invite takes JSON only');

done_testing();
