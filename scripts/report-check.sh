#!/usr/bin/env bash
# Renders the quality report in headless Chromium and fails unless every figure decoded and no script
# error happened: the page's own script marks <body> with data-figures="ok N" (N = data-expected-figures)
# and data-script-errors="0" once loaded. Writes the page and a screenshot; usage:
#   scripts/report-check.sh [OUT_DIR] [qvg report options...]     (default OUT_DIR: target/report)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/target/report}"
shift || true
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "report-check: chromium not found (apt-get install chromium)" >&2
  exit 2
fi
mkdir -p "$out"
"$root/qvg" report -o "$out/report.html" "$@"
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --virtual-time-budget=10000)
body="$("$browser" "${flags[@]}" --dump-dom "file://$out/report.html" 2>/dev/null | grep -o '<body[^>]*>' | head -1)"
expected="$(sed -n 's/.*data-expected-figures="\([0-9]*\)".*/\1/p' <<<"$body")"
figures="$(sed -n 's/.*data-figures="\([^"]*\)".*/\1/p' <<<"$body")"
errors="$(sed -n 's/.*data-script-errors="\([^"]*\)".*/\1/p' <<<"$body")"
if [ -z "$expected" ] || [ "$expected" -lt 1 ] || [ "$figures" != "ok $expected" ] || [ "$errors" != "0" ]; then
  echo "report-check: FAIL: $out/report.html in $browser: figures '${figures:-not checked}' (expected ok ${expected:-?}), script errors '${errors:-unknown}'" >&2
  exit 1
fi
"$browser" "${flags[@]}" --window-size=1400,2600 --screenshot="$out/report.png" "file://$out/report.html" >/dev/null 2>&1
[ -s "$out/report.png" ] || { echo "report-check: FAIL: no screenshot written" >&2; exit 1; }
echo "report-check: $figures figures loaded, no script error ($("$browser" --version 2>/dev/null)); screenshot $out/report.png"
