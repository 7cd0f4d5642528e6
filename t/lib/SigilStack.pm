# Helpers for the t/make tests that start a stack of their own with
# deploy/sigil-stack (on a copy of the tree), where t/lib/with-stack's
# stack and SigilTest are not there.
package SigilStack;

use strict;
use warnings;

use Exporter 'import';
use IO::Socket::INET;

our @EXPORT = qw(free_port sigil_stack);

# free_port(): a TCP port on 127.0.0.1 that nothing listens on now.
sub free_port {
	my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1:0')
	    or die "no free port: $!";
	return $s->sockport;
}

# sigil_stack(SCRIPT, COMMAND, DIR, PORT, NAME => VALUE...): SCRIPT (a
# copy's deploy/sigil-stack) COMMAND on the stack directory DIR (PORT
# for start), with the environment variables given and SIGIL_PG_FAST=1
# (a throw-away cluster); its output and whether it worked.
sub sigil_stack {
	my ($script, $cmd, $dir, $port, %env) = @_;
	local @ENV{keys %env} = values %env;
	local $ENV{SIGIL_PG_FAST} = 1;
	my $port_arg = $cmd eq 'start' ? $port : '';
	my $out = `'$script' $cmd '$dir' $port_arg 2>&1`;
	return ($out, $? == 0);
}

1;
