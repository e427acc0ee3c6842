#!/usr/bin/env python3
"""Print an OAuth2 access token for triage's `oauth2_token_command`.

Standard library only (Python 3.11+). On success it prints one JSON line,
{"access_token": "...", "expires_in": 3599}, and exits 0. Errors go to
stderr and never show a secret or a token.

modes:
  client-credentials  Microsoft 365 app-only access (IMAP.AccessAsApp): one
                      token serves every mailbox the application was given.
  refresh-token       exchange a stored refresh token (Google, or a delegated
                      Microsoft account). When the provider returns a new
                      refresh token it replaces the old one in its file
                      (atomically, mode 0600): keep that file in a directory
                      the service user can write, e.g. /var/lib/triage.

Secrets come only from a file (--secret-file) or an environment variable
(--secret-env NAME), never from an argument: arguments are visible to every
user of the machine in the process list.

exit status:
  0   a token was printed
  1   a temporary or local failure (network, provider error, bad response,
      unreadable file): triage retries later
  2   the provider refused the credential (invalid_grant, invalid_client,
      unauthorized_client, ...): an administrator must re-authorise; triage
      marks the mailbox "re-authorisation required"
  64  wrong arguments

examples:
  oauth2_token.py client-credentials --tenant 00000000-0000-0000-0000-000000000000 \\
      --client-id 11111111-1111-1111-1111-111111111111 --secret-file /etc/triage/m365-secret
  oauth2_token.py refresh-token --token-url https://oauth2.googleapis.com/token \\
      --client-id 1234-example.apps.googleusercontent.com --secret-file /etc/triage/google-secret \\
      --refresh-token-file /var/lib/triage/alex.refresh
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import http.client
import ipaddress
import json
import os
import stat
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

M365_SCOPE = "https://outlook.office365.com/.default"
M365_TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
# A response without expires_in: assume 50 minutes, as triage does for a bare token.
DEFAULT_LIFETIME = 3000
# Errors that no retry can fix: the credential or the grant itself was refused.
REAUTHORISE = frozenset({"invalid_grant", "invalid_client", "unauthorized_client",
                         "interaction_required", "consent_required"})

EXIT_FAILED, EXIT_REAUTHORISE, EXIT_USAGE = 1, 2, 64


class Failure(Exception):
    """A failure to report on stderr (never with a secret in it) with an exit status."""

    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.status = status


class Parser(argparse.ArgumentParser):
    """argparse exits 2 on a usage error, which triage would read as "re-authorise": use 64."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


# --------------------------------------------------------------------------- secrets and files


class Secrets:
    """The secret values read so far, so that no message can show one."""

    def __init__(self) -> None:
        self.values: list[str] = []

    def keep(self, value: str) -> str:
        if value:
            self.values.append(value)
        return value

    def redact(self, text: str) -> str:
        for value in sorted(self.values, key=len, reverse=True):
            text = text.replace(value, "[redacted]")
        return text


def read_private(path: Path, what: str) -> str:
    """A one-line secret from a file; warns when others may read the file."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise Failure(f"cannot read the {what} file {path}: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise Failure(f"the {what} file {path} is not UTF-8 text") from None
    if not text:
        raise Failure(f"the {what} file {path} is empty")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(f"oauth2_token: warning: {path} can be read by other users; run chmod 600 {path}", file=sys.stderr)
    return text


def client_secret(args: argparse.Namespace, secrets: Secrets, *, required: bool) -> str | None:
    if args.secret_file:
        return secrets.keep(read_private(args.secret_file, "client secret"))
    if args.secret_env:
        value = os.environ.get(args.secret_env, "").strip()
        if not value:
            raise Failure(f"the environment variable {args.secret_env} (--secret-env) is not set or empty")
        return secrets.keep(value)
    if required:
        raise Failure("no client secret: give --secret-file FILE or --secret-env NAME", EXIT_USAGE)
    return None  # a public client (refresh-token mode): no secret is sent


def write_private(path: Path, text: str) -> None:
    """Replace a file atomically with one readable only by its owner, and make it durable."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside `path` (two runs must not both spend the same refresh token)."""
    lock = path.with_name(f".{path.name}.lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise Failure(f"cannot create the lock file {lock} (the directory must be writable by this user): "
                      f"{exc.strerror or type(exc).__name__}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


# --------------------------------------------------------------------------- the token endpoint


def check_url(url: str) -> str:
    """https only, except to this machine (a local test endpoint)."""
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and host:
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return url
    raise Failure(f"the token URL must be https:// (plain http only to this machine): {url}", EXIT_USAGE)


def printable(text: str, limit: int = 300) -> str:
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def refused(code: int, body: bytes, secrets: Secrets) -> Failure:
    """The provider's error response as a message: the error code, AADSTS numbers, a short description."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return Failure(f"the token endpoint answered HTTP {code} without an OAuth2 error")
    error = printable(str(data.get("error") or f"HTTP {code}"), 80)
    detail = ""
    codes = data.get("error_codes")  # Microsoft: e.g. [7000222] = the client secret expired
    if isinstance(codes, list) and codes:
        detail += " (" + ", ".join(f"AADSTS{c}" for c in codes if isinstance(c, int)) + ")"
    description = data.get("error_description")
    if isinstance(description, str) and description.strip():
        detail += ": " + printable(secrets.redact(description.splitlines()[0]))
    status = EXIT_REAUTHORISE if error in REAUTHORISE else EXIT_FAILED
    advice = "; re-authorisation required" if status == EXIT_REAUTHORISE else ""
    return Failure(f"the token endpoint refused the request: {error}{detail}{advice}", status)


def post(url: str, form: dict[str, str], timeout: float, secrets: Secrets) -> dict[str, object]:
    request = urllib.request.Request(
        url, data=urllib.parse.urlencode(form).encode("ascii"), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        try:
            error_body = exc.read()
        except (OSError, http.client.HTTPException):
            error_body = b""
        finally:
            exc.close()
        raise refused(exc.code, error_body, secrets) from None
    except urllib.error.URLError as exc:
        reason = exc.reason if isinstance(exc.reason, str) else (
            getattr(exc.reason, "strerror", None) or str(exc.reason) or type(exc.reason).__name__)
        raise Failure(f"cannot reach the token endpoint {urllib.parse.urlsplit(url).netloc}: "
                      f"{printable(str(reason))}") from None
    except (OSError, http.client.HTTPException) as exc:  # a timeout or a dropped connection
        raise Failure(f"the token endpoint did not answer properly: {type(exc).__name__}") from None
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise Failure("the token endpoint answered with something other than a JSON object")
    return data


def access_token(data: dict[str, object]) -> tuple[str, int]:
    """The token and its lifetime in seconds from a successful response."""
    token = data.get("access_token")
    if not isinstance(token, str) or not token or len(token.split()) != 1 or not token.isprintable():
        raise Failure("the response held no usable access_token")
    token_type = data.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise Failure(f"the response's token_type is {printable(str(token_type), 40)!r}, not Bearer")
    raw = data.get("expires_in", DEFAULT_LIFETIME)
    try:
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):  # a string: Microsoft's v1 endpoint
            raise ValueError
        lifetime = int(float(raw))
    except (ValueError, OverflowError):
        raise Failure("the response's expires_in is not a number") from None
    if lifetime <= 0:
        raise Failure("the response's expires_in is not positive")
    return token, lifetime


# --------------------------------------------------------------------------- the modes


def client_credentials(args: argparse.Namespace, secrets: Secrets) -> dict[str, object]:
    if not args.tenant or not args.client_id:
        raise Failure("client-credentials needs --tenant and --client-id (or TRIAGE_M365_TENANT and "
                      "TRIAGE_M365_CLIENT_ID)", EXIT_USAGE)
    secret = client_secret(args, secrets, required=True)
    assert secret is not None
    url = check_url(args.token_url or M365_TOKEN_URL.format(tenant=urllib.parse.quote(args.tenant, safe="")))
    form = {"grant_type": "client_credentials", "client_id": args.client_id, "client_secret": secret,
            "scope": args.scope}
    return post(url, form, args.timeout, secrets)


def refresh_token(args: argparse.Namespace, secrets: Secrets) -> dict[str, object]:
    if not args.token_url or not args.client_id:
        raise Failure("refresh-token needs --token-url and --client-id", EXIT_USAGE)
    url = check_url(args.token_url)
    secret = client_secret(args, secrets, required=False)
    path: Path = args.refresh_token_file
    with locked(path):
        refresh = secrets.keep(read_private(path, "refresh token"))
        form = {"grant_type": "refresh_token", "client_id": args.client_id, "refresh_token": refresh}
        if secret is not None:
            form["client_secret"] = secret
        if args.scope:
            form["scope"] = args.scope
        data = post(url, form, args.timeout, secrets)
        access_token(data)  # a response without a usable token must not replace the refresh token
        rotated = data.get("refresh_token")
        if isinstance(rotated, str) and rotated.strip() and rotated.strip() != refresh:
            # The provider rotated the refresh token: the old one may stop working, so losing
            # the new one would break access. Save it before handing out the access token.
            secrets.keep(rotated.strip())
            try:
                write_private(path, rotated.strip())
            except OSError as exc:
                raise Failure(f"the provider issued a new refresh token but it could not be saved to {path} "
                              f"({exc.strerror or type(exc).__name__}); if the next run fails, re-authorise"
                              ) from None
    return data


def parser() -> Parser:
    ap = Parser(prog="oauth2_token.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True, metavar="MODE", parser_class=Parser)
    cc = sub.add_parser("client-credentials", help="Microsoft 365 app-only token (client credentials grant)",
                        description="Microsoft 365 app-only token: POST to the tenant's v2.0 token endpoint "
                        f"with the client credentials grant and the scope {M365_SCOPE}.")
    cc.add_argument("--tenant", default=os.environ.get("TRIAGE_M365_TENANT"),
                    help="directory (tenant) id or a verified domain (default: $TRIAGE_M365_TENANT)")
    cc.add_argument("--client-id", default=os.environ.get("TRIAGE_M365_CLIENT_ID"),
                    help="application (client) id (default: $TRIAGE_M365_CLIENT_ID)")
    cc.add_argument("--scope", default=M365_SCOPE, help="default: %(default)s")
    cc.add_argument("--token-url", help="token endpoint (default: "
                    + M365_TOKEN_URL.replace("{tenant}", "TENANT") + "); a national cloud or a test server")
    rt = sub.add_parser("refresh-token", help="exchange a refresh token kept in a file (Google and others)",
                        description="Exchange the refresh token kept in a file for an access token; a new "
                        "refresh token from the provider replaces it in the file (atomically, mode 0600).")
    rt.add_argument("--token-url", help="the provider's token endpoint, e.g. https://oauth2.googleapis.com/token "
                    "or https://login.microsoftonline.com/TENANT/oauth2/v2.0/token")
    rt.add_argument("--client-id", default=os.environ.get("TRIAGE_OAUTH2_CLIENT_ID"),
                    help="OAuth2 client id (default: $TRIAGE_OAUTH2_CLIENT_ID)")
    rt.add_argument("--refresh-token-file", required=True, type=Path, metavar="FILE",
                    help="file holding the refresh token; its directory must be writable by this user")
    rt.add_argument("--scope", default="", help="scope to ask for (default: none, the provider keeps the granted "
                    "one); Microsoft delegated: 'https://outlook.office.com/IMAP.AccessAsUser.All offline_access'")
    for p in (cc, rt):
        secret = p.add_mutually_exclusive_group()
        secret.add_argument("--secret-file", type=Path, metavar="FILE",
                            help="file holding the client secret (readable only by the service user)")
        secret.add_argument("--secret-env", metavar="NAME", help="environment variable holding the client secret")
        p.add_argument("--timeout", type=float, default=20.0,
                       help="seconds to wait for the token endpoint (default: %(default)s; triage allows 30)")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    secrets = Secrets()
    try:
        data = client_credentials(args, secrets) if args.mode == "client-credentials" else refresh_token(args, secrets)
        token, lifetime = access_token(data)
    except Failure as exc:
        print(f"oauth2_token: {secrets.redact(str(exc))}", file=sys.stderr)
        return exc.status
    except Exception as exc:  # never a traceback: it could quote a value
        print(f"oauth2_token: unexpected error: {type(exc).__name__}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps({"access_token": token, "expires_in": lifetime}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
