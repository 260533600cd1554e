#!/usr/bin/env bash
# Measure cdnprobe on this machine (a script, not a test; see bench/README.md for what each
# figure means). Traffic goes to 127.0.0.1 only; Chromium is Debian's, nothing downloads a browser.
#
#   bench/run.sh                      everything
#   BENCH_ONLY="full peers" bench/run.sh   some sections: full phases memory analyze peers
#
# Knobs (environment): BENCH_RUNS (full default runs, default 5), BENCH_ANALYZE_RUNS (3),
# BENCH_PEER_RUNS (Playwright/cdnprobe Jira journey pairs, interleaved, 3),
# BENCH_MANY (synthetic journey size, 10000), BENCH_HAR_MB (100), BENCH_OUT (results directory),
# BENCH_NO_BUILD=1 (use the existing target/release/cdnprobe), CHROME (default /usr/bin/chromium).
# Results: $BENCH_OUT/results.json and results.md (default bench/results/<UTC time>/).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
TOOLS=$BENCH/tools
OUT=${BENCH_OUT:-$BENCH/results/$(date -u +%Y%m%dT%H%M%SZ)}
RUNS=${BENCH_RUNS:-5}
ANALYZE_RUNS=${BENCH_ANALYZE_RUNS:-3}
PEER_RUNS=${BENCH_PEER_RUNS:-3}
MANY=${BENCH_MANY:-10000}
HAR_MB=${BENCH_HAR_MB:-100}
ONLY=${BENCH_ONLY:-full phases memory analyze peers}
export CHROME=${CHROME:-/usr/bin/chromium}
export CHROME_PATH=$CHROME
BIN=$ROOT/target/release/cdnprobe
RESULTS=$OUT/results.jsonl
mkdir -p "$OUT"
: >"$RESULTS"
PIDS=()

log() { printf '\n== %s\n' "$*" >&2; }
want() { [[ " $ONLY " == *" $1 "* ]]; }
# record SECTION NAME JSON: one line of results.jsonl
record() { printf '{"section":"%s","name":"%s","data":%s}\n' "$1" "$2" "$3" >>"$RESULTS"; }
cleanup() {
    for p in "${PIDS[@]:-}"; do
        [[ -n "$p" ]] && kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]:-}"; do
        [[ -n "$p" ]] && wait "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
measure() { python3 "$TOOLS/measure.py" "$@"; }
json_get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$@"; }

command -v "$CHROME" >/dev/null || { echo "no Chromium at $CHROME: apt-get install -y chromium" >&2; exit 2; }

# ---------------------------------------------------------------------------------------------
log "machine"
python3 - "$CHROME" >"$OUT/machine.json" <<'EOF'
import json, os, subprocess, sys, datetime
mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(json.dumps({
    "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "nproc": os.cpu_count(), "cpu": cpu, "mem_gib": round(mem / 1024 / 1024, 1),
    "chromium": subprocess.run([sys.argv[1], "--version"], capture_output=True, text=True).stdout.strip(),
    "kernel": os.uname().release,
    "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
    "git": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
}))
EOF
cat "$OUT/machine.json" >&2

if [[ -z "${BENCH_NO_BUILD:-}" ]]; then
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release --locked)
fi
[[ -x "$BIN" ]] || { echo "no $BIN: run without BENCH_NO_BUILD" >&2; exit 2; }
# Not `grep -q`: it exits at the first match, cdnprobe then dies of SIGPIPE (it keeps the default
# disposition, as a Unix filter should) and `pipefail` made the flag look absent.
has_cmd() { "$BIN" help 2>/dev/null | grep -E "^\s+$1\b" >/dev/null; }
has_run_flag() { "$BIN" run --help 2>/dev/null | grep -- "$1" >/dev/null; }

# ---------------------------------------------------------------------------------------------
if want full; then
    log "full default run: cdnprobe run (embedded lab, both journeys, verification), $RUNS runs + 1 warm-up"
    for i in $(seq 0 "$RUNS"); do
        d=$OUT/full/$i
        m=$(measure --stdout "$OUT/full-$i.stdout" -- "$BIN" run --quiet --out "$d")
        r=$d/report.json
        extra=$(python3 - "$r" <<'EOF'
import json, sys, collections
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print(json.dumps({"report": f"unreadable: {e}"})); sys.exit()
phases = collections.Counter("verify" if str(x.get("phase", "")).lower().startswith(("repeat", "verif")) else "journey"
                             for x in d["requests"])
steps = sum(s["duration_ms"] for j in d["journeys"] for s in j["steps"])
print(json.dumps({"duration_ms": d["duration_ms"], "requests": len(d["requests"]),
                  "journey_requests": phases["journey"], "verify_requests": phases["verify"],
                  "journeys_ok": all(j["ok"] for j in d["journeys"]), "steps_ms": steps,
                  "behaviors": len(d.get("behaviors", [])), "findings": len(d.get("findings", []))}))
EOF
)
        echo "run $i: $m $extra" >&2
        record full "run$i" "{\"measure\":$m,\"report\":$extra,\"warmup\":$([[ $i == 0 ]] && echo true || echo false)}"
    done
fi

# ---------------------------------------------------------------------------------------------
if want phases; then
    # Where the full run's time goes: the same run without verification, and a browser that only
    # opens a blank-ish page (launch + close + report, no lab journeys).
    log "phases: cdnprobe run --no-verify, and cdnprobe on one tiny page (browser launch and close)"
    port=$(free_port)
    mkdir -p "$OUT/tiny" && echo '<!doctype html><title>tiny</title><p>tiny' >"$OUT/tiny/index.html"
    python3 -m http.server "$port" --bind 127.0.0.1 --directory "$OUT/tiny" >/dev/null 2>&1 &
    PIDS+=($!)
    tiny=$!
    sleep 0.5
    for i in $(seq 1 3); do
        if has_run_flag --no-verify; then
            m=$(measure --stdout /dev/null -- "$BIN" run --quiet --no-verify --out "$OUT/noverify/$i")
            s=$(json_get "$OUT/noverify/$i/report.json" 'sum(s["duration_ms"] for j in d["journeys"] for s in j["steps"])')
            echo "no-verify $i: $m steps_ms=$s" >&2
            record phases "noverify$i" "{\"measure\":$m,\"steps_ms\":$s}"
        fi
        m=$(measure --stdout /dev/null -- "$BIN" run "http://127.0.0.1:$port/" --quiet --out "$OUT/tinyrun/$i" $(has_run_flag --no-verify && echo --no-verify))
        s=$(json_get "$OUT/tinyrun/$i/report.json" 'sum(s["duration_ms"] for j in d["journeys"] for s in j["steps"])')
        echo "tiny page $i: $m steps_ms=$s" >&2
        record phases "tiny$i" "{\"measure\":$m,\"steps_ms\":$s}"
    done
    kill "$tiny" 2>/dev/null || true
    wait "$tiny" 2>/dev/null || true
fi

# ---------------------------------------------------------------------------------------------
if want memory; then
    log "memory: cdnprobe run on a page of $MANY requests"
    port=$(free_port)
    python3 "$TOOLS/many_server.py" "$port" "$MANY" >"$OUT/many-server.log" 2>&1 &
    PIDS+=($!)
    srv=$!
    for _ in $(seq 50); do grep -q ready "$OUT/many-server.log" 2>/dev/null && break; sleep 0.1; done
    d=$OUT/many
    m=$(measure --stdout "$OUT/many.stdout" -- "$BIN" run "http://127.0.0.1:$port/" --scenario "$TOOLS/many.toml" --quiet --out "$d")
    served=$(curl -s "http://127.0.0.1:$port/__count")
    captured=$(json_get "$d/report.json" 'len(d["requests"])' 2>/dev/null || echo null)
    journey=$(json_get "$d/report.json" 'sum(1 for x in d["requests"] if not str(x.get("phase","")).lower().startswith(("repeat","verif")))' 2>/dev/null || echo null)
    size=$(stat -c %s "$d/report.json" 2>/dev/null || echo null)
    echo "$m served=$served captured=$captured journey=$journey report_bytes=$size" >&2
    record memory many "{\"measure\":$m,\"subresources\":$MANY,\"server_answered\":$served,\"captured\":$captured,\"captured_journey\":$journey,\"report_bytes\":$size}"
    kill "$srv" 2>/dev/null || true
    wait "$srv" 2>/dev/null || true
fi

# ---------------------------------------------------------------------------------------------
if want analyze; then
    if has_cmd analyze; then
        har=$OUT/big.har
        log "analyze: generating a ${HAR_MB} MiB HAR"
        gen=$(python3 "$TOOLS/gen_har.py" "$har" $((HAR_MB * 1024 * 1024)))
        echo "$gen" >&2
        record analyze generate "$gen"
        for i in $(seq 1 "$ANALYZE_RUNS"); do
            sync
            m=$(measure --stdout "$OUT/analyze-$i.stdout" -- "$BIN" analyze "$har" --quiet --out "$OUT/analyze/$i")
            n=$(json_get "$OUT/analyze/$i/report.json" 'len(d["requests"])' 2>/dev/null || echo null)
            echo "analyze $i: $m requests=$n" >&2
            record analyze "run$i" "{\"measure\":$m,\"requests\":$n,\"har_bytes\":$(stat -c %s "$har")}"
        done
        rm -f "$har"
    else
        log "analyze: this build has no 'analyze' command (merge the diagnose branch); skipped"
        record analyze skipped '"no analyze command in this build"'
    fi
fi

# ---------------------------------------------------------------------------------------------
if want peers; then
    log "peers: Lighthouse and Playwright beside cdnprobe on the same lab pages"
    if [[ ! -d $BENCH/node_modules/playwright-core || ! -d $BENCH/node_modules/lighthouse ]]; then
        (cd "$BENCH" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
    fi
    "$BIN" lab >"$OUT/lab.log" 2>&1 &
    PIDS+=($!)
    lab=$!
    for _ in $(seq 100); do grep -q "Serving until" "$OUT/lab.log" 2>/dev/null && break; sleep 0.1; done
    JIRA=$(awk '/^Jira /{print $2; exit}' "$OUT/lab.log")
    JIRA=${JIRA%/}
    export BENCH_LAB_PASSWORD=$(awk '/^  alice /{print $3; exit}' "$OUT/lab.log")
    echo "lab Jira at $JIRA" >&2
    # A session for the single-page figures: log in once with curl (cookies.txt, Netscape format).
    curl -s -o /dev/null -c "$OUT/cookies.txt" --data-urlencode os_username=alice \
        --data-urlencode "os_password=$BENCH_LAB_PASSWORD" "$JIRA/login.jsp"
    export BENCH_SESSION=$(awk '$6=="JSESSIONID"{print $7}' "$OUT/cookies.txt")
    printf '{"Cookie":"JSESSIONID=%s"}' "$BENCH_SESSION" >"$OUT/lh-headers.json"
    DASH=$JIRA/secure/Dashboard.jspa

    # One page, logged in: the Jira dashboard.
    m=$(measure --stdout "$OUT/lighthouse.stdout" -- "$BENCH/node_modules/.bin/lighthouse" "$DASH" \
        --output json --output-path "$OUT/lighthouse.json" --quiet \
        --extra-headers "$OUT/lh-headers.json" --chrome-flags="--headless --no-sandbox")
    python3 - "$OUT/lighthouse.json" "$OUT/lighthouse.har" <<'EOF'
import json, sys
lhr = json.load(open(sys.argv[1]))
items = lhr["audits"]["network-requests"]["details"]["items"]
# A HAR-shaped list of what Lighthouse saw, for compare_urls.py.
json.dump({"log": {"entries": [{"request": {"method": "GET" if not i.get("requestMethod") else i["requestMethod"],
                                              "url": i["url"]}} for i in items]}}, open(sys.argv[2], "w"))
EOF
    n=$(json_get "$OUT/lighthouse.har" 'len(d["log"]["entries"])')
    echo "lighthouse: $m requests=$n" >&2
    record peers lighthouse_page "{\"measure\":$m,\"requests\":$n}"

    m=$(BENCH_SESSION=$BENCH_SESSION measure --stdout "$OUT/pw-page.stdout" -- node "$TOOLS/playwright_har.mjs" page "$DASH" "$OUT/pw-page.har" JSESSIONID BENCH_SESSION)
    p=$(cat "$OUT/pw-page.stdout")
    echo "playwright page: $m, in-script $p" >&2
    record peers playwright_page "{\"measure\":$m,\"run\":$p}"

    nv=""
    has_run_flag --no-verify && nv=--no-verify
    m=$(measure --stdout "$OUT/cdnprobe-page.stdout" -- "$BIN" run "$DASH" --cookie-file "$OUT/cookies.txt" --quiet $nv --out "$OUT/cdnprobe-page")
    c1=$(python3 "$TOOLS/compare_urls.py" "$OUT/cdnprobe-page/report.json" "$OUT/pw-page.har")
    c2=$(python3 "$TOOLS/compare_urls.py" "$OUT/cdnprobe-page/report.json" "$OUT/lighthouse.har")
    echo "cdnprobe page: $m vs playwright $c1 vs lighthouse $c2" >&2
    record peers cdnprobe_page "{\"measure\":$m,\"flags\":\"$nv\",\"vs_playwright\":$c1,\"vs_lighthouse\":$c2}"

    # The Jira journey (scenarios/jira-smoke.toml and its Playwright twin), BENCH_PEER_RUNS pairs
    # interleaved (Playwright, cdnprobe, Playwright, ...) so both see the same machine load.
    for i in $(seq 1 "$PEER_RUNS"); do
        load=$(cut -d' ' -f1 /proc/loadavg)
        # Timed from outside like cdnprobe (measure.py: process start to exit), so both walls
        # include their runtime's start and exit; the script's own clock starts after node has
        # loaded playwright-core (about 0.4 s here) and is kept as `run.wall_s` beside it.
        m=$(measure --stdout "$OUT/pw-journey$i.stdout" -- node "$TOOLS/playwright_har.mjs" journey "$JIRA/" "$OUT/pw-journey$i.har" alice BENCH_LAB_PASSWORD)
        p=$(cat "$OUT/pw-journey$i.stdout")
        echo "playwright journey $i: $m, in-script $p (load $load)" >&2
        record peers "playwright_journey$i" "{\"measure\":$m,\"run\":$p,\"load\":$load}"
        m=$(CDNPROBE_JIRA_USER=alice CDNPROBE_JIRA_PASSWORD=$BENCH_LAB_PASSWORD measure --stdout "$OUT/cdnprobe-journey$i.stdout" -- \
            "$BIN" run "$JIRA/" --scenario "$ROOT/scenarios/jira-smoke.toml" --quiet $nv --out "$OUT/cdnprobe-journey$i")
        c=$(python3 "$TOOLS/compare_urls.py" "$OUT/cdnprobe-journey$i/report.json" "$OUT/pw-journey$i.har")
        echo "cdnprobe journey $i: $m vs playwright $c" >&2
        record peers "cdnprobe_journey$i" "{\"measure\":$m,\"flags\":\"$nv\",\"vs_playwright\":$c,\"load\":$load}"
    done
    kill "$lab" 2>/dev/null || true
    wait "$lab" 2>/dev/null || true
fi

python3 "$TOOLS/summarize.py" "$OUT" | tee "$OUT/results.md"
echo "results: $OUT" >&2
