#!/usr/bin/env python3
"""Compare the requests cdnprobe captured (report.json) with a Playwright/Chrome HAR.

Only the journey's own requests count on cdnprobe's side (verification repeats are left out).
Compares (method, URL without fragment) as multisets and as sets; data:/blob: URLs are listed
apart (cdnprobe does not count them as exchanges: no network). Prints JSON.

Usage: compare_urls.py REPORT.json OTHER.har
"""
import collections
import json
import sys
from urllib.parse import urldefrag


def key(method, url):
    return (method.upper(), urldefrag(url)[0])


def is_local(url):
    return url.startswith("data:") or url.startswith("blob:")


rep = json.load(open(sys.argv[1]))
har = json.load(open(sys.argv[2]))
ours_all = rep.get("requests", [])
ours = [r for r in ours_all if not str(r.get("phase", "")).lower().startswith(("repeat", "verif"))]
mine = collections.Counter(key(r["method"], r["url"]) for r in ours if not is_local(r["url"]))
theirs_entries = har["log"]["entries"]
theirs = collections.Counter(
    key(e["request"]["method"], e["request"]["url"]) for e in theirs_entries if not is_local(e["request"]["url"])
)
local = sum(1 for e in theirs_entries if is_local(e["request"]["url"]))
missing_set = sorted(set(theirs) - set(mine))
extra_set = sorted(set(mine) - set(theirs))
fewer = {f"{m} {u}": [mine[(m, u)], n] for (m, u), n in theirs.items() if (m, u) in mine and mine[(m, u)] < n}
print(json.dumps({
    "cdnprobe_requests": sum(mine.values()),
    "cdnprobe_requests_incl_verification": len(ours_all),
    "other_requests": sum(theirs.values()),
    "other_data_blob_entries": local,
    "cdnprobe_distinct": len(mine),
    "other_distinct": len(theirs),
    "only_in_other": [f"{m} {u}" for m, u in missing_set],
    "only_in_cdnprobe": [f"{m} {u}" for m, u in extra_set],
    "fewer_times_in_cdnprobe": fewer,
    "covers_other": not missing_set and not fewer,
}))
