"""TLS for the web server: the operator's certificate, or a self-signed one.

Browsers only open cameras on https:// or localhost, so a site on the LAN
needs TLS even for a trial. ``--self-signed`` makes a certificate once and
keeps it in the data directory, so browsers that accepted it keep accepting.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conference.private_files import private_dir, write_private

CERT_FILE = "tls/self-signed.crt"
KEY_FILE = "tls/self-signed.key"
VALIDITY_DAYS = 825  # the longest validity browsers accept


def _local_names() -> tuple[list[str], list[str]]:
    names = {"localhost", socket.gethostname()}
    addresses = {"127.0.0.1", "::1"}
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            addresses.add(str(info[4][0]))
    except OSError:
        pass
    return sorted(names), sorted(addresses)


def ensure_self_signed(data_dir: Path, extra_hosts: list[str] | None = None) -> tuple[Path, Path]:
    """Create (or reuse, while valid for 30 more days) a self-signed certificate."""
    cert_path, key_path = data_dir / CERT_FILE, data_dir / KEY_FILE
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        remaining = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
        if remaining > datetime.timedelta(days=30):
            return cert_path, key_path
    private_dir(cert_path.parent)
    key = ec.generate_private_key(ec.SECP256R1())
    names, addresses = _local_names()
    for host in extra_hosts or []:
        try:
            addresses.append(str(ipaddress.ip_address(host)))
        except ValueError:
            if host:
                names.append(host)
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in dict.fromkeys(names)]
    alt_names += [
        x509.IPAddress(ipaddress.ip_address(a.split("%")[0])) for a in dict.fromkeys(addresses)
    ]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "conference (self-signed)")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """An SSL context for aiohttp from PEM files."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    return context
