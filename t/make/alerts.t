# The README's Prometheus alert rules do what they say, run by
# Prometheus's own rule engine (promtool test rules) over made-up series:
# "all busy" fires on the pools' max-reached counter, so a burst between
# two scrapes counts; database errors that go on, and a connection lost
# again and again, each have their alert; one error or one reconnect
# alone does not page anyone; the web front's own refusals (429, 413)
# fire when they go on, and a few do not.
use strict;
use warnings;
use File::Temp qw(tempdir);
use Test::More;

open(my $fh, '<', 'README.md') or die "README.md: $!";
my ($rules) = do { local $/; <$fh> } =~ /^Alert rules:\n\n```yaml\n(.*?)^```/ms;
ok($rules, 'the README has alert rules');
my $t = tempdir(CLEANUP => 1);
open(my $out, '>', "$t/rules.yml") or die;
print $out $rules // '';
close $out;
open($out, '>', "$t/test.yml") or die;
print $out <<'YAML';
rule_files:
  - rules.yml
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'sigil_pool_max_reached_total{instance="a",program="lookup"}'
        values: '0 0 0 1 1 1 1 1 1 1 1 1 1'
      - series: 'sigil_pool_max_reached_total{instance="a",program="bind"}'
        values: '0 0 0 0 0 0 0 0 0 0 0 0 0'
      - series: 'sigil_db_errors_total{instance="a",program="bind"}'
        values: '0 2 4 6 8 10 12 14 16 18 20 22 24'
      - series: 'sigil_db_errors_total{instance="a",program="lookup"}'
        values: '0 1 1 1 1 1 1 1 1 1 1 1 1'
      - series: 'sigil_db_reconnects_total{instance="a",program="lookup"}'
        values: '0 1 2 3 4 5 5 5 5 5 5 5 5'
      - series: 'sigil_db_reconnects_total{instance="a",program="pubkey"}'
        values: '0 1 1 1 1 1 1 1 1 1 1 1 1'
      - series: 'sigil_front_refusals_total{instance="a",status="429",reason="rate"}'
        values: '0+120x20'
      - series: 'sigil_front_refusals_total{instance="a",status="413",reason="body"}'
        values: '0+5x20'
    alert_rule_test:
      - eval_time: 4m
        alertname: SigilAllBusy
        exp_alerts:
          - exp_labels: {instance: a, program: lookup}
            exp_annotations:
              summary: "sigil-lookup: every worker busy at the pool's maximum, with requests waiting"
      - eval_time: 12m
        alertname: SigilAllBusy
        exp_alerts: []
      - eval_time: 2m
        alertname: SigilDatabaseErrors
        exp_alerts: []
      - eval_time: 10m
        alertname: SigilDatabaseErrors
        exp_alerts:
          - exp_labels: {instance: a, program: bind}
            exp_annotations:
              summary: "sigil-bind: database statements keep failing"
      - eval_time: 5m
        alertname: SigilDatabaseReconnecting
        exp_alerts:
          - exp_labels: {instance: a, program: lookup}
            exp_annotations:
              summary: "sigil-lookup: the database connection keeps being lost"
      - eval_time: 5m
        alertname: SigilFrontRefusing
        exp_alerts: []
      - eval_time: 15m
        alertname: SigilFrontRefusing
        exp_alerts:
          - exp_labels: {instance: a, status: "429", reason: rate}
            exp_annotations:
              summary: "the web front keeps refusing requests (429, its rate limit): a client over its limits, or limits too tight"
YAML
close $out;
my $said = `cd '$t' && promtool test rules test.yml 2>&1`;
is($? >> 8, 0, 'promtool test rules: every alert as expected') or diag($said);

done_testing();
