"""Serving Kepler to a class: every student gets their own app, over SSH or in a browser.

The app itself knows nothing of this. A server here only starts one ordinary `kepler`
process per student, on a terminal of the student's size, and carries bytes between that
terminal and the student. One process per student keeps sessions apart for free (Textual's
driver is per process, and a crash or a runaway run stays in one session) and lets the
operating system measure and limit each one.

- `ssh.py`: `kepler serve-ssh`, an asyncssh server that runs only the app.
- `pty_app.py`: one app process on its own pseudo-terminal, pumped with asyncio.
- `credentials.py`: the class password (stored hashed), authorized keys, the host key.
- `cpu_budget.py`: holds a session to its share of the CPU, whatever keys it presses.
- `web.py`: `kepler serve-web`, the app in a browser tab through textual-serve.
- `cli.py`: the two subcommands' options and `kepler serve-ssh --set-password`.

Nothing in `engine/` or `data/` imports this package, and `kepler train` never loads it.
"""
