"""Encryption at rest for the little message text the store must keep.

Fernet (AES-128-CBC + HMAC-SHA256) from the `cryptography` package. The key
comes from an environment variable, else from a file created with mode 0600 on
first use. MultiFernet lets a later key rotation read old entries.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from triage.errors import SecretError


class Crypto:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise SecretError("no encryption key")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError):
            raise SecretError("the encryption key is not a valid Fernet key (32 url-safe base64 bytes)") from None

    def encrypt(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise SecretError("stored text cannot be decrypted with the configured key") from None

    def encrypt_json(self, value: Any) -> bytes:
        return self.encrypt(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())

    def decrypt_json(self, token: bytes) -> Any:
        return json.loads(self.decrypt(token))


def load_crypto(key_env: str, key_file: Path, *, create: bool = True) -> Crypto:
    """The key from $key_env, else key_file (created 0600 when missing and create is true)."""
    value = os.environ.get(key_env, "").strip() if key_env else ""
    if value:  # several keys, space-separated, while a rotation is under way: the first encrypts
        return Crypto([k.encode() for k in value.split()])
    if key_file.exists():
        if key_file.stat().st_mode & 0o077:
            os.chmod(key_file, 0o600)  # a key readable by others is tightened, not trusted as is
        return Crypto([k.encode() for k in key_file.read_text().split() if k])
    if not create:
        raise SecretError(f"no encryption key: set {key_env} or create {key_file}")
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    return Crypto([key])
