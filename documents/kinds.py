"""Kinds of issued documents, registered by the apps that issue them (from their AppConfig.ready()).

A kind says how its PDF is made (`html`: the page printed once, in Persian, given the IssuedDocument) and how its
number reads. The documents app never knows what a bill or a permit is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class DocumentKind:
    code: str                      # "parcel_certificate", "permit", "bill", "receipt", ...
    name: object                   # a (lazy) translated name: "Parcel certificate"
    prefix: str                    # the number's prefix: "PC" makes PC-1405-00012
    html: Callable                 # (IssuedDocument) -> bytes: the page printed to PDF
    # a new document of this kind for the same parcel replaces the earlier ones still in force (certificates)
    supersedes: bool = False
    # anyone holding the verification code may download the PDF (no personal data is printed on it)
    public_pdf: bool = True
    # (IssuedDocument) -> dict | None: more the verification page may say (a bill: paid on ...)
    extra_status: Callable | None = None
    # called after the PDF is stored, in the same transaction (an app files it in its own archive)
    on_rendered: Callable | None = None
    # prefixes of numbers the app gives itself (issue(number=...)): reserved, so no other kind makes the same number
    other_prefixes: tuple[str, ...] = ()


KINDS: dict[str, DocumentKind] = {}


def register_kind(kind: DocumentKind) -> None:
    if kind.code in KINDS and KINDS[kind.code] != kind:
        raise ValueError(f"document kind {kind.code!r} is registered twice")
    mine = {kind.prefix, *kind.other_prefixes}
    for other in KINDS.values():
        if other.code != kind.code and mine & {other.prefix, *other.other_prefixes}:
            raise ValueError(f"document number prefixes {sorted(mine)} overlap those of {other.code!r}")
    KINDS[kind.code] = kind


def get(code: str) -> DocumentKind:
    try:
        return KINDS[code]
    except KeyError:
        raise LookupError(f"no document kind {code!r} is registered") from None
