# One table of programs (deploy/programs): the web fronts' routing, the
# limits' paths, the workers file and the systemd target are generated
# from it by deploy/gen-routes.  Checked here: the generated parts in
# the tree are up to date; every route of each program's own C route
# table (sigil-NAME --routes) reaches that program through nginx, Apache
# (mod_proxy_fcgi), the shared host's .htaccess and lighttpd, and every
# route the table gives a program is one the program serves; a program
# added as README "Adding a program" says (one row) is routed by all of
# them; a bad table is refused.
use strict;
use warnings;
use Cwd qw(getcwd);
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use Test::More;

my $top = getcwd();
my $build = $ENV{SIGIL_BUILD} // 'build';
-x "$build/sigil-status" or BAIL_OUT("$build/sigil-status is not built");
my $tmp = tempdir(CLEANUP => 1);

sub slurp { open(my $fh, '<', $_[0]) or die "$_[0]: $!"; local $/; <$fh> }
sub spew { open(my $fh, '>', $_[0]) or die "$_[0]: $!"; print $fh $_[1] }
# TEXT without its generated parts (the BEGIN and END lines kept).
sub strip_generated {
	my ($text) = @_;
	$text =~ s{^((?:# |/\* )BEGIN generated [^\n]*\n).*?^((?:# |/\* )?END generated)}{$1$2}msg;
	return $text;
}

my @statuses = map { m{/(\d+)\.json$} } glob('deploy/apache-errors/*.json');
my @generated = ((map { "apache-errors/$_.json" } @statuses),
    qw(nginx-sigil-upstreams.conf.in nginx-sigil-locations.conf.in
    nginx-sigil-server.conf.in sigil-location.conf apache-sigil.conf.in apache-sigil-limits.conf.in shared-hosting/.htaccess
    lighttpd-sigil.conf systemd/workers systemd/sigil.target.in));

# A copy of deploy/ (the files gen-routes reads and writes), in DIR, and
# of cgi/supervise.c beside it.
sub copy_deploy {
	my ($dir) = @_;
	(my $parent = $dir) =~ s{/[^/]+$}{};
	mkdir "$_" for ($parent, "$parent/cgi", "$parent/common");
	copy('common/bounds.h', "$parent/common/bounds.h") or die "bounds.h: $!";
	mkdir "$dir$_" for ('', qw(/shared-hosting /systemd /apache-errors));
	copy("deploy/$_", "$dir/$_") or die "$_: $!"
	    for (@generated, qw(programs errors gen-routes gen-routes.awk));
	copy('cgi/supervise.c', "$parent/cgi/supervise.c") or die "supervise.c: $!";
}

# The program each front sends PATH to, by its configuration in DIR, as
# the front itself picks (undef: none).
sub nginx_route {
	my ($dir, $path) = @_;
	my $conf = slurp("$dir/nginx-sigil-locations.conf.in");
	my (@re, @prefix);
	my %exact;
	while ($conf =~ /^location\s+(\^~\s+|[~=]\s+)?(\S+)\s*\{(.*?)^\}/msg) {
		my ($mod, $what, $body) = ($1 // '', $2, $3);
		my ($prog) = $body =~ /fastcgi_pass sigil_(\w+);/ or next;
		if ($mod =~ /=/) {
			$exact{$what} = $prog;
		} elsif ($mod =~ /\^~/) {
			push @prefix, [$what, $prog, 1];
		} else {
			push @{$mod ? \@re : \@prefix}, [$what, $prog];
		}
	}
	# An exact match; else the longest prefix if it is a "^~" one; else
	# regexes in order; else the longest prefix.
	return $exact{$path} if exists $exact{$path};
	my ($best) = sort { length($b->[0]) <=> length($a->[0]) }
	    grep { index($path, $_->[0]) == 0 } @prefix;
	return $best->[1] if $best && $best->[2];
	for (@re) { return $_->[1] if $path =~ /$_->[0]/ }
	return $best ? $best->[1] : undef;
}
sub apache_route {
	my ($dir, $path) = @_;
	my $conf = slurp("$dir/apache-sigil.conf.in");
	while ($conf =~ /^ProxyPassMatch "([^"]+)" "unix:\@SOCKDIR\@\/sigil-(\w+)\.sock/mg) {
		my ($re, $prog) = ($1, $2);
		return $prog if $path =~ /$re/;
	}
	return undef;
}
sub htaccess_route {
	my ($dir, $path) = @_;
	(my $rel = $path) =~ s{^/}{};
	my $conf = slurp("$dir/shared-hosting/.htaccess");
	while ($conf =~ /^RewriteRule (\S+) sigil\/sigil-(\w+)\.cgi \[END\]/mg) {
		my ($re, $prog) = ($1, $2);
		return $prog if $rel =~ /$re/;
	}
	return undef;
}
sub lighttpd_route {
	my ($dir, $path) = @_;
	my $conf = slurp("$dir/lighttpd-sigil.conf");
	while ($conf =~ /^\s*"([^"]+)" => var\.sigil_dir \+ "\/sigil-(\w+)\.cgi/mg) {
		return $2 if index($path, $1) == 0;
	}
	return undef;
}
my %front = (nginx => \&nginx_route, apache => \&apache_route,
    htaccess => \&htaccess_route, lighttpd => \&lighttpd_route);

# The table's rows: name => [routes].
sub table {
	my ($file) = @_;
	my %t;
	for (split /\n/, slurp($file)) {
		next if /^\s*(#|$)/;
		my ($name, $pool, $write, @routes) = split;
		$t{$name} = { pool => $pool, write => $write,
		    routes => [grep { $_ ne '-' } @routes] };
	}
	return \%t;
}

# 1. The tree's generated parts are what gen-routes makes of the table.
my $copy = "$tmp/copy/deploy";
copy_deploy($copy);
is(system('sh', "$copy/gen-routes"), 0, 'gen-routes runs');
for (@generated) {
	ok(slurp("$copy/$_") eq slurp("deploy/$_"),
	    "deploy/$_ is up to date (else: make routes)");
}
ok(slurp("$copy/../cgi/supervise.c") eq slurp('cgi/supervise.c'),
    'known[] in cgi/supervise.c is up to date');
# ... and it would see one that is not: a hand edit is undone.
my $stale = slurp("deploy/nginx-sigil-locations.conf.in");
$stale =~ s/fastcgi_pass sigil_lookup;/fastcgi_pass sigil_status;/ or die;
spew("$copy/nginx-sigil-locations.conf.in", $stale);
system('sh', "$copy/gen-routes");
ok(slurp("$copy/nginx-sigil-locations.conf.in") eq
    slurp("deploy/nginx-sigil-locations.conf.in"),
    'a hand edit of a generated part is rewritten');

# ... the error documents are one per status of deploy/errors, and
# nginx's answers are the same bodies.
my @table_statuses = map { /^(\d{3})\s/ ? ($1) : () }
    split /\n/, slurp('deploy/errors');
is_deeply([sort @statuses], [sort @table_statuses],
    'apache-errors: one document per status of deploy/errors');
my $named = slurp('deploy/nginx-sigil-locations.conf.in');
my $server = slurp('deploy/nginx-sigil-server.conf.in');
# The refusals sigil-status counts (deploy/errors, "count"): nginx's
# page passes to it, with the body as its fallback, @sigil_NNN_page.
my %counted = map { /^count\s+(\d{3})\s/ ? ($1 => 1) : () }
    split /\n/, slurp('deploy/errors');
is_deeply([sort keys %counted], [413, 429], 'the counted refusals: 413, 429');
for my $st (@statuses) {
	my $body = slurp("deploy/apache-errors/$st.json");
	like($body, qr/^\{"errcode":"M_[A-Z_]+","error":"[^"]+"(,"retry_after_ms":\d+)?\}$/,
	    "$st.json is a Matrix error");
	if ($counted{$st}) {
		like($named, qr/^location \@sigil_$st \{\n(?:\t[^\n]*\n)*?\tfastcgi_param REDIRECT_STATUS $st;\n(?:\t[^\n]*\n)*?\terror_page 500 502 503 504 = \@sigil_${st}_page;\n\tfastcgi_pass sigil_status;\n\}/m,
		    "nginx's \@sigil_$st goes to sigil-status, to be counted");
		like($named, qr/^location \@sigil_${st}_page \{\n(?:\t[^\n]*\n)*?\treturn $st '\Q$body\E';/m,
		    "and its fallback says what $st.json says");
	} else {
		like($named, qr/^location \@sigil_$st \{\n(?:\t[^\n]*\n)*?\treturn $st '\Q$body\E';/m,
		    "nginx's \@sigil_$st says what $st.json says");
	}
	next unless $server =~ m{error_page $st /_sigil_error/$st;};
	like($server, qr/^location = \/_sigil_error\/$st \{\n(?:\t[^\n]*\n)*?\treturn $st '\Q$body\E';/m,
	    "nginx's /_sigil_error/$st says what $st.json says");
}
# ... every front's list of error pages is every status of deploy/errors
# (nginx's server adds its own 494, a header too large, and 497, plain
# HTTP to an HTTPS port), generated.
for ([ 'sigil-location.conf', qr/^error_page (\d+) \@sigil_\1;$/m ],
    [ 'nginx-sigil-server.conf.in', qr{^error_page (\d+) /_sigil_error/\1;$}m ],
    [ 'apache-sigil.conf.in', qr{^ErrorDocument (\d+) /_sigil_(?:error/\1\.json|refused/\1\?reason=[a-z_]+)$}m ],
    [ 'shared-hosting/.htaccess', qr{^ErrorDocument (\d+) /sigil/errors/\1\.json$}m ]) {
	my ($f, $re) = @$_;
	my $conf = slurp("deploy/$f");
	my @got = $conf =~ /$re/g;
	is_deeply([sort grep { !/^49[47]$/ } @got], [sort @table_statuses],
	    "$f: an error page for every status of deploy/errors");
	my $hand = join '', grep { /^\s*(error_page|ErrorDocument)\s/ }
	    split /^/, strip_generated($conf);
	is($hand, '', "$f: none by hand");
}
like($server, qr{^error_page 494 /_sigil_error/494;$}m,
    "nginx-sigil-server.conf.in: nginx's 494 too");
like($server, qr{^location = /_sigil_error/494 \{\n(?:\t[^\n]*\n)*?\treturn 400 '\Q${\ slurp('deploy/apache-errors/431.json')}\E';}m,
    '... as 400 with the body of 431');
like($server, qr{^location = /_sigil_error/497 \{\n(?:\t[^\n]*\n)*?\treturn 400 '\Q${\ slurp('deploy/apache-errors/400.json')}\E';}m,
    "and its 497 (plain HTTP to the HTTPS port) as 400");

# No hand-kept copy of a route or an error body anywhere under deploy/:
# outside the generated parts and the comments, no file names a route
# of the table, passes a path to a program or holds a Matrix error body.
my @table_routes = map { my $r = $_; $r =~ s/\*$//;
    $r =~ m{^/} ? $r : "identity/$r" }
    grep { $_ ne '/' } map { @{$_->{routes}} } values %{table('deploy/programs')};
ok(@table_routes > 20, 'the table has its routes') or diag("@table_routes");
for my $f (split /\n/, `git ls-files deploy`) {
	next if $f =~ m{^deploy/(programs|errors|gen-routes(\.awk)?|apache-errors/.*)$};
	next unless -T $f;
	my $text = join '', grep { !/^\s*(#|\/?\*)/ }
	    split /^/, strip_generated(slurp($f));
	my @copies = grep { index($text, $_) >= 0 } @table_routes;
	push @copies, 'an error body' if $text =~ /"errcode"/;
	push @copies, 'a route to a program' if $text =~
	    /fastcgi_pass|ProxyPass|sigil-\w+\.(cgi|sock)\b/;
	is("@copies", '', "$f: no hand-kept route or error body");
}

my $stale_json = "$tmp/stale/deploy";
copy_deploy($stale_json);
spew("$stale_json/apache-errors/405.json", '{"errcode":"M_UNRECOGNIZED","error":"Method not allowed"}');
system('sh', "$stale_json/gen-routes");
is(slurp("$stale_json/apache-errors/405.json"), slurp('deploy/apache-errors/405.json'),
    'a hand-edited error document is rewritten');

# ... the body cap is MAX_BODY everywhere, and follows it.
for ([ 'sigil-location.conf', qr/^client_max_body_size 1024k;$/m ],
    [ 'apache-sigil.conf.in', qr/^LimitRequestBody 1048576$/m ],
    [ 'shared-hosting/.htaccess', qr/^LimitRequestBody 1048576$/m ],
    [ 'shared-hosting/.htaccess', qr/^RewriteCond expr "%\{HTTP:Content-Length\} -gt 1048576"$/m ],
    [ 'lighttpd-sigil.conf', qr/^server\.max-request-size = 1024$/m ]) {
	like(slurp("deploy/$_->[0]"), $_->[1], "$_->[0]: the body cap is MAX_BODY");
}
my $capped = "$tmp/capped/deploy";
copy_deploy($capped);
my $bounds = slurp("$capped/../common/bounds.h");
$bounds =~ s/^#define MAX_BODY\s.*$/#define MAX_BODY\t\t(2048L * 1024)/m or die;
spew("$capped/../common/bounds.h", $bounds);
is(system('sh', "$capped/gen-routes"), 0, 'gen-routes with another MAX_BODY');
like(slurp("$capped/sigil-location.conf"), qr/^client_max_body_size 2048k;$/m,
    'nginx follows MAX_BODY');
like(slurp("$capped/apache-sigil.conf.in"), qr/^LimitRequestBody 2097152$/m,
    'Apache follows MAX_BODY');
like(slurp("$capped/shared-hosting/.htaccess"), qr/-gt 2097152"$/m,
    'the shared host follows MAX_BODY');
like(slurp("$capped/lighttpd-sigil.conf"), qr/^server\.max-request-size = 2048$/m,
    'lighttpd follows MAX_BODY');

# 2. Each program's C routes against the table and the fronts.
my $table = table('deploy/programs');
my @progs = split /\n/, `sh deploy/gen-routes -l`;
is_deeply(\@progs, [qw(health status pubkey account validate bind lookup invite
    internal)],
    'gen-routes -l: the programs that serve routes, in order');
my ($fallback) = grep { grep { $_ eq '/' } @{$table->{$_}{routes}} } @progs;
# The operator's routes inside the API (a route of the table that names
# its path in full): nginx, Apache and the shared host's .htaccess (when
# it marks the request SIGIL_OPERATOR) pass them to their program;
# lighttpd has no operator's routes, its fallback answers them.
my @api_ops = grep { m{^/_matrix/identity/} } map { @{$_->{routes}} }
    values %$table;
ok(@api_ops, 'the table has an operator\'s route inside the API');
sub api_op {
	my ($p) = @_;
	for (@api_ops) {
		my $r = $_;
		return 1 if $r =~ s/\*$// ? $p eq $r || index($p, "$r/") == 0 :
		    $r =~ m{/$} ? index($p, $r) == 0 : $p eq $r;
	}
	return 0;
}
for my $prog (@progs) {
	my @paths = split /\n/, `$build/sigil-$prog --routes`;
	is($? >> 8, 0, "sigil-$prog --routes");
	ok(@paths > 0, "sigil-$prog has routes");
	for my $path (@paths) {
		(my $p = $path) =~ s/\*/x/g;
		if (api_op($p)) {
			for my $f (sort keys %front) {
				is($front{$f}->('deploy', $p),
				    $f eq 'lighttpd' ? $fallback : $prog,
				    "$f: the operator's $p inside the API to "
				    . "sigil-" . ($f eq 'lighttpd' ? $fallback :
				    $prog));
			}
			next;
		}
		if ($p !~ m{^/_matrix/identity/}) {
			# The operator's: nginx and Apache only.
			for my $f (sort keys %front) {
				is($front{$f}->('deploy', $p),
				    $f =~ /^(nginx|apache)$/ ? $prog : undef,
				    "$f: the operator's $p" . ($f =~
				    /^(nginx|apache)$/ ? " to sigil-$prog" :
				    ' is not routed'));
			}
			next;
		}
		for my $f (sort keys %front) {
			is($front{$f}->('deploy', $p), $prog,
			    "$f routes $p to sigil-$prog");
		}
		my $which = `sh deploy/gen-routes -p '$p'`;
		chomp $which;
		is($which, $prog, "gen-routes -p $p (t/bench/run): $prog");
	}
	# No route in the table that the program does not serve.
	for my $r (@{$table->{$prog}{routes}}) {
		next if $r eq '/';
		my $re = $r =~ /\*$/ ? substr($r, 0, -1) . '(/|$)'
		    : $r =~ m{/$} ? $r : "$r\$";
		$re = "/_matrix/identity/$re" unless $re =~ m{^/};
		ok((grep { m{^$re} } @paths),
		    "deploy/programs: ${prog}'s route $r is one it serves");
	}
}
# What no program serves goes to the fallback (404 M_UNRECOGNIZED there).
for my $f (sort keys %front) {
	is($front{$f}->('deploy', '/_matrix/identity/v2/nothing'), $fallback,
	    "$f: an unknown path goes to sigil-$fallback");
}
for my $f (qw(nginx apache htaccess)) {
	is($front{$f}->('deploy', '/_matrix/identity/v2/lookupx'), $fallback,
	    "$f: a route's name as a prefix of another path is not the route");
}

# 3. A program added with one row is routed by every front, its limits,
# pool and unit come with it.
my $added = "$tmp/added/deploy";
copy_deploy($added);
spew("$added/programs", slurp("$added/programs") .
    "echo\t3\tno\tv2/echo api/v1/echo/\n" .
    "shout\t1-4\tyes\tv2/shout*\n" .
    "peek\t1\tno\t/_peek/ /_peek_at /_matrix/identity/peek/\n");
is(system('sh', "$added/gen-routes"), 0, 'gen-routes with two rows added');
is_deeply([split /\n/, `sh $added/gen-routes -l`], [@progs, qw(echo shout peek)],
    'the added programs are listed (the Makefile builds them)');
for my $f (sort keys %front) {
	is($front{$f}->($added, '/_matrix/identity/v2/echo'), 'echo',
	    "$f routes the added program's exact route");
	is($front{$f}->($added, '/_matrix/identity/api/v1/echo/a/b'), 'echo',
	    "$f routes the added program's prefix route");
	is($front{$f}->($added, '/_matrix/identity/v2/shout/x'), 'shout',
	    "$f routes the added program's subtree route");
	is($front{$f}->($added, '/_matrix/identity/v2/lookup'), 'lookup',
	    "$f still routes the others");
}
for my $f (sort keys %front) {
	my $ops = $f =~ /^(nginx|apache)$/;
	is($front{$f}->($added, '/_peek/a'), $ops ? 'peek' : undef,
	    "$f: an added operator's route" . ($ops ? '' : ' is not routed'));
	is($front{$f}->($added, '/_peek_at'), $ops ? 'peek' : undef,
	    "$f: an added operator's exact route" . ($ops ? '' : ' is not routed'));
	is($front{$f}->($added, '/_peek_at/x'), undef,
	    "$f: nothing under the exact one");
}
for my $f (sort keys %front) {
	is($front{$f}->($added, '/_matrix/identity/peek/a'),
	    $f eq 'lighttpd' ? $fallback : 'peek',
	    "$f: an added operator's route inside the API" .
	    ($f eq 'lighttpd' ? ' is the fallback\'s' : ''));
	is($front{$f}->($added, '/_matrix/identity/peekx'), $fallback,
	    "$f: ... and not what only starts like it");
}
like(slurp("$added/nginx-sigil-locations.conf.in"),
    qr{^location /_peek/ \{\n\tif \(\$sigil_operator = 0\) \{\n\t\treturn 403;\n\t\}\n}m,
    'nginx: the operator\'s route only for the operator\'s addresses');
like(slurp("$added/nginx-sigil-locations.conf.in"),
    qr{^location \^~ /_matrix/identity/peek/ \{\n\tif \(\$sigil_operator = 0\) \{\n\t\treturn 404;\n\t\}\n}m,
    'nginx: inside the API, any other address gets 404 (an unknown path\'s)');
like(slurp("$added/apache-sigil.conf.in"),
    qr{^<LocationMatch "\^/_matrix/identity/peek/">\n\tRequire ip \$\{SIGIL_OPERATORS\}\n\tErrorDocument 403 /_matrix/identity/\S+\n</LocationMatch>\n}m,
    'Apache: likewise, its refusal sent to the fallback as an unknown path');
like(slurp("$added/shared-hosting/.htaccess"),
    qr{^RewriteCond %\{ENV:SIGIL_OPERATOR\} =1\nRewriteRule \^_matrix/identity/peek/ sigil/sigil-peek\.cgi \[END\]\n}m,
    'the shared host: only for a request its .htaccess marks');
like(slurp("$added/apache-sigil.conf.in"),
    qr{^<LocationMatch "\^/_peek/">\n\tRequire ip \$\{SIGIL_OPERATORS\}\n}m,
    'Apache: likewise');
like(slurp("$added/nginx-sigil-upstreams.conf.in"), qr{upstream sigil_peek \{},
    'nginx: an upstream for a program with operator\'s routes only');
is($front{$_}->($added, '/_matrix/identity/v2/echo/x'), $fallback,
    "$_: the exact route takes nothing under it") for qw(nginx apache htaccess);
like(slurp("$added/nginx-sigil-upstreams.conf.in"),
    qr{upstream sigil_echo \{\n\tserver unix:\@SOCKDIR\@/sigil-echo\.sock;},
    'nginx: its upstream');
my $loc = slurp("$added/nginx-sigil-locations.conf.in");
like($loc, qr/limit_req zone=sigil_write[^}]*fastcgi_pass sigil_shout;/,
    'nginx: a write row is rate-limited');
unlike($loc, qr/limit_req zone=sigil_write[^}]*fastcgi_pass sigil_echo;/,
    'nginx: another is not');
my ($limits) = slurp("$added/apache-sigil-limits.conf.in") =~
    /^SecRule REQUEST_FILENAME "!\@rx ([^"]+)"/m;
ok('/_matrix/identity/v2/shout/a' =~ /$limits/, 'Apache limits a write row');
ok('/_matrix/identity/v2/echo' !~ /$limits/, 'Apache does not limit another');
ok('/_matrix/identity/v2/3pid/bind' =~ /$limits/, '... and still bind');
like(slurp("$added/systemd/workers"), qr/^echo 3\nshout 1-4\n/m,
    'its pool in the workers file');
like(slurp("$added/../cgi/supervise.c"), qr/^\t"notify",\n(?:\t"\w+",\n)*\t"echo",\n\t"shout",\n/m,
    'sigil-supervise knows them');
like(slurp("$added/systemd/sigil.target.in"), qr/sigil\@shout\.service/,
    'its unit in sigil.target');

# 4. A bad table is refused, the files left as they were.
for ([ "bad\t1\tno\tv2/a\$b\n", 'a route with a regex character' ],
    [ "other\t1\tno\t/\n", 'a second "/" route' ],
    [ "x\t1\tmaybe\tv2/x\n", 'write neither yes, no nor -' ],
    [ "y\t1\n", 'a row without routes' ],
    [ "z\t1\tno\t/_matrix/identity/v2/z\n", 'an operator\'s route in v2' ],
    [ "z\t1\tno\t/_matrix/identity/api/v1/z/\n", 'an operator\'s route in v1' ],
    [ "z\t1\tno\t/_matrix/identity/v3*\n", 'an operator\'s route over v3' ],
    [ "z\t1\tno\t/_matrix/identity/versions\n",
      'an operator\'s route over a public one' ],
    [ "z\t1\tno\t/_matrix/identity/ver*\n",
      'an operator\'s route taking a public one' ],
    [ "z\t1\tno\t/_matrix/identity/internal/\n",
      'an operator\'s route over another operator\'s' ],
    [ "w\t1\tno\t/_w\$/\n", 'an operator\'s route with a regex character' ]) {
	my ($row, $what, $file) = @$_;
	$file //= 'programs';
	my $bad = "$tmp/bad" . int(rand(1e9)) . "/deploy";
	copy_deploy($bad);
	spew("$bad/$file", slurp("$bad/$file") . $row);
	my $before = slurp("$bad/nginx-sigil-locations.conf.in");
	isnt(system("sh $bad/gen-routes 2>/dev/null"), 0, "refused: $what");
	is(slurp("$bad/nginx-sigil-locations.conf.in"), $before,
	    "... and nothing written");
}

# A table with no rows (or none with "/") routes nothing: refused.
my $empty = "$tmp/empty/deploy";
copy_deploy($empty);
spew("$empty/programs", "# nothing\n");
isnt(system("sh $empty/gen-routes 2>/dev/null"), 0, 'refused: a table without rows');
is(slurp("$empty/nginx-sigil-locations.conf.in"),
    slurp('deploy/nginx-sigil-locations.conf.in'), '... and nothing written');

done_testing();
