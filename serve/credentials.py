"""Who may log in, and who the server is.

- The class password is never stored: only a salted scrypt hash of it, in a file of mode
  0600 written by `kepler serve-ssh --set-password`. A line looks like
  `scrypt$16384$8$1$<salt>$<hash>` (cost parameters, then base64), so a future change of
  cost still reads old files. scrypt is deliberately slow (tens of milliseconds), which is
  what makes guessing expensive; the SSH server runs it off the event loop.
- Authorized keys are an OpenSSH `authorized_keys` file, re-read when it changes, so a
  teacher can add a student's key during a lesson without restarting anything.
- The host key is generated on first start and kept (mode 0600): students' SSH clients
  remember it, and a changed key would look to them exactly like an attack.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger("kepler.serve")

MIN_PASSWORD_LENGTH = 8
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # 16 MiB and ~50 ms per check: OWASP's floor
HOST_KEY_NAME = "ssh_host_ed25519_key"
PASSWORD_FILE_NAME = "class_password"


class CredentialError(Exception):
    """A password or key file that cannot be used; the message says why, in one line."""


def default_state_dir() -> Path:
    """Where the host key and the password hash live: $XDG_CONFIG_HOME/kepler or ~/.config/kepler."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "kepler"


def ensure_private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)  # other users on the server have no business listing it
    return path


# ---------------------------------------------------------------------- the class password
def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CredentialError(f"the class password must have at least {MIN_PASSWORD_LENGTH} characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
    b64 = lambda raw: base64.b64encode(raw).decode("ascii")  # noqa: E731
    return f"scrypt${n}${r}${p}${b64(salt)}${b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True if `password` hashes to `stored`; compared in constant time."""
    scheme, n, r, p, salt, digest = _parse_hash(stored)
    candidate = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=len(digest))
    return hmac.compare_digest(candidate, digest)


def _parse_hash(stored: str):
    try:
        scheme, n, r, p, salt, digest = stored.strip().split("$")
        if scheme != "scrypt":
            raise ValueError(scheme)
        return scheme, int(n), int(r), int(p), base64.b64decode(salt), base64.b64decode(digest)
    except ValueError:
        raise CredentialError("the password file is not a Kepler password hash "
                              "(write it with `kepler serve-ssh --set-password`)") from None


def write_password_file(path: Path, password: str) -> None:
    """Store the hash of `password` at `path` (mode 0600), replacing any earlier one."""
    line = hash_password(password) + "\n"
    ensure_private_dir(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    # Created 0600 from the start (not chmod-ed after), then renamed over the old file, so
    # the hash is never readable by others and never half-written.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(line)
    os.replace(tmp, path)


def read_password_file(path: Path) -> str | None:
    """The stored hash, or None when no class password was set."""
    try:
        stored = path.read_text().strip()
    except FileNotFoundError:
        return None
    _parse_hash(stored)  # refuse a broken file at start-up, not at a student's first login
    return stored


# ---------------------------------------------------------------------- authorized keys
class AuthorizedKeys:
    """An OpenSSH authorized_keys file, re-read whenever its modification time changes."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None
        self._keys = None
        self.reload()

    def reload(self) -> None:
        import asyncssh

        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise CredentialError(f"no authorized keys file at {self.path}") from None
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        try:
            keys = asyncssh.read_authorized_keys(str(self.path))
        except (ValueError, OSError) as exc:
            if self._keys is None:
                raise CredentialError(f"{self.path}: {exc}") from None
            log.warning("could not re-read %s (%s); keeping the keys read before", self.path, exc)
            return
        self._keys, self._stamp = keys, stamp

    def allows(self, key, client_host: str, client_addr: str) -> bool:
        """Whether `key` is listed (and its `from=` option, if any, matches the client)."""
        try:
            self.reload()
        except CredentialError as exc:  # the file vanished mid-lesson: keep what we had
            log.warning("%s; keeping the keys read before", exc)
        return self._keys.validate(key, client_host, client_addr) is not None


# ---------------------------------------------------------------------- the host key
def load_or_create_host_key(state_dir: Path):
    """The server's ed25519 host key from `state_dir`, generated on first start."""
    import asyncssh

    path = ensure_private_dir(Path(state_dir)) / HOST_KEY_NAME
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("host key %s was readable by others (mode %o); set it to 0600", path, mode)
            os.chmod(path, 0o600)
        return asyncssh.read_private_key(str(path))
    key = asyncssh.generate_private_key("ssh-ed25519", comment="kepler serve-ssh")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.export_private_key())
    path.with_name(path.name + ".pub").write_bytes(key.export_public_key())
    log.info("generated a new host key %s (%s)", path, fingerprint(key))
    return key


def fingerprint(key) -> str:
    """SHA256:... as `ssh-keygen -lf` and OpenSSH's first-connection prompt print it."""
    return key.get_fingerprint("sha256")
