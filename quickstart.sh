#!/usr/bin/env bash
# The two quick-start commands:  ./quickstart.sh demo   and   ./quickstart.sh test
# Each creates .venv (Python 3.11+) and installs mentiondesk with everything it needs, then
# runs the demo or the whole test suite. Extra arguments go to the demo or to pytest.
set -euo pipefail
# The demo runs where the user stands: relative paths in its arguments (--home) and in MENTIONDESK_HOME or
# MENTIONDESK_CONFIG are the user's. The install happens in the checkout, found through any link to this file.
caller_dir="$PWD"
cd "$(dirname "$(readlink -f "$0")")"

usage="usage: $0 demo|test [args]  (demo: run the demo; test: run the test suite; args go to it)"
# Checked before the install, which takes minutes and GBs.
command="${1:-}"
case "$command" in
  demo|test) shift ;;
  -h|--help) echo "$usage"; exit 0 ;;
  *) echo "$usage" >&2; exit 2 ;;
esac

venv="${MENTIONDESK_VENV:-.venv}"
python="${PYTHON:-python3}"
# A venv cut short (during ensurepip, say) has python but no pip: it is made again, as is one whose python broke.
if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
  if [ -n "$(ls -A "$venv" 2>/dev/null)" ] && [ ! -f "$venv/pyvenv.cfg" ]; then
    echo "error: $venv is not a virtual environment (it has no pyvenv.cfg), and making one there would empty it;" \
         "move it away or set MENTIONDESK_VENV to another folder" >&2
    exit 1
  fi
  "$python" -m venv --clear "$venv"
fi
stamp="$venv/.mentiondesk-installed"
want="$(cat pyproject.toml quickstart.sh | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # torch first and pinned: an unpinned torch pulled in by another package is a multi-GB CUDA build.
  # --no-compile: Python compiles what it imports, on first use, where pip compiled every file of every package
  # (the install took 129 s, 65 without).
  "$venv/bin/python" -m pip install --quiet --no-compile torch==2.13.0
  "$venv/bin/python" -m pip install --quiet --no-compile -e '.[all,test]'
  echo "$want" > "$stamp"
fi

# The browser tests drive Debian's Chromium (never a downloaded browser build).
install_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null
  else
    echo "note: /usr/bin/chromium is missing and cannot be installed here (needs root and apt-get);" \
         "the browser tests will be skipped" >&2
  fi
}

case "$venv" in /*) ;; *) venv="$PWD/$venv" ;; esac  # the demo runs in another folder
case "$command" in
  demo) cd "$caller_dir"; exec "$venv/bin/mentiondesk" demo "$@" ;;
  # The suite is the checkout's: pytest there takes its testpaths, and the test ids it prints work as arguments.
  # One pytest worker per core, at most 4: many tests wait on subprocesses and sockets, but on 2 cores 4 workers
  # took longer than 2.
  test) install_chromium; exec "$venv/bin/python" -m pytest -ra -n auto --maxprocesses 4 "$@" ;;
esac
