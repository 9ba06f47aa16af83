"""PAdES signatures of issued documents (pyHanko), by the municipality's key.

Each municipality signs with its own key. The key and its certificate are PEM files named by the municipality's
signing_key and signing_cert in MUNICIPALITIES_FILE (the key's passphrase in signing_passphrase_file); for the first
municipality, when its table names none, by the settings DOCUMENTS_SIGNING_KEY, DOCUMENTS_SIGNING_CERT and
DOCUMENTS_SIGNING_PASSPHRASE_FILE. With none, a self-signed demo key in the municipality's name is made once under its
var_dir/signing/ (common.municipality.var_dir) and every document signed with it says, on its verification page,
that the signature is a demo one: a bank or a notary trusts the municipality's real certificate, issued by a
certification authority."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import datetime as dt
import io
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from common import municipality

DEMO_SUBJECT_NOTE = "DEMO self-signed"
_lock = threading.Lock()
_cache: dict = {}


class SigningError(RuntimeError):
    """The configured key or certificate cannot be read."""


@dataclass(frozen=True)
class Key:
    signer: object          # pyhanko.sign.signers.SimpleSigner
    subject: str            # the certificate's subject, human-readable
    demo: bool
    cert_path: Path


def _demo_paths() -> tuple[Path, Path]:
    folder = municipality.var_dir() / "signing"
    return folder / "demo-key.pem", folder / "demo-cert.pem"


def configured_files() -> tuple[str, str, str]:
    """(key, certificate, passphrase file) of the current municipality; ("", "", "") for a demo key."""
    m = municipality.current()
    if m.signing_key:
        return m.signing_key, m.signing_cert, m.signing_passphrase_file
    if municipality.is_first(m) and settings.DOCUMENTS_SIGNING_KEY and settings.DOCUMENTS_SIGNING_CERT:
        return (settings.DOCUMENTS_SIGNING_KEY, settings.DOCUMENTS_SIGNING_CERT,
                settings.DOCUMENTS_SIGNING_PASSPHRASE_FILE)
    return "", "", ""


def make_self_signed(key_path: Path, cert_path: Path, common_name: str, days: int = 3650) -> None:
    """A self-signed RSA-3072 key and certificate able to sign documents (key usage: digital signature,
    non-repudiation), written as PEM (the key unencrypted, readable by the owner only)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"{municipality.current().name_en}")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def key() -> Key:
    """The signing key of the current municipality (loaded once per process; a demo key made on first use)."""
    configured = configured_files()
    cache_key = (municipality.current().slug, configured, str(_demo_paths()[0]) if not configured[0] else "")
    with _lock:
        cached = _cache.get(cache_key)
        if cached is not None:
            return cached
        from pyhanko.sign import signers

        demo = not (configured[0] and configured[1])
        if demo:
            key_path, cert_path = _demo_paths()
            if not (key_path.exists() and cert_path.exists()):
                make_self_signed(key_path, cert_path,
                                 f"{municipality.current().name_en} document signing ({DEMO_SUBJECT_NOTE})")
            passphrase = None
        else:
            key_path, cert_path = Path(configured[0]), Path(configured[1])
            passfile = configured[2]
            passphrase = Path(passfile).read_bytes().strip() if passfile else None
        try:
            signer = signers.SimpleSigner.load(str(key_path), str(cert_path), key_passphrase=passphrase)
        except Exception as exc:  # pyHanko raises several kinds for an unreadable file or a wrong passphrase
            raise SigningError(f"cannot load the signing key {key_path} / {cert_path}: {exc}") from exc
        if signer is None:
            raise SigningError(f"cannot load the signing key {key_path} / {cert_path}")
        signer = _parsed_key_signer(signer)
        subject = signer.signing_cert.subject.human_friendly
        loaded = Key(signer=signer, subject=subject, demo=demo, cert_path=cert_path)
        _cache[cache_key] = loaded
        return loaded


def _parsed_key_signer(loaded):
    """pyHanko's SimpleSigner parses its private key again for every signature, twice a document, and cryptography
    checks an RSA key as it parses it: about 0.45 s each for RSA-3072, 0.9 s of a document's 1 s of signing
    (bench/documents.py). The same signer with the key parsed once, for RSA PKCS#1 v1.5 (the demo key's and the
    usual CA-issued key's mechanism); any other mechanism is pyHanko's own."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from pyhanko.sign import signers
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash

    class ParsedKeySigner(signers.SimpleSigner):
        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
            if mechanism == "rsassa_pkcs1v15" and isinstance(parsed, RSAPrivateKey):
                return parsed.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
            return super().sign_raw(data, digest_algorithm)

    parsed = serialization.load_der_private_key(loaded.signing_key.dump(), password=None)
    return ParsedKeySigner(signing_cert=loaded.signing_cert, signing_key=loaded.signing_key,
                           cert_registry=loaded.cert_registry, signature_mechanism=loaded.signature_mechanism,
                           prefer_pss=loaded.prefer_pss)


def sign(pdf: bytes, reason: str, location: str = "") -> tuple[bytes, Key]:
    """The PDF with a PAdES baseline signature (B-B) of the site's key added as an incremental update."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    used = key()
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    meta = signers.PdfSignatureMetadata(field_name="MunicipalitySignature", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES, reason=reason,
                                        location=location or municipality.current().name_en)
    out = _run(lambda: signers.async_sign_pdf(writer, meta, signer=used.signer))
    return out.getvalue(), used


def _run(make_coroutine):
    """Run pyHanko's coroutine to its end: here, or in a thread of its own when this thread already runs an event
    loop (pyHanko's synchronous API calls asyncio.run, which cannot nest: a worker or a test driving a browser)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coroutine())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        # in this context (the municipality signing)
        return pool.submit(contextvars.copy_context().run, lambda: asyncio.run(make_coroutine())).result()
