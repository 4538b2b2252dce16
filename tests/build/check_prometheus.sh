#!/bin/sh
# ops/prometheus/ is what an operator copies: promtool must accept the scrape
# config and the alert rules, and every vms_ metric a rule names must be one
# a daemon exports (named in server/, fusefs/ or net/).
cd "$(dirname "$0")/../.." || exit 2
set -e
promtool check config --syntax-only ops/prometheus/prometheus.yml
promtool check rules ops/prometheus/vms-alerts.yml
bad=0
for name in $(grep -o 'vms_[a-z_]*' ops/prometheus/vms-alerts.yml | sort -u); do
  if ! grep -rqF "\"$name\"" server fusefs net; then
    echo "ops/prometheus/vms-alerts.yml names $name, which no daemon exports" >&2
    bad=1
  fi
done
exit $bad
