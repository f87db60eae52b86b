#!/usr/bin/env bash
# Render a timeline page (envctl timeline --out x.html) in headless Chromium and save a PNG of it.
# Fails when Chromium is missing, when it reports a console or load error, or when no picture came out.
# Usage: scripts/screenshot-timeline.sh PAGE.html OUT.png [WIDTHxHEIGHT]
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 PAGE.html OUT.png [WIDTHxHEIGHT]" >&2
  exit 2
fi
page=$1
out=$2
size=${3:-1200x700}
browser=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [[ -z "$browser" ]]; then
  echo "$0: chromium not found (Debian: apt-get install chromium)" >&2
  exit 2
fi
if [[ ! -f "$page" ]]; then
  echo "$0: $page: no such file" >&2
  exit 2
fi
# A page that needs the network would render differently on an offline machine: refuse it up front.
if grep -oE '(https?:)?//[A-Za-z0-9.-]+[^"'"'"' )>]*' "$page" | grep -vx 'http://www.w3.org/2000/svg' \
    | grep -E '^(https?:)?//[A-Za-z0-9-]+\.' >&2; then
  echo "$0: $page references the network (above); a timeline page must be self-contained" >&2
  exit 1
fi
page_abs=$(cd "$(dirname "$page")" && pwd)/$(basename "$page")
out_abs=$(mkdir -p "$(dirname "$out")" && cd "$(dirname "$out")" && pwd)/$(basename "$out")

profile=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$profile" "$log"' EXIT
rm -f "$out_abs"

# No network: the page must be self-contained, so every fetch is refused by an unroutable proxy.
status=0
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage \
  --proxy-server=127.0.0.1:9 --proxy-bypass-list='<-loopback>' \
  --enable-logging=stderr --v=0 --hide-scrollbars \
  --user-data-dir="$profile" --window-size="${size/x/,}" --screenshot="$out_abs" \
  "file://$page_abs" >"$log" 2>&1 || status=$?

# Page-level trouble only: console messages from the page and failed loads. Chromium's own chatter about
# D-Bus, GPU or crash reporting in a container says nothing about the page.
if grep -E 'CONSOLE|Uncaught|net::ERR_|Failed to load|ERROR:.*(render|page|load)' "$log" \
    | grep -vE 'dbus|bus\.cc|gpu|viz|crashpad|sandbox|fontconfig|Fontconfig' >&2; then
  echo "$0: chromium reported errors rendering $page (above)" >&2
  exit 1
fi
if [[ $status -ne 0 ]]; then
  cat "$log" >&2
  echo "$0: chromium exited with $status" >&2
  exit 1
fi
if [[ ! -s "$out_abs" ]]; then
  cat "$log" >&2
  echo "$0: chromium wrote no screenshot" >&2
  exit 1
fi
echo "$out"
