#!/usr/bin/env python3
"""abtime.py - time command A against reference command B, alternating.

usage: abtime.py NAME RUNS MB 'COMMAND A' 'COMMAND B'

Runs A and B in turn RUNS times each (after one warm-up of each), through
/bin/sh, and prints the median wall time, MB/s (of MB megabytes of data),
peak resident memory of each (from wait4 of the shell and its children),
and the ratio A/B of the medians.  Never fails on a time: it only reports.
"""
import os, statistics, subprocess, sys, time

def run(cmd):
    t0 = time.perf_counter()
    p = subprocess.Popen(["/bin/sh", "-c", cmd], stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        print(f"  warning: exit {p.returncode}: {cmd}", file=sys.stderr)
    return dt, ru.ru_maxrss / 1024.0  # MiB

def main():
    name, runs, mb, a, b = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
    run(a); run(b)
    ta, tb, ma, mb_ = [], [], [], []
    for _ in range(runs):
        t, m = run(a); ta.append(t); ma.append(m)
        t, m = run(b); tb.append(t); mb_.append(m)
    A, B = statistics.median(ta), statistics.median(tb)
    print(f"{name}")
    print(f"  A {A:7.3f} s  {mb / A:8.1f} MB/s  peak {max(ma):7.1f} MiB   {a}")
    print(f"  B {B:7.3f} s  {mb / B:8.1f} MB/s  peak {max(mb_):7.1f} MiB   {b}")
    print(f"  ratio A/B {A / B:.2f}  (min..max of A {min(ta):.3f}..{max(ta):.3f}, B {min(tb):.3f}..{max(tb):.3f})")

main()
