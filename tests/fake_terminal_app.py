"""A stand-in for Kepler in the SSH tests: a terminal program that starts in a blink.

It prints its terminal size and options, prints the new size on every SIGWINCH, echoes
each key, quits on `q` (status 0) or `x` (status 3), and on `b` burns CPU until killed
(what a student running training flat out looks like to the server).
"""
import os
import signal
import sys
import tty


def say(text: str) -> None:
    os.write(1, (text + "\r\n").encode())


def size() -> str:
    cols, rows = os.get_terminal_size(0)
    return f"{cols}x{rows}"


signal.signal(signal.SIGWINCH, lambda *_: say(f"resized {size()}"))
tty.setraw(0)
say(f"fake app ready {size()} TERM={os.environ.get('TERM')} options: {' '.join(sys.argv[1:])}")
while True:
    key = os.read(0, 1)
    if not key or key == b"q":
        say("bye")
        sys.exit(0)
    if key == b"x":
        sys.exit(3)
    say(f"key {key.decode(errors='replace')}")
    if key == b"b":
        while True:
            pass
