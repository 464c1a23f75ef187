"""The development JWT signing key pair: generated once under ``var/keys`` (git-ignored), never in production."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ops.paths import VAR

KEY_DIR = VAR / "keys"
PRIVATE_KEY = KEY_DIR / "jwt_private.pem"
PUBLIC_KEY = KEY_DIR / "jwt_public.pem"


def ensure_dev_keys(private_path: Path = PRIVATE_KEY, public_path: Path = PUBLIC_KEY) -> bool:
    """Creates an RSA 2048 key pair if there is none; True when it created one."""
    if private_path.exists() and public_path.exists():
        return False
    private_path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    private_path.chmod(0o600)
    public_path.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return True


if __name__ == "__main__":
    # `python -m ops.keys`: what the compose stack's migrate step runs before anything reads the key.
    print("created a development key pair" if ensure_dev_keys() else "a key pair exists; kept it")
