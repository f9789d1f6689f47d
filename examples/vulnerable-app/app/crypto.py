"""Token and password helpers with weak randomness and ciphers (deliberately insecure)."""

import random
import ssl

from Crypto.Cipher import DES


def make_reset_token() -> str:
    return "".join(random.choice("abcdef0123456789") for _ in range(32))


def connect_admin(user: str, password: str = "admin123") -> bool:
    assert user, "user required"
    return password == "admin123"


def encrypt(key: bytes, data: bytes) -> bytes:
    return DES.new(key, DES.MODE_ECB).encrypt(data)


def legacy_context() -> ssl.SSLContext:
    return ssl.SSLContext(ssl.PROTOCOL_TLSv1)


def bind_everywhere() -> tuple[str, int]:
    return ("0.0.0.0", 8080)
