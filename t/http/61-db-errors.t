# A statement PostgreSQL refuses: the request gets a Matrix error, and
# the log names the statement (its name in common/dbstmt.c's table, not
# a number) with the SQLSTATE.  A CHECK constraint added NOT VALID
# refuses every new validation session without touching stored rows.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SigilTest;

my $before = mail_count();
psql('ALTER TABLE validation_sessions ADD CONSTRAINT sigil_test_refuse'
    . ' CHECK (false) NOT VALID');
my $r = post(api('v1', 'validate/email/requestToken'), {
    client_secret => 'dberr1', email => 'dberr@example.org',
    send_attempt => 1 });
psql('ALTER TABLE validation_sessions DROP CONSTRAINT sigil_test_refuse');
is($r->{status} >= 500, 1, 'a refused statement is a 5xx')
    or diag("got $r->{status}: $r->{content}");
is(ref $r->{json} eq 'HASH' ? $r->{json}{errcode} : '', 'M_UNKNOWN',
    'as a Matrix error') or diag($r->{content});
is(mail_count(), $before, 'and no mail is sent');
my $ok = wait_for(sub { program_log('validate') =~
    /statement session_insert failed \(23514\)/ }, 10);
ok($ok, 'the log names the statement (session_insert) and its SQLSTATE');
unlike(program_log('validate'), qr/statement \d+ failed/,
    'no statement is logged by number');

$r = post(api('v1', 'validate/email/requestToken'), {
    client_secret => 'dberr2', email => 'dberr@example.org',
    send_attempt => 1 });
is($r->{status}, 200, 'without the constraint the same request works')
    or diag($r->{content});
done_testing();
