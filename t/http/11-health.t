# /_sigil/health, for load balancers and monitors: each check (the
# database answers with this build's schema, the signing key file loads,
# sigil-notify's figures are fresh) with 200 when all pass and 503 when
# one fails, saying which and why.  sigil-health is a program of its
# own, so that sigil-status stays without the database and the key.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use SigilTest;

my $dir = stack_dir();
my $conf = slurp("$dir/sigil.conf");
my $build = build_dir();

# The stack as it runs: everything passes.  (A shared host serves no
# /_sigil/; the workers' checks below run there too.)
SKIP: {
skip 'a shared host serves no /_sigil/', 9 if shared_host();
# (sigil-notify writes its first figures once it has started: slower
# under valgrind.)
my $r;
wait_for(sub { ($r = get('/_sigil/health'))->{status} == 200 }, 60);
is($r->{status}, 200, 'GET /_sigil/health: 200') or diag($r->{content});
is($r->{json}{status}, 'ok', 'status ok');
my $c = $r->{json}{checks} // {};
ok($c->{database}{ok}, 'the database answers');
like($c->{database}{schema_version} // '', qr/^\d+$/,
    'with its schema version');
ok($c->{signing_key}{ok}, 'the signing key loads');
is($c->{signing_key}{key_id}, conf_value('signing_key_id'), 'its id');
ok($c->{notify}{ok}, "sigil-notify's figures are fresh");
cmp_ok($c->{notify}{age_seconds} // 1e9, '<=', 300, 'their age');
ok(!exists $c->{database_replica}, 'no replica check without a replica');
}

# A database that cannot be reached: 503, saying so; the roots still 200.
(my $down = $conf) =~
    s{^database\s*=.*$}{database = host=$dir/nosuch dbname=sigil user=sigil}m;
my $w = start_worker('health', $down);
my $r = fcgi_request($w, 'GET', '/_sigil/health');
is($r->{status}, 503, 'database down: 503');
is($r->{json}{status}, 'failing', 'status failing');
is($r->{json}{checks}{database}{ok}, JSON::PP::false(), 'the database check failed')
    or diag($r->{content});
like($r->{json}{checks}{database}{error} // '', qr/cannot connect/, 'saying why');
ok($r->{json}{checks}{signing_key}{ok}, 'the other checks still run');

# A replica that cannot be reached is a failed check of its own.
$w = start_worker('health', $conf . "database_replica = host=$dir/nosuch "
    . "dbname=sigil user=sigil\n");
$r = fcgi_request($w, 'GET', '/_sigil/health');
is($r->{status}, 503, 'replica down: 503');
ok($r->{json}{checks}{database}{ok}, 'the primary passes');
is($r->{json}{checks}{database_replica}{ok}, JSON::PP::false(),
    'the replica fails');

# A key file that no longer loads (here: others may read it).
system('cp', '-p', conf_value('signing_key'), "$dir/health.key") == 0 or die;
$w = start_worker('health', ($conf =~
    s{^signing_key\s*=.*$}{signing_key = $dir/health.key}mr)
    . "health_notify_age = 0\n");
$r = fcgi_request($w, 'GET', '/_sigil/health');
is($r->{status}, 200, 'a copy of the key: 200') or diag($r->{content});
chmod 0644, "$dir/health.key";
$r = fcgi_request($w, 'GET', '/_sigil/health');
is($r->{status}, 503, 'the key file made readable to all: 503');
like($r->{json}{checks}{signing_key}{error} // '', qr/other users can read/,
    'saying why');

# sigil-notify's figures: absent where metrics_dir has none, and the
# check off with health_notify_age = 0.
mkdir "$dir/health-metrics";
my $nonotify = ($conf =~ s{^metrics_dir\s*=.*\n}{}mr)
    . "metrics_dir = $dir/health-metrics\n";
$w = start_worker('health', $nonotify);
$r = fcgi_request($w, 'GET', '/_sigil/health');
is($r->{status}, 503, 'no figures from sigil-notify: 503');
like($r->{json}{checks}{notify}{error} // '', qr/has not run/, 'saying why');
$w = start_worker('health', $nonotify . "health_notify_age = 0\n");
$r = fcgi_request($w, 'GET', '/_sigil/health');
is($r->{status}, 200, 'health_notify_age = 0: not checked') or diag($r->{content});
ok(!exists $r->{json}{checks}{notify}, 'and not listed');

# -t checks the database too.
spew("$dir/health-down.conf", $down);
my $out = `$build/sigil-health -t -c $dir/health-down.conf 2>&1`;
isnt($? >> 8, 0, 'sigil-health -t with an unreachable database fails');
like($out, qr/cannot connect/, 'saying why');
$out = `$build/sigil-health -t -c $dir/sigil.conf 2>&1`;
is($? >> 8, 0, 'and passes with the stack\'s') or diag($out);

done_testing();
