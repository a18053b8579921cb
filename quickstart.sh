#!/usr/bin/env bash
# The two quick-start commands:  ./quickstart.sh demo   and   ./quickstart.sh test
# Each creates .venv (Python 3.11+) and installs mentiondesk with everything it needs, then
# runs the demo or the whole test suite. Extra arguments go to the demo or to pytest.
set -euo pipefail
cd "$(dirname "$0")"

venv="${MENTIONDESK_VENV:-.venv}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
stamp="$venv/.mentiondesk-installed"
want="$(cat pyproject.toml quickstart.sh | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # torch first and pinned: an unpinned torch pulled in by another package is a multi-GB CUDA build.
  "$venv/bin/pip" install --quiet torch==2.13.0
  "$venv/bin/pip" install --quiet -e '.[all,test]'
  echo "$want" > "$stamp"
fi

command="${1:-}"
shift || true
case "$command" in
  demo) exec "$venv/bin/mentiondesk" demo "$@" ;;
  test) exec "$venv/bin/python" -m pytest -ra "$@" ;;
  *) echo "usage: $0 demo|test [args]" >&2; exit 2 ;;
esac
