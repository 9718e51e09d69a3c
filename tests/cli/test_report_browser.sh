#!/usr/bin/env bash
# The analysis report in a real browser: headless Chromium opens report.html, a probe
# script (added to a copy of the page) records script errors, blocked requests (the page's
# Content-Security-Policy forbids every request) and the size of every chart element;
# the test asserts none is missing or empty, and takes a full-page screenshot.
# Skips (exit 0, visible SKIP) only when no Chromium is installed.
# Env: SQ_BIN (shopseq), SQ_TMPDIR (scratch); SQ_SCREENSHOT_OUT=FILE also copies the PNG there.
set -euo pipefail

BROWSER=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then BROWSER=$(command -v "$b"); break; fi
done
if [ -z "$BROWSER" ]; then
  echo "SKIP: no Chromium found (Debian package 'chromium'); the report was not checked in a browser"
  exit 0
fi

: "${SQ_BIN:?SQ_BIN must point at the shopseq binary}"
T="${SQ_TMPDIR:-/tmp}/report_browser"
rm -rf "$T" && mkdir -p "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. data: a small simulated shop, ingested, analysed; without a model comparison and
#    predictions the page has neither section, with them (a tiny compare: 1 epoch; run's
#    predict stage on the same events) it has both
"$SQ_BIN" synth --users 1500 --seed 7 --out "$T/shop.csv" --quiet
"$SQ_BIN" ingest "$T/shop.csv" --out "$T/shop.sqd" --quiet
"$SQ_BIN" analyze "$T/shop.sqd" --out "$T/plain" --quiet
[ -s "$T/plain/report.html" ] || fail "no report.html"
if grep -q 'Model comparison\|data-chart="compare-' "$T/plain/report.html"; then
  fail "a report without --compare has a comparison section"
fi
if grep -q '<h2>Predictions\|data-chart="predict-' "$T/plain/report.html"; then
  fail "a report without --predictions has a predictions section"
fi
"$SQ_BIN" run "$T/shop.csv" --out "$T/run" --no-compare --quiet || fail "run (predictions)"
"$SQ_BIN" compare "$T/shop.sqd" --models pop,markov,itemknn,sasrec,gru4rec --epochs 1 --maxlen 20 --dim 16 \
  --test-users 500 --eval-users 200 --lr 0.005 --quiet --json > "$T/compare.json" || fail "compare"
"$SQ_BIN" analyze "$T/shop.sqd" --out "$T/out" --compare "$T/compare.json" \
  --predictions "$T/run/predictions.json" --quiet
R="$T/out/report.html"
[ -s "$R" ] || fail "no report.html"

# 2. self-contained: no external reference of any kind
if grep -Eoi '(src|href|action)=["'"'"']?[a-z]*:?//|url\(|@import|<script|<link|<iframe' "$R" | head -3 | grep -q .; then
  fail "report.html refers to something outside itself: $(grep -Eoi '(src|href|action)=["'"'"']?[a-z]*:?//|url\(|@import|<script|<link|<iframe' "$R" | head -3 | tr '\n' ' ')"
fi

# 3. probe copy: allow one inline script (still no network: default-src 'none')
P="$T/out/probe.html"
cat > "$T/probe.js" <<'JS'
<script>
window.__sq=[];
window.addEventListener("error",function(e){window.__sq.push("error: "+e.message);});
document.addEventListener("securitypolicyviolation",function(e){window.__sq.push("blocked: "+e.blockedURI+" ("+e.violatedDirective+")");});
window.addEventListener("load",function(){
  var nl=String.fromCharCode(10), out=[];
  document.querySelectorAll("[data-chart]").forEach(function(el){
    var r=el.getBoundingClientRect();
    out.push(el.getAttribute("data-chart")+" "+Math.round(r.width)+" "+Math.round(r.height));
  });
  var pre=document.createElement("pre"); pre.id="sq-probe";
  pre.textContent=["SQ"+"PROBE"].concat(out, ["ERRORS "+window.__sq.length], window.__sq,
    ["HEIGHT "+document.documentElement.scrollHeight, "SQ"+"END"]).join(nl);
  document.body.appendChild(pre);
});
</script>
JS
awk -v pf="$T/probe.js" 'BEGIN { while ((getline l < pf) > 0) probe = probe l "\n" }
  { gsub(/default-src '"'"'none'"'"';/, "default-src '"'"'none'"'"'; script-src '"'"'unsafe-inline'"'"';");
    i = index($0, "<head>"); if (i) $0 = substr($0, 1, i + 5) probe substr($0, i + 6); print }' "$R" > "$P"
grep -q 'sq-probe' "$P" || fail "could not add the probe to the page"

FLAGS=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$(mktemp -d)")
timeout 120 "$BROWSER" "${FLAGS[@]}" --virtual-time-budget=5000 --window-size=1280,1000 --dump-dom "file://$P" > "$T/dom.html" 2> "$T/chromium.log" \
  || fail "chromium --dump-dom failed: $(tail -3 "$T/chromium.log")"
sed -n '/SQPROBE$/,/^SQEND/p' "$T/dom.html" | sed 's/.*SQPROBE$/SQPROBE/; s/SQEND.*/SQEND/' > "$T/probe.txt"
grep -q SQEND "$T/probe.txt" || fail "the probe did not run (page did not load?)"
cat "$T/probe.txt"

errors=$(awk '/^ERRORS /{print $2}' "$T/probe.txt")
[ "$errors" = "0" ] || fail "$errors script error(s) or blocked request(s) in the page"

expected="kpis funnel-users funnel-sessions funnel-categories retention hour-weekday daily-active-users
daily-by-behavior top-items-views top-items-carts top-items-buys top-items-conversion
top-categories-views top-categories-carts top-categories-buys top-categories-conversion
rfm-segments rfm-table sequence-length session-length compare-ndcg compare-table
predict-roc-purchase predict-calibration-purchase predict-table-purchase
predict-roc-churn predict-calibration-churn predict-table-churn"
n=0
for id in $expected; do
  line=$(grep -E "^$id [0-9]+ [0-9]+$" "$T/probe.txt" || true)
  [ -n "$line" ] || fail "chart '$id' is missing from the page"
  read -r _ w h <<< "$line"
  { [ "$w" -gt 0 ] && [ "$h" -gt 0 ]; } || fail "chart '$id' has zero size (${w}x${h})"
  n=$((n + 1))
done
echo "all $n charts present with non-zero size"

# 4. full-page screenshot of the real report (no probe)
H=$(awk '/^HEIGHT /{print $2}' "$T/probe.txt")
[ -n "$H" ] && [ "$H" -gt 0 ] || H=4000
timeout 120 "$BROWSER" "${FLAGS[@]}" --screenshot="$T/report.png" --window-size=1280,"$H" "file://$R" \
  >> "$T/chromium.log" 2>&1 || fail "screenshot failed: $(tail -3 "$T/chromium.log")"
[ -s "$T/report.png" ] || fail "no screenshot written"
echo "screenshot: $T/report.png (1280x$H)"
if [ -n "${SQ_SCREENSHOT_OUT:-}" ]; then cp "$T/report.png" "$SQ_SCREENSHOT_OUT"; fi
echo "PASS"
