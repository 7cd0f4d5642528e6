# Invites delivered on bind (onbind) through the real stack: sigil-bind
# queues the pending invites of exactly the bound address, sigil-notify
# POSTs them to the homeserver double, whose log shows what arrived; the
# association and each invite's signed part are checked by
# python3-signedjson.  A homeserver that is down while sigil-notify is
# restarted gets the delivery exactly once when it comes up; two
# sigil-notify processes never deliver one row twice; a homeserver that
# holds its delivery open does not hold back another's.
use strict;
use warnings;
use lib 't/lib';
use JSON::PP;
use Test::More;
use SigilTest;

plan skip_all => 'no daemon runs on a shared host: t/http/88-onbind-cron.t '
    . 'delivers there with sigil-notify --once, as cron does'
    if shared_host();

my $dir = stack_dir();
my $hs = $ENV{SIGIL_TEST_HS};
my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';
my $key_id = conf_value('signing_key_id');
my $pub = get("$v2/pubkey/$key_id")->{json}{public_key};
my $json = JSON::PP->new->canonical;
my $n = 0;

sub validated {
	my ($email) = @_;
	my $secret = 'onbind' . ++$n;
	return (validated_session($email, $secret), $secret);
}
sub bind_to {
	my ($email, $mxid) = @_;
	my ($sid, $secret) = validated($email);
	return post("$v1/3pid/bind",
	    { sid => $sid, client_secret => $secret, mxid => $mxid });
}
sub invite {
	my ($address, $room) = @_;
	my $r = post("$v1/store-invite", { medium => 'email',
	    address => $address, room_id => $room,
	    sender => '@host' . ++$n . ':example.org' });
	return $r->{json}{token} // die "store-invite: $r->{content}";
}
sub lines {
	my ($file) = @_;
	open(my $fh, '<', $file) or return wantarray ? () : 0;
	my @l = map { chomp; $_ } <$fh>;
	return wantarray ? @l : scalar @l;
}
sub outbox { psql('SELECT count(*) FROM onbind_outbox') }

# Three invites, two of them for the address that gets bound.
my @mine = (invite('Onbind@Example.org', '!one:example.org'),
    invite('onbind@example.org', '!two:example.org'));
my $theirs = invite('someone.else@example.org', '!one:example.org');
my $log = "$dir/onbind.log";
my $before = () = lines($log);
my $r = bind_to('onbind@example.org', "\@new:$hs");
is($r->{status}, 200, 'bind') or diag($r->{content});
ok(!exists $r->{json}{invites}, 'the bind reply itself carries no invites');
ok(wait_for(sub { lines($log) > $before }, 20),
    'sigil-notify delivered to the homeserver');
my @got = lines($log);
is(scalar @got, $before + 1, 'one delivery');
my $body = $json->decode($got[-1]);
is_deeply([sort keys %$body], [qw(address invites medium mxid not_after
    not_before signatures ts)], 'the association with its invites');
is($body->{address}, 'onbind@example.org', 'for the bound address');
is($body->{mxid}, "\@new:$hs", 'and user');
is_deeply([sort map { $_->{token} } @{ $body->{invites} }], [sort @mine],
    'exactly the invites of that address');
ok(!(grep { $_->{token} eq $theirs } @{ $body->{invites} }),
    'another address\'s invite is not attached');
ok(verify_signed($got[-1], 'localhost', $key_id, $pub),
    'the association is signed with the long-term key (python3-signedjson)');
for my $i (@{ $body->{invites} }) {
	is_deeply([sort keys %$i], [qw(address medium mxid room_id sender
	    signed token)], 'an invite has its fields');
	is_deeply([sort keys %{ $i->{signed} }], [qw(mxid signatures token)],
	    'and a signed part');
	ok(verify_signed($json->encode($i->{signed}), 'localhost', $key_id,
	    $pub), 'which verifies');
}
ok(wait_for(sub { outbox() == 0 }, 5), 'the outbox is empty afterwards');
is(psql("SELECT count(*) FROM invites WHERE address = 'onbind\@example.org'"
    . " AND delivered_ts IS NOT NULL"), 2,
    'delivered invites are kept, marked delivered (invite_delete_on_delivery)');
is(psql("SELECT count(*) FROM invites WHERE token = '$theirs'"), 1,
    'the other address\'s invite is still pending');

# A bind without pending invites delivers nothing.
$before = () = lines($log);
bind_to('noinvites@example.org', "\@plain:$hs");
is(outbox(), 0, 'a bind without invites queues nothing');
select(undef, undef, undef, 1);
is(scalar(() = lines($log)), $before, 'and sends nothing');

# The homeserver is down; sigil-notify is restarted; the homeserver comes
# up: delivered exactly once.
my $port = free_port();
my $late = invite('late@example.org', '!late:example.org');
bind_to('late@example.org', "\@late:localhost:$port");
ok(wait_for(sub { psql('SELECT coalesce(max(attempts), 0) FROM onbind_outbox') >= 1 }, 20),
    'with the homeserver down the attempt fails and stays queued');
like(psql('SELECT last_error FROM onbind_outbox'), qr/unreachable/,
    'with the reason recorded');
system("deploy/sigil-stack notify-restart $dir") == 0
    or BAIL_OUT('notify-restart failed');
is(outbox(), 1, 'the row survives a restart of sigil-notify');
my $log2 = "$dir/onbind-$port.log";
my $double = start_onbind_double($port, $log2);
psql('UPDATE onbind_outbox SET next_attempt_ts = 0');
psql('NOTIFY sigil_onbind');
ok(wait_for(sub { outbox() == 0 }, 20), 'delivered once the homeserver is up');
select(undef, undef, undef, 1);
my @late = lines($log2);
is(scalar @late, 1, 'exactly once');
is($json->decode($late[0])->{invites}[0]{token}, $late, 'with its invite');
kill 'TERM', $double;
waitpid($double, 0);

# Two sigil-notify processes and a slow homeserver: every row delivered
# exactly once.
$port = free_port();
my $log3 = "$dir/onbind-$port.log";
$double = start_onbind_double($port, $log3, '--onbind-delay', '0.3');
my $second = fork() // die;
if ($second == 0) {
	open(STDOUT, '>', '/dev/null');
	open(STDERR, '>>', "$dir/logs/sigil-notify-second.log");
	exec(build_dir() . '/sigil-notify', '-c', "$dir/sigil.conf");
	exit 127;
}
my @tokens;
for my $i (1 .. 8) {
	push @tokens, invite("many$i\@example.org", '!many:example.org');
	bind_to("many$i\@example.org", "\@many$i:localhost:$port");
}
ok(wait_for(sub { outbox() == 0 }, 30), 'all eight delivered');
select(undef, undef, undef, 1);
my @many = map { $json->decode($_)->{invites}[0]{token} } lines($log3);
is_deeply([sort @many], [sort @tokens], 'each exactly once');
open(my $fh, '<', "$dir/logs/sigil-notify-second.log") or die;
ok(scalar(grep { /delivered/ } <$fh>) >= 1,
    'the second sigil-notify took its share');
kill 'TERM', $second;
waitpid($second, 0);
is($? >> 8, 0, 'sigil-notify stops cleanly on SIGTERM');
kill 'TERM', $double;
waitpid($double, 0);

# A homeserver that keeps its delivery open (--trickle: a byte now and
# then, so that only the per-attempt deadline ends it) and a normal one:
# the normal one's delivery arrives while the other's first attempt is
# still running.
my $slow_port = free_port();
my $conns = "$dir/trickle-$slow_port.conns";
my $slow = start_onbind_double($slow_port, "$dir/onbind-$slow_port.log",
    '--trickle', '--conn-log', $conns);
$port = free_port();
my $log4 = "$dir/onbind-$port.log";
$double = start_onbind_double($port, $log4);
my $slow_dest = "localhost:$slow_port";
my $before_conns = () = lines($conns);
invite('trickle@example.org', '!trickle:example.org');
bind_to('trickle@example.org', "\@t:$slow_dest");
ok(wait_for(sub { lines($conns) > $before_conns }, 20),
    'the delivery to the trickling homeserver is under way');
my $quick = invite('quick@example.org', '!quick:example.org');
bind_to('quick@example.org', "\@q:localhost:$port");
ok(wait_for(sub { lines($log4) >= 1 }, 20),
    'the other homeserver got its delivery (hang guard)');
is(psql("SELECT attempts FROM onbind_outbox WHERE destination = "
    . "'$slow_dest'"), 0, 'while the trickling one\'s first attempt still '
    . 'runs: it did not hold the other back');
is($json->decode((lines($log4))[0])->{invites}[0]{token}, $quick,
    'with its invite');
ok(wait_for(sub { psql("SELECT attempts FROM onbind_outbox WHERE "
    . "destination = '$slow_dest'") >= 1 }, 30),
    'the trickling attempt ends, failed, within its deadline (hang guard)');
like(psql("SELECT last_error FROM onbind_outbox WHERE destination = "
    . "'$slow_dest'"), qr/timed out/, 'as timed out');
psql("DELETE FROM onbind_outbox WHERE destination = '$slow_dest'");
kill 'TERM', $double, $slow;
waitpid($double, 0);
waitpid($slow, 0);

done_testing();
