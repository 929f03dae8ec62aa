#!/usr/bin/env bash
# Create .venv-localstack: LocalStack (S3 + SQS emulator) in host mode, for the LocalStack integration tier.
#
# LocalStack's host mode runs only on Python 3.13 here, so it lives in its own virtualenv beside the project's
# 3.12 .venv. The pins keep its dependency set installable and importable (newer cbor2, pyopenssl, cryptography,
# service_identity and joserfc releases break localstack-core's imports; see docs/localstack.md).
# localstack-core itself is pinned to the release this tier was verified with (its S3 policy checks and
# presigned-URL rules change between releases). Idempotent: a stamp file holding the requirement set makes a
# re-run a no-op; a changed set reinstalls.
#
#   scripts/localstack/install.sh            # creates ./.venv-localstack (override: LOCALSTACK_VENV=path)
#   PYTHON313=/path/to/python3.13 scripts/localstack/install.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${LOCALSTACK_VENV:-$ROOT/.venv-localstack}"
STAMP="$VENV/.installed"
REQUIREMENTS=(
    "localstack-core[runtime]==2026.3.0"
    "cbor2<6"
    "pyopenssl<25"
    "cryptography<45"
    "service_identity<25"
    "joserfc<1.3"
)

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "${REQUIREMENTS[*]}" && -x "$VENV/bin/python" ]]; then
    exit 0
fi

# The first interpreter that really is a working 3.13: an explicit PYTHON313, the newest pyenv build, then PATH.
find_python313() {
    local candidate
    for candidate in ${PYTHON313:-} \
        $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 2>/dev/null | sort -V | tail -n 1) \
        $(command -v python3.13 || true); do
        if "$candidate" -c 'import sys, venv; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

PYTHON="$(find_python313)" || {
    echo "Python 3.13 not found (LocalStack's host mode needs it): set PYTHON313=/path/to/python3.13" >&2
    exit 1
}

started=$SECONDS
echo "installing LocalStack into $VENV with $PYTHON ..."
rm -f "$STAMP"
[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
# pip's output goes to a log (this machine's extra indexes make it print a warning per package); shown on failure.
PIP_LOG="$VENV/pip-install.log"
if ! { "$VENV/bin/python" -m pip install --upgrade pip && "$VENV/bin/python" -m pip install "${REQUIREMENTS[@]}"; } \
    >"$PIP_LOG" 2>&1; then
    tail -n 40 "$PIP_LOG" >&2
    echo "pip install failed; full log: $PIP_LOG" >&2
    exit 1
fi
# Fail here, not at the first test run, if the set does not import.
MODULES="localstack.runtime.main localstack.services.s3.provider localstack.services.sqs.provider"
"$VENV/bin/python" -c "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]" $MODULES
echo "${REQUIREMENTS[*]}" >"$STAMP"
echo "LocalStack installed in $((SECONDS - started)) s"
