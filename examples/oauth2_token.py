#!/usr/bin/env python3
"""Prints an OAuth2 access token for triage's `oauth2_token_command`.

Standard library only. Output on success: one JSON line
{"access_token": "...", "expires_in": 3599}. Errors go to stderr without
secrets or tokens; exit status 2 means the grant was refused (invalid_grant):
an administrator must re-authorise.

  client-credentials   Microsoft 365 app-only access (IMAP.AccessAsApp)
  refresh-token        a per-user refresh token (Google Workspace and others);
                       a rotated refresh token is written back to its file (0600)

Secrets come only from a file or an environment variable, never an argument.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

M365_SCOPE = "https://outlook.office365.com/.default"


def secret(file: str | None, env: str | None, what: str) -> str:
    if file:
        return Path(file).read_text(encoding="utf-8").strip()
    if env and os.environ.get(env):
        return os.environ[env].strip()
    raise SystemExit(f"oauth2_token: no {what}: give --{what}-file or --{what}-env")


def post(url: str, form: dict[str, str], timeout: float) -> dict[str, object]:
    data = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read())
        except ValueError:
            body = {}
        error = str(body.get("error", f"http {exc.code}"))
        print(f"oauth2_token: the token endpoint refused: {error}", file=sys.stderr)
        raise SystemExit(2 if error in ("invalid_grant", "invalid_client", "unauthorized_client") else 1) from None
    except (urllib.error.URLError, TimeoutError) as exc:
        print(f"oauth2_token: cannot reach the token endpoint: {type(exc).__name__}", file=sys.stderr)
        raise SystemExit(1) from None


def write_private(path: Path, text: str) -> None:
    """Replace a file atomically, readable only by its owner."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    cc = sub.add_parser("client-credentials", help="Microsoft 365 app-only token")
    cc.add_argument("--tenant", default=os.environ.get("TRIAGE_M365_TENANT"), help="directory (tenant) id")
    cc.add_argument("--client-id", default=os.environ.get("TRIAGE_M365_CLIENT_ID"))
    cc.add_argument("--scope", default=M365_SCOPE)
    rt = sub.add_parser("refresh-token", help="exchange a refresh token")
    rt.add_argument("--client-id", required=True)
    rt.add_argument("--refresh-token-file", required=True, type=Path)
    rt.add_argument("--scope", default="")
    for p in (cc, rt):
        p.add_argument("--secret-file", help="file holding the client secret")
        p.add_argument("--secret-env", help="environment variable holding the client secret")
        p.add_argument("--token-url", help="token endpoint (default: Microsoft's for the tenant)")
        p.add_argument("--timeout", type=float, default=20.0)
    args = ap.parse_args(argv)
    client_secret = secret(args.secret_file, args.secret_env, "secret")

    if args.mode == "client-credentials":
        if not args.tenant or not args.client_id:
            ap.error("client-credentials needs --tenant and --client-id")
        url = args.token_url or f"https://login.microsoftonline.com/{args.tenant}/oauth2/v2.0/token"
        result = post(url, {"grant_type": "client_credentials", "client_id": args.client_id,
                            "client_secret": client_secret, "scope": args.scope}, args.timeout)
    else:
        if not args.token_url:
            ap.error("refresh-token needs --token-url")
        refresh = args.refresh_token_file.read_text(encoding="utf-8").strip()
        form = {"grant_type": "refresh_token", "client_id": args.client_id, "client_secret": client_secret,
                "refresh_token": refresh}
        if args.scope:
            form["scope"] = args.scope
        result = post(args.token_url, form, args.timeout)
        rotated = result.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != refresh:
            # Providers that rotate refresh tokens invalidate the old one: losing the new one breaks access.
            write_private(args.refresh_token_file, rotated)

    token = result.get("access_token")
    if not isinstance(token, str) or not token:
        print("oauth2_token: the response held no access_token", file=sys.stderr)
        return 1
    print(json.dumps({"access_token": token, "expires_in": int(result.get("expires_in", 3600))}))  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
