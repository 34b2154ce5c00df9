"""A stand-in for Kepler in the serve-web tests: speaks textual-serve's packets, starts in a blink.

It says its size (COLUMNS x ROWS) and options, says every new size it is sent, echoes
keys, quits on "quit" (saying "exit" first, as Textual does) or on `q`, dies on `x`
(status 3, no goodbye: a crash), and on `b` burns CPU until stopped or killed.
"""
import json
import os
import sys


def packet(kind: bytes, payload: bytes) -> None:
    sys.stdout.buffer.write(kind + len(payload).to_bytes(4, "big") + payload)
    sys.stdout.buffer.flush()


def say(text: str) -> None:
    packet(b"D", (text + "\r\n").encode())


def goodbye() -> None:
    packet(b"M", json.dumps({"type": "exit"}).encode())
    sys.exit(0)


sys.stdout.buffer.write(b"__GANGLION__\n")
say(f"fake app ready {os.environ.get('COLUMNS')}x{os.environ.get('ROWS')} options: {' '.join(sys.argv[1:])}")
read = sys.stdin.buffer.read
while True:
    head = read(5)
    if len(head) < 5:
        sys.exit(0)
    payload = read(int.from_bytes(head[1:], "big"))
    if head[:1] == b"M":
        meta = json.loads(payload)
        if meta.get("type") == "resize":
            say(f"resized {meta['width']}x{meta['height']}")
        elif meta.get("type") == "quit":
            goodbye()
        continue
    for key in payload.decode(errors="replace"):
        if key == "q":
            goodbye()
        if key == "x":
            os._exit(3)
        say(f"key {key}")
        if key == "b":
            while True:
                pass
