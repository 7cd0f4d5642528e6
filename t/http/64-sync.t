# sigil-sync through the real stack, its source a database shaped as
# Synapse's (t/lib/SyncSource.pm: user_threepids): after one
# "sigil-sync --once" an added user is found by v1 lookup, bulk_lookup
# and v2 lookup, and an address with a pending invite gets its onbind
# with the invite; a changed address moves the binding, a changed user ID
# too; a removed user is no longer found; the removal guard stops a run
# whose query returns nothing and removes nothing (--force-remove does
# remove); -n prints the changes and writes nothing; sync_domains and
# sync_user_binds: a user's bind and unbind of an address there refused
# (M_FORBIDDEN) with refuse, allowed with allow, and sync replaces a
# user's binding there, while in other domains a user's binding stands.
# The figures reach /_sigil/metrics.  Then the same over an LDAP
# directory (a real slapd).
use strict;
use warnings;
use lib 't/lib';
use Digest::SHA qw(sha256);
use File::Temp qw(tempdir);
use MIME::Base64;
use Test::More;
use SigilSlapd;
use SigilTest;
use SyncSource;

my $dir = stack_dir();
my $hs = $ENV{SIGIL_TEST_HS};
my $v1 = '/_matrix/identity/api/v1';
my $v2 = '/_matrix/identity/v2';
my $db = 'synapse_sync64';
my $dom = 'sync64.example';

synapse_db($db);
sync_fresh();
my $conf = sync_conf(sync_sql_conninfo => synapse_conninfo($db),
    sync_max_remove_percent => 50);

sub esc { $_[0] =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ger }
sub v1_lookup {
	my ($medium, $address) = @_;
	my $r = get("$v1/lookup?medium=$medium&address=" . esc($address));
	return $r->{json}{mxid};
}
sub bulk {
	my $r = post("$v1/bulk_lookup",
	    { threepids => [map { ['email', $_] } @_] });
	return { map { $_->[1] => $_->[2] } @{ $r->{json}{threepids} // [] } };
}
my $token = register_user('sync64');
my $auth = { Authorization => "Bearer $token" };
sub v2_lookup {
	my ($address) = @_;
	my $pepper = get("$v2/hash_details", $auth)->{json}{lookup_pepper};
	my $h = encode_base64(sha256("$address email $pepper"), '')
	    =~ tr{+/}{-_}r =~ s/=+$//r;
	my $r = post("$v2/lookup", { algorithm => 'sha256',
	    pepper => $pepper, addresses => [$h] }, $auth);
	return $r->{json}{mappings}{$h};
}
sub owned { psql("SELECT count(*) FROM bindings WHERE origin = 'sync'") }
sub origin_of {
	psql("SELECT coalesce((SELECT origin || ' ' || mxid FROM bindings"
	    . " WHERE medium = 'email' AND address = '$_[0]'), 'none')");
}
sub lines {
	open(my $fh, '<', $_[0]) or return ();
	return map { chomp; $_ } <$fh>;
}

# A pending invite to an address that the directory is about to bring.
my $invite = post("$v1/store-invite", { medium => 'email',
    address => "alice\@$dom", room_id => '!sync:example.org',
    sender => '@host:example.org' })->{json}{token}
    or BAIL_OUT('store-invite failed');

my @rows = (["\@alice:$hs", 'email', "alice\@$dom"],
    ["\@bob:$hs", 'email', "bob\@$dom"],
    ["\@carol:$hs", 'email', "carol\@$dom"],
    ["\@dave:$hs", 'msisdn', '447700900641']);
set_threepids($db, @rows);
is(v1_lookup('email', "alice\@$dom"), undef, 'before: alice is not found');

# -n prints and writes nothing.
my $added0 = figure('sigil_sync_bindings_total{change="added"}');
my $r = run_sync($conf, '-n');
is($r->{status}, 0, '-n: exit 0') or diag($r->{err});
is_deeply([sort split /\n/, $r->{out}], [sort(
    "add email alice\@$dom \@alice:$hs", "add email bob\@$dom \@bob:$hs",
    "add email carol\@$dom \@carol:$hs",
    "add msisdn 447700900641 \@dave:$hs")], '-n prints the four adds');
is(owned(), 0, '-n wrote no binding');
is(v1_lookup('email', "alice\@$dom"), undef, '-n: alice is still not found');
figure_is('sigil_sync_bindings_total{change="added"}', $added0,
    '-n wrote no figures');

# One run: every lookup finds them.
my @before = lines("$dir/onbind.log");
$r = run_sync($conf, '--once');
is($r->{status}, 0, '--once: exit 0') or diag($r->{err});
is(owned(), 4, 'four bindings made by sync');
is(v1_lookup('email', "alice\@$dom"), "\@alice:$hs", 'v1 lookup finds alice');
is(v1_lookup('msisdn', '447700900641'), "\@dave:$hs",
    'v1 lookup finds dave by msisdn');
is_deeply(bulk("alice\@$dom", "bob\@$dom", "nobody\@$dom"),
    { "alice\@$dom" => "\@alice:$hs", "bob\@$dom" => "\@bob:$hs" },
    'bulk_lookup finds alice and bob');
is(v2_lookup("carol\@$dom"), "\@carol:$hs", 'v2 lookup finds carol');
is(origin_of("alice\@$dom"), "sync \@alice:$hs", 'recorded as sync\'s');

# The pending invite went with alice's onbind.
my $got;
ok(wait_for(sub {
	deliver_onbind();
	($got) = grep { /"address":\s*"alice\@\Q$dom\E"/ }
	    lines("$dir/onbind.log");
	return $got;
}, 30), 'alice\'s onbind was delivered');
like($got // '', qr/"token":\s*"\Q$invite\E"/, 'with the pending invite');

# The figures.
SKIP: {
	skip('no metrics_dir on a shared host', 5) if shared_host();
	my ($m) = scrape();
	is($m->{'sigil_sync_bindings_total{change="added"}'}, $added0 + 4,
	    'metrics: 4 added');
	is($m->{sigil_sync_entries}, 4, 'metrics: 4 entries seen');
	is($m->{sigil_sync_bindings}, 4, 'metrics: 4 bindings owned');
	cmp_ok(abs($m->{sigil_sync_last_success_timestamp_seconds} - time),
	    '<', 120, 'metrics: the last success is now');
	ok(defined $m->{sigil_sync_last_success_age_seconds},
	    'metrics: its age');
}

# A second run with nothing changed changes nothing.
$r = run_sync($conf, '--once');
is($r->{status}, 0, 'a run with nothing new: exit 0');
is($r->{err}, '', 'and says nothing (quiet for cron)') or diag($r->{err});

# A changed address moves the binding; a changed user ID too; dave leaves.
my $changed0 = figure('sigil_sync_bindings_total{change="changed"}');
my $removed0 = figure('sigil_sync_bindings_total{change="removed"}');
set_threepids($db, ["\@alice:$hs", 'email', "alice\@$dom"],
    ["\@bob:$hs", 'email', "robert\@$dom"],
    ["\@caroline:$hs", 'email', "carol\@$dom"],
    ["\@dave:$hs", 'msisdn', '447700900641']);
$r = run_sync($conf, '-n');
is_deeply([sort split /\n/, $r->{out}], [sort("add email robert\@$dom \@bob:$hs",
    "remove email bob\@$dom \@bob:$hs",
    "change email carol\@$dom \@carol:$hs -> \@caroline:$hs")],
    '-n: the move and the change');
$r = run_sync($conf, '--once');
is($r->{status}, 0, 'the change: exit 0') or diag($r->{err});
is(v1_lookup('email', "bob\@$dom"), undef, 'bob\'s old address is gone');
is(v1_lookup('email', "robert\@$dom"), "\@bob:$hs", 'his new one is found');
is(v2_lookup("carol\@$dom"), "\@caroline:$hs", 'carol\'s address moved user');
figure_is('sigil_sync_bindings_total{change="changed"}', $changed0 + 1,
    'metrics: 1 changed');

set_threepids($db, ["\@alice:$hs", 'email', "alice\@$dom"],
    ["\@bob:$hs", 'email', "robert\@$dom"],
    ["\@caroline:$hs", 'email', "carol\@$dom"]);
$r = run_sync($conf, '--once');
is($r->{status}, 0, 'a removal: exit 0') or diag($r->{err});
is(v1_lookup('msisdn', '447700900641'), undef, 'dave is no longer found');
figure_is('sigil_sync_bindings_total{change="removed"}', $removed0 + 2,
    'metrics: 2 removed (bob\'s old address, dave)');

# The removal guard: a query that finds nobody removes nobody.
my $refused0 = figure('sigil_sync_guard_refusals_total');
set_threepids($db);
$r = run_sync($conf, '-n');
is($r->{status}, 2, '-n, all gone: the guard\'s exit status 2');
$r = run_sync($conf, '--once');
is($r->{status}, 2, 'all gone: the guard stops the run (exit 2)');
like($r->{err}, qr/removal guard: this run would remove 3 of the 3 bindings/,
    'and says why');
is(owned(), 3, 'nothing was removed');
is(v1_lookup('email', "alice\@$dom"), "\@alice:$hs", 'alice is still found');
figure_is('sigil_sync_guard_refusals_total', $refused0 + 1,
    'metrics: one refusal (-n writes no figures)');
# 1 of 3 (33%) is under 50%, 2 of 3 is not: the guard counts its own share.
set_threepids($db, ["\@alice:$hs", 'email', "alice\@$dom"]);
is(run_sync($conf, '--once')->{status}, 2, 'removing 2 of 3 (67%): refused');
is(owned(), 3, 'still nothing removed');
$r = run_sync($conf, '--once', '--force-remove');
is($r->{status}, 0, '--force-remove: exit 0') or diag($r->{err});
like($r->{err}, qr/--force-remove: removing 2 of the 3/, 'and says so');
is(owned(), 1, 'two removed');
is(v1_lookup('email', "robert\@$dom"), undef, 'robert is no longer found');
is(v1_lookup('email', "alice\@$dom"), "\@alice:$hs", 'alice stays');

# Precedence.  A user's own bind and unbind in sync_domains.
sub bind_via {
	my ($w, $email, $mxid) = @_;
	my $secret = 'sync64' . int(rand(1e9));
	my $sid = validated_session($email, $secret);
	return (fcgi_request($w, 'POST', "$v1/3pid/bind", { sid => $sid,
	    client_secret => $secret, mxid => $mxid }), $sid, $secret);
}
my $base = slurp("$dir/sigil.conf");
my $refuse = start_worker('bind', $base . "sync_domains = $dom\n"
    . "sync_user_binds = refuse\n");
my ($b) = bind_via($refuse, "erin\@$dom", "\@erin:$hs");
is_error($b, 403, 'M_FORBIDDEN', 'refuse: a user\'s bind in sync_domains');
like($b->{json}{error} // '', qr/directory/, 'saying why');
is(v1_lookup('email', "erin\@$dom"), undef, 'nothing was bound');
($b) = bind_via($refuse, "Erin\@SYNC64.example", "\@erin:$hs");
is_error($b, 403, 'M_FORBIDDEN', 'refuse: the domain in capitals too');
($b) = bind_via($refuse, 'erin@other64.example', "\@erin:$hs");
is($b->{status}, 200, 'refuse: another domain binds as today')
    or diag($b->{content});
my $secret = 'sync64unbind';
my $sid = validated_session("alice\@$dom", $secret);
my $u = fcgi_request($refuse, 'POST', "$v1/3pid/unbind", { sid => $sid,
    client_secret => $secret, mxid => "\@alice:$hs",
    threepid => { medium => 'email', address => "alice\@$dom" } });
is_error($u, 403, 'M_FORBIDDEN', 'refuse: a user\'s unbind in sync_domains');
is(v1_lookup('email', "alice\@$dom"), "\@alice:$hs", 'alice is still bound');
stop_worker($refuse);

my $allow = start_worker('bind', $base . "sync_domains = $dom\n"
    . "sync_user_binds = allow\n");
($b) = bind_via($allow, "erin\@$dom", "\@erin:$hs");
is($b->{status}, 200, 'allow: a user\'s bind in sync_domains')
    or diag($b->{content});
is(origin_of("erin\@$dom"), "user \@erin:$hs", 'recorded as the user\'s');
($b) = bind_via($allow, 'frank@other64.example', "\@frank:$hs");
is($b->{status}, 200, 'a user\'s bind in another domain');
stop_worker($allow);

# The directory says otherwise for both: it wins in sync_domains only.
my $pconf = sync_conf(sync_sql_conninfo => synapse_conninfo($db),
    sync_max_remove_percent => 50, sync_domains => $dom);
set_threepids($db, ["\@alice:$hs", 'email', "alice\@$dom"],
    ["\@erin.dir:$hs", 'email', "erin\@$dom"],
    ["\@frank.dir:$hs", 'email', 'frank@other64.example']);
$r = run_sync($pconf, '--once');
is($r->{status}, 0, 'precedence run: exit 0') or diag($r->{err});
is(v1_lookup('email', "erin\@$dom"), "\@erin.dir:$hs",
    'in sync_domains the directory replaced the user\'s binding');
is(origin_of("erin\@$dom"), "sync \@erin.dir:$hs", 'and owns it now');
is(v1_lookup('email', 'frank@other64.example'), "\@frank:$hs",
    'in another domain the user\'s binding stands');
is(origin_of('frank@other64.example'), "user \@frank:$hs", 'still the user\'s');
is(v1_lookup('email', 'erin@other64.example'), "\@erin:$hs",
    'a user\'s binding the directory does not name stands');

# Without sync_domains the directory does not replace a user's binding.
$r = run_sync($conf, '--once');
is(v1_lookup('email', 'frank@other64.example'), "\@frank:$hs",
    'without sync_domains a user\'s binding stands');

# The same engine over the directory (common/ldapsrc) against a real slapd
# (t/lib/SigilSlapd.pm): a person added is found after one sync, one
# removed is no longer found, a filter that matches nobody is stopped by
# the removal guard, a wrong password fails the run; neither removes.
sync_fresh();
my $tmp = tempdir(CLEANUP => 1);
my $ldap = "$SigilSlapd::SUFFIX";
my $s = start_slapd("$tmp/slapd", entries => ldif_person('lena',
    'Lena@LDAP64.example') . ldif_person('max', 'max@ldap64.example')
    . ldif_person('ole', 'ole@ldap64.example'));
my %lkeys = (ldap_uri => $s->{uri}, ldap_bind_dn => $s->{bind_dn},
    ldap_bind_password_file => $s->{password_file},
    ldap_base => "ou=people,$ldap", sync_max_remove_percent => 50);
my $lconf = sync_conf(%lkeys);
$r = run_sync($lconf, '--once');
is($r->{status}, 0, 'LDAP: one sync') or diag($r->{err});
my $server = conf_value('server_name');
is(v1_lookup('email', 'lena@ldap64.example'), "\@lena:$server",
    'LDAP: v1 lookup finds lena by her canonical address');
is_deeply(bulk('max@ldap64.example', 'ole@ldap64.example'),
    { 'max@ldap64.example' => "\@max:$server",
    'ole@ldap64.example' => "\@ole:$server" }, 'LDAP: bulk_lookup finds max '
    . 'and ole');
is(v2_lookup('max@ldap64.example'), "\@max:$server",
    'LDAP: v2 lookup finds max');
slapd_modify($s, "dn: uid=max,ou=people,$ldap\nchangetype: delete\n\n");
$r = run_sync($lconf, '--once');
is($r->{status}, 0, 'LDAP: max left the directory') or diag($r->{err});
is(v1_lookup('email', 'max@ldap64.example'), undef,
    'LDAP: max is no longer found');
$r = run_sync(sync_conf(%lkeys, ldap_filter => '(uid=nobody)'), '--once');
is($r->{status}, 2, 'LDAP: a filter that matches nobody: the guard (exit 2)');
is(owned(), 2, 'LDAP: nothing removed');
spew("$tmp/wrong", "not-the-password\n");
chmod(0600, "$tmp/wrong");
$r = run_sync(sync_conf(%lkeys, ldap_bind_password_file => "$tmp/wrong"),
    '--once');
is($r->{status}, 1, 'LDAP: a wrong password: exit 1');
like($r->{err}, qr/Invalid credentials.*nothing changed/,
    'LDAP: says why, and that nothing changed');
is(v1_lookup('email', 'lena@ldap64.example'), "\@lena:$server",
    'LDAP: lena is still found');
stop_slapd($s);

sync_fresh();
done_testing();
