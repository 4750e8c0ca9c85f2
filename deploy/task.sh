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
  # the head appended to instance/audit-anchors.txt (copy it off this machine with the backups) and printed
  # to the journal: records outside the database
  audit-anchor) $flask audit anchor ;;
  audit-verify)
    anchors="${CERTAPP_INSTANCE_PATH:-instance}/audit-anchors.txt"
    if [ -f "$anchors" ]; then $flask audit verify --anchor "$anchors"; else $flask audit verify; fi ;;
  ledger-check) $flask ledger check && $flask reconcile ;;
  *) echo "unknown task: $1" >&2; exit 2 ;;
esac
