"""Serving Kepler to a class: every student gets their own app, over SSH or in a browser.

The app itself knows nothing of this. A server here only starts one ordinary `kepler`
process per student, on a terminal of the student's size, and carries bytes between that
terminal and the student. One process per student keeps sessions apart for free (Textual's
driver is per process, and a crash or a runaway run stays in one session) and lets the
operating system measure and limit each one.

- `ssh.py`: `kepler serve-ssh`, an asyncssh server that runs only the app.
- `pty_app.py`: one app process on its own pseudo-terminal, pumped with asyncio.
- `credentials.py`: the class password (stored hashed), authorized keys, the host key.
- `cpu_budget.py`: holds a session to its share of the CPU, and the room to its budget.
- `guard.py`: before a login: MaxStartups, per-source password penalties, burst logging.
- `room.py`: what both servers share: clamped terminal sizes, a private folder per student,
  the app's served-mode options (the app then confines files: tui/workspace.py), safe log text.
- `web.py`: `kepler serve-web`, the app in a browser tab through textual-serve, with a token.
- `cli.py`: starting the two servers and `kepler serve-ssh --set-password` (their options are
  declared in tui/arguments.py, which imports only the standard library).

Nothing in `engine/` or `data/` imports this package, and `kepler train` never loads it.
"""
