# deploy/sigil-stack's configuration: the keys of SIGIL_EXTRA_CONFIG
# replace the lines it writes itself (server name, URLs, templates,
# SMTP), so a test or an integrator can run the stack with other values
# without writing the config and key by hand, while sigil still refuses
# a key set twice in a file of its own.
use strict;
use warnings;
use Cwd qw(getcwd);
use File::Temp qw(tempdir);
use Test::More;

my $top = getcwd();
my $build = $ENV{SIGIL_BUILD} // 'build';
-x "$build/sigil-status" or BAIL_OUT("$build/sigil-status is not built");
my $tmp = tempdir(CLEANUP => 1);

sub spew { open(my $fh, '>', $_[0]) or die "$_[0]: $!"; print $fh $_[1] }
sub lines_of {
	my ($file, $key) = @_;
	open(my $fh, '<', $file) or die "$file: $!";
	return map { /^\s*\Q$key\E\s*=\s*(.*?)\s*$/ ? ($1) : () } <$fh>;
}

spew("$tmp/extra", <<CONF);
# values of the integrator's own
server_name = other.example
public_base_url = https://id.other.example
  smtp_url=smtp://127.0.0.1:2525
template_dir = $top/templates
ratelimit_address = 3 60
CONF
local $ENV{SIGIL_EXTRA_CONFIG} = "$tmp/extra";
is(system('deploy/sigil-stack', 'config', "$tmp/stack", '8999'), 0,
    'sigil-stack config writes a configuration');
my $conf = "$tmp/stack/sigil.conf";
is_deeply([lines_of($conf, 'server_name')], ['other.example'],
    'server_name: the extra file\'s, once');
is_deeply([lines_of($conf, 'public_base_url')], ['https://id.other.example'],
    'public_base_url: the extra file\'s, once');
is_deeply([lines_of($conf, 'smtp_url')], ['smtp://127.0.0.1:2525'],
    'smtp_url: the extra file\'s, once');
is_deeply([lines_of($conf, 'template_dir')], ["$top/templates"],
    'template_dir: once');
is_deeply([lines_of($conf, 'smtp_tls')], ['off'],
    'a generated line the extra file does not name stays');
is_deeply([lines_of($conf, 'ratelimit_address')], ['3 60'],
    'a key only the extra file sets is there');
my $out = `$build/sigil-status -t -c $conf 2>&1`;
is($?, 0, 'sigil accepts the result') or diag($out);

# The production rule stays: a key set twice in one file stops sigil.
spew("$tmp/twice.conf", do { local (@ARGV, $/) = ($conf); <> }
    . "server_name = third.example\n");
$out = `$build/sigil-status -t -c $tmp/twice.conf 2>&1`;
isnt($?, 0, 'a key set twice by hand: sigil does not start');
like($out, qr/server_name is set twice/, 'and says which key');

# An extra file that cannot be read stops the stack's set-up.
local $ENV{SIGIL_EXTRA_CONFIG} = "$tmp/missing";
isnt(system("deploy/sigil-stack config $tmp/stack2 8999 2>/dev/null"), 0,
    'an unreadable SIGIL_EXTRA_CONFIG: refused');

done_testing();
