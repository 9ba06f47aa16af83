"""The events notices are sent for. Apps register theirs from AppConfig.ready():

    from notices.events import Event, register
    register(Event("permit.approved", "صدور پروانه", "Permit approved", "transactional",
                   channels=("sms", "email", "inbox"), sample_context={"case_number": "۱۴۰۵-۰۰۱۲"}))
"""

from dataclasses import dataclass, field

from notices.rules import CHANNELS, KINDS

_registry: dict[str, "Event"] = {}


@dataclass(frozen=True)
class Event:
    code: str
    title_fa: str
    title_en: str
    kind: str  # security | transactional | reminder (notices.rules)
    channels: tuple[str, ...] = CHANNELS  # the channels it may use
    sample_context: dict = field(default_factory=dict)  # the admin's template preview

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"event {self.code}: unknown kind {self.kind!r} (one of {', '.join(KINDS)})")
        unknown = set(self.channels) - set(CHANNELS)
        if unknown:
            raise ValueError(f"event {self.code}: unknown channels {sorted(unknown)}")
        object.__setattr__(self, "channels", tuple(self.channels))

    def title(self, language: str) -> str:
        return self.title_fa if language == "fa" else self.title_en


def register(event: Event) -> Event:
    """Register an event (again with the same definition is fine: ready() may run twice in tests)."""
    known = _registry.get(event.code)
    if known is not None and known != event:
        raise ValueError(f"event {event.code} is already registered differently")
    _registry[event.code] = event
    return event


def get(code: str) -> Event:
    try:
        return _registry[code]
    except KeyError:
        raise LookupError(f"no notice event {code!r} is registered (notices.events.register)") from None


def all_events() -> list[Event]:
    return sorted(_registry.values(), key=lambda e: e.code)
