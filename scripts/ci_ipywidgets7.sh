#!/usr/bin/env bash
# Run the kernel-level widget tests under ipywidgets 7 (the version Colab ships), in a second
# virtualenv next to the main one. The browser-side tests run with the main run (ipywidgets 8);
# IPYW7_BROWSER=1 runs tests/test_browser*.py here too (JupyterLab 4 with ipywidgets 7.8's
# jupyterlab_widgets 1.1, which declares JupyterLab ^3 || ^4).
#
#   bash scripts/ci_ipywidgets7.sh            # creates .venv-ipyw7 (git-ignored) on first use
#   IPYW7_VENV=/path/to/venv IPYW7_BROWSER=1 bash scripts/ci_ipywidgets7.sh
#
# Same install route as the README's test command (pip, ".[test]"), so torch comes from the same
# place; only ipywidgets is held at 7.8 (7.8 installs beside JupyterLab 4; the kernel side is what
# these tests exercise).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${IPYW7_VENV:-.venv-ipyw7}"
start=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q -e ".[test]" "ipywidgets==7.8.*"

version=$("$VENV/bin/python" -c "import ipywidgets; print(ipywidgets.__version__)")
case "$version" in
  7.*) ;;
  *) echo "ci_ipywidgets7: expected ipywidgets 7 in $VENV, found $version" >&2; exit 1 ;;
esac
echo "ci_ipywidgets7: ipywidgets $version ready in $VENV ($(( $(date +%s) - start )) s)"

shopt -s nullglob
tests=(tests/test_widget*.py tests/test_stepper*.py tests/test_graph_explorers.py)
if [ "${IPYW7_BROWSER:-0}" = 1 ]; then
  tests+=(tests/test_browser*.py)
fi
if [ ${#tests[@]} -eq 0 ]; then
  echo "ci_ipywidgets7: no tests/test_widget*.py or tests/test_stepper*.py yet; nothing to run"
  exit 0
fi
echo "ci_ipywidgets7: running ${tests[*]}"
"$VENV/bin/python" -m pytest "${tests[@]}"
