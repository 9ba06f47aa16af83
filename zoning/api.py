"""The zoning module's public face for other apps (permits, documents): what may be built on a parcel and the
decision for a proposal, JSON-ready, with the rulebook version and the citation of every rule. Other apps import
this module only, never zoning's insides (tests/test_architecture.py)."""

import datetime as dt

from zoning import service
from zoning.service import FIELD_LABELS, PROPOSAL_FIELDS, BadProposal  # noqa: F401  (part of the face)


def decide(parcel_id: int, proposal: dict, on_date: dt.date | None = None) -> dict:
    """The decision for `proposal` (PROPOSAL_FIELDS, `footprint` as GeoJSON in WGS84): status, rulebook, on_date,
    checks rule by rule with citations, envelope. BadProposal (400) names bad fields; NotFound (404) when the parcel
    has no zone or rulebook."""
    return service.decide(parcel_id, proposal, on_date)


def envelope(parcel_id: int, on_date: dt.date | None = None) -> dict:
    """The parcel's envelope and the rules in force (zoning.service.envelope_data)."""
    return service.envelope_data(parcel_id, on_date)


def envelope_features(parcel_id: int, on_date: dt.date | None = None) -> dict:
    """The envelope, the parcel and the road-widening strip as GeoJSON in WGS84 (for maps and PDFs)."""
    return service.envelope_features(parcel_id, on_date)


def subdivision(parcel_id: int, lines, on_date: dt.date | None = None) -> dict:
    """Proposed split lines checked against the zone's minimum lot area and frontage."""
    return service.subdivision(parcel_id, lines, on_date)
