#!/usr/bin/env python3
"""Run a command; print JSON with its wall time, its own peak RSS and its process tree's peak RSS.

Peak RSS of the process itself is VmHWM from /proc/PID/status, sampled every 20 ms until it exits
(VmHWM only grows, so the last sample is the peak up to then). It excludes Chromium, which is a
child process. GNU time's "max RSS" is not used: wait4's rusage folds in reaped children, i.e. the
browser. The tree figure (sum of VmRSS of the process and all its descendants, max over samples) is
given for context only.

Usage: measure.py [--stdout FILE] -- CMD ARGS...
"""
import json
import os
import subprocess
import sys
import time

args = sys.argv[1:]
stdout = subprocess.DEVNULL
if args and args[0] == "--stdout":
    stdout = open(args[1], "wb")
    args = args[2:]
if args and args[0] == "--":
    args = args[1:]


def status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
            ppid = int(s[s.rindex(")") + 2 :].split()[1])
            kids.setdefault(ppid, []).append(int(d))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
    return kids


def tree_rss(pid):
    kids = children_map()
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += status_kb(p, "VmRSS") or 0
        stack.extend(kids.get(p, []))
    return total


t0 = time.perf_counter()
proc = subprocess.Popen(args, stdout=stdout)
hwm = 0
tree_peak = 0
n = 0
while proc.poll() is None:
    v = status_kb(proc.pid, "VmHWM")
    if v:
        hwm = max(hwm, v)
    if n % 10 == 0:  # the tree walk costs more: every 200 ms
        tree_peak = max(tree_peak, tree_rss(proc.pid))
    n += 1
    time.sleep(0.02)
wall = time.perf_counter() - t0
print(json.dumps({"wall_s": round(wall, 3), "exit": proc.returncode, "self_max_rss_kb": hwm,
                  "tree_max_rss_kb": tree_peak, "samples": n}))
