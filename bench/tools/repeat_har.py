#!/usr/bin/env python3
"""Write a HAR of about SIZE bytes by repeating the entries of a real public HAR (the shape of a
real capture, many small entries, rather than our generator's), written indented as the
browsers write it. Each copy's startedDateTime is shifted by one hour so that entries stay
distinct in time. Usage: repeat_har.py IN.har OUT.har
[SIZE_BYTES]
"""
import copy
import json
import sys
from datetime import datetime, timedelta

src, out_path = sys.argv[1], sys.argv[2]
target = int(sys.argv[3]) if len(sys.argv) > 3 else 100 * 1024 * 1024
har = json.load(open(src, encoding="utf-8"))
entries = har["log"]["entries"]
one = len(json.dumps({"log": {"entries": entries}}, indent=2).encode())
copies = max(1, target // max(one, 1))
out = []
for i in range(copies):
    for e in entries:
        e = copy.deepcopy(e)
        try:
            t = datetime.fromisoformat(e["startedDateTime"].replace("Z", "+00:00"))
            e["startedDateTime"] = (t + timedelta(hours=i)).isoformat()
        except (KeyError, ValueError):
            pass
        out.append(e)
har["log"]["entries"] = out
with open(out_path, "w", encoding="utf-8") as f:
    json.dump(har, f, indent=2)
print(f"{len(out)} entries from {copies} copies of {src}", file=sys.stderr)
