#!/usr/bin/env python3
"""Turn bench/run.sh's results.jsonl into results.json and a Markdown table (stdout)."""
import json
import statistics
import sys
from pathlib import Path

out = Path(sys.argv[1])
machine = json.loads((out / "machine.json").read_text())
rows = [json.loads(l) for l in (out / "results.jsonl").read_text().splitlines() if l.strip()]
by = {}
for r in rows:
    by.setdefault(r["section"], {})[r["name"]] = r["data"]
(out / "results.json").write_text(json.dumps({"machine": machine, "results": by}, indent=1))


def mib(kb):
    return f"{kb / 1024:.0f} MiB" if kb else "?"


def spread(xs, unit="s", fmt="{:.2f}"):
    if not xs:
        return "?"
    xs = sorted(xs)
    med = statistics.median(xs)
    return f"{fmt.format(med)} {unit} (min {fmt.format(xs[0])}, max {fmt.format(xs[-1])}, n={len(xs)})"


lines = [
    f"Machine: {machine['nproc']} cores ({machine['cpu']}), {machine['mem_gib']} GiB, {machine['chromium']}, "
    f"kernel {machine['kernel']}, {machine['date_utc']}, git {machine['git']}, "
    f"load average at start {' '.join(machine['loadavg_at_start'])}",
    "",
    "| figure | measured | target | met |",
    "|---|---|---|---|",
]

full = by.get("full", {})
runs = [v for v in full.values() if not v.get("warmup")]
walls = [v["measure"]["wall_s"] for v in runs]
if runs:
    med = statistics.median(walls)
    rep = runs[-1]["report"]
    ok = all(v["measure"]["exit"] in (0, 1) for v in runs)
    lines.append(
        f"| full default run `cdnprobe run` (lab, both journeys, verification), wall incl. browser launch | "
        f"{spread(walls)}; exit codes {sorted({v['measure']['exit'] for v in runs})}; "
        f"{rep.get('journey_requests')} journey + {rep.get('verify_requests')} verification requests; "
        f"journey steps {statistics.median(v['report'].get('steps_ms', 0) for v in runs) / 1000:.1f} s of it (median); cdnprobe RSS {mib(max(v['measure']['self_max_rss_kb'] for v in runs))} "
        f"(with Chromium {mib(max(v['measure']['tree_max_rss_kb'] for v in runs))}) | < 10 s | "
        f"{'yes' if med < 10 and ok else 'no'} |"
    )

ph = by.get("phases", {})
nv = [v for k, v in ph.items() if k.startswith("noverify")]
tiny = [v for k, v in ph.items() if k.startswith("tiny")]
if nv or tiny:
    parts = []
    if tiny:
        parts.append(f"one tiny page, no lab: {spread([v['measure']['wall_s'] for v in tiny])} of which the page "
                     f"{statistics.median(v['steps_ms'] for v in tiny) / 1000:.2f} s (the rest: Chromium launch and close, report)")
    if nv:
        parts.append(f"`cdnprobe run --no-verify`: {spread([v['measure']['wall_s'] for v in nv])}, journey steps "
                     f"{statistics.median(v['steps_ms'] for v in nv) / 1000:.1f} s (median)")
        if runs:
            parts.append(f"so verification costs about {statistics.median(walls) - statistics.median(v['measure']['wall_s'] for v in nv):.1f} s")
    lines.append(f"| where the full run's time goes | {'; '.join(parts)} | — | — |")

mem = by.get("memory", {}).get("many")
if mem:
    m = mem["measure"]
    lines.append(
        f"| tool memory, synthetic page of {mem['subresources']} requests (`cdnprobe run http://127.0.0.1:PORT/`) | "
        f"cdnprobe max RSS {mib(m['self_max_rss_kb'])} (process tree with Chromium {mib(m['tree_max_rss_kb'])}); "
        f"wall {m['wall_s']:.1f} s; server answered {mem['server_answered']}, captured {mem['captured_journey']} "
        f"(+{(mem['captured'] or 0) - (mem['captured_journey'] or 0)} verification); report.json "
        f"{(mem['report_bytes'] or 0) / 1e6:.0f} MB; exit {m['exit']} | (none set; reported) | — |"
    )

an = by.get("analyze", {})
aruns = [v for k, v in an.items() if k.startswith("run")]
if aruns:
    hb = aruns[0]["har_bytes"]
    gen = an.get("generate", {})
    w = [v["measure"]["wall_s"] for v in aruns]
    r = max(v["measure"]["self_max_rss_kb"] for v in aruns)
    lines.append(
        f"| `cdnprobe analyze` on a {hb / 1048576:.0f} MiB HAR ({gen.get('entries')} entries) | "
        f"wall {spread(w)}; max RSS {mib(r)} = {r * 1024 / hb:.2f}x the file; exit {aruns[0]['measure']['exit']} | "
        f"< 2 s, RSS < 2x file | {'yes' if statistics.median(w) < 2 and r * 1024 < 2 * hb else 'no'} |"
    )
elif "skipped" in an:
    lines.append(f"| `cdnprobe analyze` on a 100 MiB HAR | not run: {an['skipped']} | < 2 s, < 2x file | — |")

peers = by.get("peers", {})
if peers:
    lh, pp, cp = peers.get("lighthouse_page"), peers.get("playwright_page"), peers.get("cdnprobe_page")
    if lh:
        lines.append(f"| Lighthouse 12, one run, lab Jira dashboard (logged in) | wall {lh['measure']['wall_s']:.1f} s; "
                     f"{lh['requests']} requests | — | — |")
    if pp:
        run = pp.get("run", pp)  # before 2026-11-26 21:27 UTC: the in-script figures alone
        wall = f"{pp['measure']['wall_s']:.1f} s (in-script {run['wall_s']:.1f} s)" if "measure" in pp else f"{run['wall_s']:.1f} s (in-script)"
        lines.append(f"| Playwright `recordHar`, same page | wall {wall}; {run['entries']} requests | — | — |")
    if cp:
        v, l = cp["vs_playwright"], cp["vs_lighthouse"]
        lines.append(f"| cdnprobe `run URL --cookie-file` {cp['flags']}, same page | wall {cp['measure']['wall_s']:.1f} s; "
                     f"{v['cdnprobe_requests']} requests; missing vs Playwright {len(v['only_in_other'])}, vs Lighthouse "
                     f"{len(l['only_in_other'])} | every request Playwright captures | {'yes' if v['covers_other'] else 'no'} |")
    pjs = [v for k, v in sorted(peers.items()) if k.startswith("playwright_journey")]
    cjs = [v for k, v in sorted(peers.items()) if k.startswith("cdnprobe_journey")]
    if pjs:
        # Results from before 2026-11-26 21:27 UTC have only the script's own clock (`run`).
        outside = all("measure" in v for v in pjs)
        pw = [v["measure"]["wall_s"] if outside else v["run"]["wall_s"] for v in pjs]
        pw_in = [v["run"]["wall_s"] for v in pjs]
        lines.append(f"| Playwright `recordHar`, lab Jira journey (login → discovery → project summary) | wall {spread(pw)}"
                     f"{' (process start to exit, as cdnprobe); in-script clock ' + spread(pw_in) if outside else ' (in-script clock)'}; "
                     f"{pjs[-1]['run']['entries']} requests; load average {', '.join(str(v['load']) for v in pjs)} | — | — |")
    if cjs:
        v = cjs[-1]["vs_playwright"]
        cw = [c["measure"]["wall_s"] for c in cjs]
        covers = all(c["vs_playwright"]["covers_other"] for c in cjs)
        lines.append(f"| cdnprobe `run --scenario jira-smoke.toml` {cjs[-1]['flags']}, same journey, interleaved with Playwright | "
                     f"wall {spread(cw)}; {v['cdnprobe_requests']} requests; only in Playwright {len(v['only_in_other'])}, fewer times "
                     f"{len(v['fewer_times_in_cdnprobe'])}, only in cdnprobe {len(v['only_in_cdnprobe'])} (last pair) | every request "
                     f"Playwright captures, every pair | {'yes' if covers else 'no'} |")
        if pjs:
            ratio = statistics.median(cw) / statistics.median(pw)
            clock = "both timed from process start to exit" if outside else "Playwright on its in-script clock"
            lines.append(f"| … cdnprobe / Playwright, medians ({clock}) | {ratio:.2f}x | ≤ 1.1x | {'yes' if ratio <= 1.1 else 'no'} |")
            if outside:
                lines.append(f"| … cdnprobe / Playwright's in-script clock (how figures before 2026-11-26 21:27 UTC were taken) | "
                             f"{statistics.median(cw) / statistics.median(pw_in):.2f}x | — | — |")
    if lh and runs:
        med = statistics.median(walls)
        lines.append(f"| full default run vs one Lighthouse run | {med:.1f} s vs {lh['measure']['wall_s']:.1f} s | quicker | "
                     f"{'yes' if med < lh['measure']['wall_s'] else 'no'} |")
print("\n".join(lines))
for name in sorted(peers):
    if name.startswith(("cdnprobe_page", "cdnprobe_journey")):
        for k, v in peers[name].items():
            if k.startswith("vs_") and (v["only_in_other"] or v["fewer_times_in_cdnprobe"] or v["only_in_cdnprobe"]):
                print(f"\n{name} {k}: only there: {v['only_in_other']}; fewer times here: {v['fewer_times_in_cdnprobe']}; "
                      f"only in cdnprobe: {v['only_in_cdnprobe']}")
