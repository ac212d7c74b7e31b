"""One self-signed certificate, given to every server."""

from .processes import run

CERTIFICATE_DAYS = 30


def make_certificate(directory):
    """Returns (certificate, key) paths, valid for localhost and 127.0.0.1."""
    directory.mkdir(parents=True, exist_ok=True)
    certificate = directory / "bench.crt"
    key = directory / "bench.key"
    if not certificate.exists():
        run([
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
            "-days", str(CERTIFICATE_DAYS), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,DNS:mx.bench.test,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(certificate),
        ])
        key.chmod(0o600)
    return certificate, key
