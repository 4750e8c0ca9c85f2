#!/usr/bin/env bash
# The periodic commands run by certapp-task@.service (see deploy/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
flask=.venv/bin/flask
case "$1" in
  backup)
    $flask backup create --output "/var/backups/certapp/certapp-$(date -u +%Y%m%d-%H%M%S).tar"
    # keep 14 daily archives on this machine; copy them off it as well (see the guide)
    ls -1t /var/backups/certapp/certapp-*.tar | tail -n +15 | xargs -r rm -f ;;
  audit-anchor) $flask audit anchor ;;   # the printed line goes to the journal: a copy outside the database
  audit-verify) $flask audit verify ;;
  ledger-check) $flask ledger check && $flask reconcile ;;
  *) echo "unknown task: $1" >&2; exit 2 ;;
esac
