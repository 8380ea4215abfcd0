#!/usr/bin/env python3
"""Runs a command inside a pseudo-terminal and plays a dialogue with it.

Usage: PTY_STEPS='[{"expect": "regex", "send": "text"}, ...]' ptydrive.py CMD [ARGS...]
Each step waits until the output (after the previous match) matches `expect`, then types `send`.
After the last step it reads until the command exits, prints everything the terminal showed,
and exits with the command's exit code (124 if an expectation timed out).
Env: PTY_COLS / PTY_ROWS (terminal size, default 100x30), PTY_TIMEOUT (seconds, default 20).
"""
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

steps = json.loads(os.environ.get("PTY_STEPS", "[]"))
cols = int(os.environ.get("PTY_COLS", "100"))
rows = int(os.environ.get("PTY_ROWS", "30"))
deadline = time.time() + float(os.environ.get("PTY_TIMEOUT", "20"))

pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])

output = b""


def read_some(timeout):
    global output
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return
    try:
        data = os.read(fd, 65536)
    except OSError:
        raise EOFError
    if not data:
        raise EOFError
    output += data


def finish(code):
    sys.stdout.buffer.write(output)
    sys.stdout.flush()
    sys.exit(code)


position = 0
try:
    for step in steps:
        pattern = re.compile(step.get("expect", "").encode())
        while True:
            match = pattern.search(output, position)
            if match:
                position = match.end()
                break
            if time.time() > deadline:
                sys.stderr.write("ptydrive: timed out waiting for %r\n" % step.get("expect"))
                os.kill(pid, signal.SIGKILL)
                finish(124)
            read_some(0.2)
        if "send" in step:
            os.write(fd, step["send"].encode())
    while time.time() < deadline:
        read_some(0.2)
    sys.stderr.write("ptydrive: command did not exit in time\n")
    os.kill(pid, signal.SIGKILL)
    finish(124)
except EOFError:
    pass
_, status = os.waitpid(pid, 0)
finish(os.waitstatus_to_exitcode(status))
