#!/usr/bin/env python3
"""Runs a command and prints its peak resident memory in MB.

A child's ru_maxrss counts the memory image it was forked from, so this launcher stays small
(standard library only) and the measured program forks from it, not from a large benchmark
process.
"""
import os, subprocess, sys

child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
if os.waitstatus_to_exitcode(status) != 0:
    sys.exit(f"peak_rss: {sys.argv[1:]} failed")
print(usage.ru_maxrss / 1024)
