# Onbind through the real stack: every bind (v1, v2, a rebind) queues
# the signed association for the user's homeserver, with the pending
# invites of exactly the bound address attached (an empty list when there
# are none), sigil-notify POSTs it to the homeserver double, whose log
# shows what arrived; the association and each invite's signed part are
# checked by python3-signedjson.  A failed bind sends nothing.  A
# homeserver that is down while sigil-notify is restarted gets the
# delivery exactly once when it comes up; two sigil-notify processes never
# deliver one row twice; a homeserver that holds its delivery open does
# not hold back another's.  The rows other files queued for homeservers
# that do not exist here (example.org) stay queued, so this file counts
# only its own destinations' rows.
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
# outbox(DESTINATION): the rows queued for that homeserver.
sub outbox { psql("SELECT count(*) FROM onbind_outbox WHERE destination = "
    . "'$_[0]'") }
sub stop_double { kill 'TERM', $_[0]; waitpid($_[0], 0) }

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
ok(wait_for(sub { outbox($hs) == 0 }, 5), 'the outbox is empty afterwards');
is(psql("SELECT count(*) FROM invites WHERE address = 'onbind\@example.org'"
    . " AND delivered_ts IS NOT NULL"), 2,
    'delivered invites are kept, marked delivered (invite_delete_on_delivery)');
is(psql("SELECT count(*) FROM invites WHERE token = '$theirs'"), 1,
    'the other address\'s invite is still pending');

# A bind without pending invites tells the user's homeserver too, and
# only it: the server-server API's 3pid/onbind (third_party_invite.yaml
# in the spec) requires medium, address, mxid and invites; sydent sends
# the signed association on every bind (sydent/threepid/bind.py,
# addBinding, lines 90-119, to the mxid's server in _notify, lines
# 146-172), without "invites" when there are none (line 112); we send the
# list the spec requires, empty, which Synapse reads as none
# (synapse/federation/transport/server/federation.py, On3pidBindServlet,
# lines 660-684).
my $port = free_port();
my $plog = "$dir/onbind-$port.log";
my $double = start_onbind_double($port, $plog);
$before = () = lines($log);
$r = bind_to('noinvites@example.org', "\@plain:localhost:$port");
is($r->{status}, 200, 'a bind of an address without invites')
    or diag($r->{content});
ok(wait_for(sub { lines($plog) >= 1 }, 20),
    'sigil-notify delivered an onbind to the user\'s homeserver');
ok(wait_for(sub { outbox("localhost:$port") == 0 }, 5),
    'and dropped its row');
@got = lines($plog);
is(scalar @got, 1, 'exactly one');
$body = $json->decode($got[0] // "{}");
is_deeply([sort keys %$body], [qw(address invites medium mxid not_after
    not_before signatures ts)], 'the association with an invites member');
is_deeply($body->{invites}, [], 'an empty list');
is($body->{medium}, 'email', 'for the medium');
is($body->{address}, 'noinvites@example.org', 'the address');
is($body->{mxid}, "\@plain:localhost:$port", 'and the user');
my %reply = %{ $r->{json} };
my %sent = %$body;
delete @reply{qw(signatures)};
delete @sent{qw(signatures invites)};
is_deeply(\%sent, \%reply, 'the association the bind answered');
ok(verify_signed($got[0], 'localhost', $key_id, $pub),
    'signed with the long-term key, invites included (python3-signedjson)');
is(scalar(() = lines($log)), $before,
    'nothing went to another homeserver');

# A rebind of the bound address, to another user and to the same one:
# each tells the homeserver again, with no invite (none is pending).
bind_to('noinvites@example.org', "\@other:localhost:$port")->{status} == 200
    or die 'rebind failed';
bind_to('noinvites@example.org', "\@other:localhost:$port")->{status} == 200
    or die 'rebind failed';
ok(wait_for(sub { lines($plog) >= 3 }, 20), 'two rebinds, two onbinds');
@got = lines($plog);
is(scalar @got, 3, 'exactly two more');
is_deeply([map { $json->decode($_)->{mxid} } grep { defined } @got[1, 2]],
    [("\@other:localhost:$port") x 2], 'for the new user');
is_deeply([map { $json->decode($_)->{invites} } grep { defined } @got[1, 2]],
    [[], []],
    'with empty invites');
ok(@got == 3 && !(grep { !verify_signed($_, 'localhost', $key_id, $pub) }
    @got[1, 2]), 'each signed');

# v2 bind: the same, to the token's user's homeserver.
my $tok = register_user('onbindv2');
my ($v2sid, $v2secret) = validated('onbind-v2@example.org');
$before = () = lines($log);
$r = post("$v2/3pid/bind", { sid => $v2sid, client_secret => $v2secret,
    mxid => "\@onbindv2:$hs" }, { Authorization => "Bearer $tok" });
is($r->{status}, 200, 'a v2 bind') or diag($r->{content});
ok(wait_for(sub { lines($log) > $before }, 20), 'delivered an onbind');
@got = lines($log);
is(scalar @got, $before + 1, 'one');
$body = $json->decode($got[-1]);
is($body->{mxid}, "\@onbindv2:$hs", 'for that user');
is_deeply($body->{invites}, [], 'with empty invites');
ok(verify_signed($got[-1], 'localhost', $key_id, $pub), 'signed');

# A failed bind sends nothing: not validated, a wrong secret, v2 to
# another user, an invalid user ID.  A good bind afterwards is the only
# thing the homeserver gets.
my ($fsid, $fsecret) = validated('failed@example.org');
is(post("$v1/3pid/bind", { sid => $fsid, client_secret => 'wrong',
    mxid => "\@f:localhost:$port" })->{status}, 404,
    'a bind with a wrong secret fails');
is(post("$v2/3pid/bind", { sid => $fsid, client_secret => $fsecret,
    mxid => "\@f:localhost:$port" }, { Authorization => "Bearer $tok" })
    ->{status}, 403, 'a v2 bind to another user fails');
is(post("$v1/3pid/bind", { sid => $fsid, client_secret => $fsecret,
    mxid => "f:localhost:$port" })->{status}, 400,
    'a bind to an invalid user ID fails');
$r = post("$v1/validate/email/requestToken", { client_secret => 'unvalidated',
    email => 'failed@example.org', send_attempt => 1 });
is(post("$v1/3pid/bind", { sid => $r->{json}{sid},
    client_secret => 'unvalidated', mxid => "\@f:localhost:$port" })
    ->{status}, 400, 'a bind of an unvalidated session fails');
is(outbox("localhost:$port"), 0, 'none of them queued anything');
bind_to('marker@example.org', "\@marker:localhost:$port");
ok(wait_for(sub { lines($plog) >= 4 }, 20), 'a good bind is delivered');
@got = lines($plog);
is(scalar @got, 4, 'and it alone');
is($json->decode($got[-1] // '{}')->{address}, 'marker@example.org',
    'the good bind\'s');
stop_double($double);

# The homeserver is down; sigil-notify is restarted; the homeserver comes
# up: delivered exactly once, the onbind with an invite and the one
# without alike.
$port = free_port();
my $dest = "localhost:$port";
my $late = invite('late@example.org', '!late:example.org');
bind_to('late@example.org', "\@late:$dest");
bind_to('late-plain@example.org', "\@plain:$dest");
is(outbox($dest), 2, 'two binds, two onbinds queued');
ok(wait_for(sub { psql("SELECT coalesce(min(attempts), 0) FROM onbind_outbox "
    . "WHERE destination = '$dest'") >= 1 }, 20),
    'with the homeserver down the attempts fail and stay queued');
is(psql("SELECT count(*) FROM onbind_outbox WHERE destination = '$dest' "
    . "AND last_error LIKE '%unreachable%'"), 2, 'with the reason recorded');
system("deploy/sigil-stack notify-restart $dir") == 0
    or BAIL_OUT('notify-restart failed');
is(outbox($dest), 2, 'the rows survive a restart of sigil-notify');
my $log2 = "$dir/onbind-$port.log";
$double = start_onbind_double($port, $log2);
psql("UPDATE onbind_outbox SET next_attempt_ts = 0 WHERE destination = '$dest'");
psql('NOTIFY sigil_onbind');
ok(wait_for(sub { outbox($dest) == 0 }, 20),
    'delivered once the homeserver is up');
select(undef, undef, undef, 1);
my %late = map { my $b = $json->decode($_); ($b->{address} => $b) }
    lines($log2);
is(scalar(() = lines($log2)), 2, 'each exactly once');
is($late{'late@example.org'}{invites}[0]{token}, $late, 'one with its invite');
is_deeply($late{'late-plain@example.org'}{invites}, [],
    'the other with none');
stop_double($double);

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
ok(wait_for(sub { outbox("localhost:$port") == 0 }, 30),
    'all eight delivered');
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
