"""examples/oauth2_token.py against a local token endpoint, run by triage's TokenCache."""

from __future__ import annotations

import json
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from conftest import ROOT

from triage.errors import AuthError
from triage.sources.imap import TokenCache

SCRIPT = ROOT / "examples" / "oauth2_token.py"


class Endpoint(BaseHTTPRequestHandler):
    forms: list[dict[str, str]] = []
    refuse = False

    def do_POST(self) -> None:
        form = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
        Endpoint.forms.append(form)
        if Endpoint.refuse:
            body, code = {"error": "invalid_grant"}, 400
        else:
            body, code = {"access_token": f"tok-{len(Endpoint.forms)}", "expires_in": 3599}, 200
            if form.get("grant_type") == "refresh_token":
                body["refresh_token"] = "rotated-refresh"
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    Endpoint.forms, Endpoint.refuse = [], False
    server = HTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/token"
    server.shutdown()
    server.server_close()


def test_client_credentials_token_is_cached(endpoint: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    cmd = (f"{sys.executable} {SCRIPT} client-credentials --tenant t-1 --client-id c-1 "
           f"--secret-file {secret} --token-url {endpoint}")
    cache = TokenCache()
    assert cache.get(cmd, what="m") == "tok-1" and cache.get(cmd, what="m") == "tok-1"
    assert len(Endpoint.forms) == 1
    assert Endpoint.forms[0] == {"grant_type": "client_credentials", "client_id": "c-1", "client_secret": "s3cret",
                                 "scope": "https://outlook.office365.com/.default"}


def test_refresh_token_is_rotated_and_refusal_means_reauthorise(endpoint: str, tmp_path: Path) -> None:
    secret, refresh = tmp_path / "secret", tmp_path / "refresh"
    secret.write_text("s3cret")
    refresh.write_text("first-refresh")
    cmd = (f"{sys.executable} {SCRIPT} refresh-token --client-id c --secret-file {secret} "
           f"--refresh-token-file {refresh} --token-url {endpoint}")
    assert TokenCache().get(cmd, what="m") == "tok-1"
    assert refresh.read_text().strip() == "rotated-refresh" and refresh.stat().st_mode & 0o777 == 0o600
    Endpoint.refuse = True
    with pytest.raises(AuthError) as err:
        TokenCache().get(cmd, what="m")
    assert err.value.reauthorise and "s3cret" not in str(err.value)
