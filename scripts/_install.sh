# Sourced by scripts/run and scripts/test: create .venv if missing and install into it exactly
# what requirements.lock pins (with hashes), then the project itself without dependencies.
# Re-installs only when the lock, setup.cfg or pyproject.toml changed since the last install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.certapp-installed-$(cat requirements.lock setup.cfg pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --require-hashes -r requirements.lock
  .venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
  rm -f .venv/.certapp-installed-*
  touch "$stamp"
fi
export FLASK_APP=wsgi
