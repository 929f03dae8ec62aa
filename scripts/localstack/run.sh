#!/usr/bin/env bash
# Run a command beside a private LocalStack (S3 + SQS): see scripts/localstack/run.py.
#   scripts/localstack/run.sh .venv/bin/pytest -m "integration or localstack" tests/integration
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
[[ -x "$PYTHON" ]] || PYTHON="$(command -v python3)"
exec "$PYTHON" "$ROOT/scripts/localstack/run.py" "$@"
