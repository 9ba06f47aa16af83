"""Messages for people from modules that import no Django (the pure rule modules: dues.formulas, zoning.rules,
zoning.eligibility). They mark an English message template for the catalogue and carry it with its values; whoever
shows the message translates it in the reader's language (``gettext(msgid) % params``). This module imports no Django.
"""


def gettext_noop(message: str) -> str:
    """Marks a message template for the catalogue (makemessages' xgettext extracts calls by this name) and returns it
    untranslated."""
    return message


class MessageError(ValueError):
    """An error whose ``args`` are ``(msgid, params)``: the English message template (in the catalogue) and its values.
    ``str()`` is the English message, for logs; where people read it, it is shown as ``gettext(msgid) % params``."""

    def __init__(self, msgid: str, params: dict | None = None):
        super().__init__(msgid, dict(params or {}))

    @property
    def msgid(self) -> str:
        return self.args[0]

    @property
    def params(self) -> dict:
        return self.args[1]

    def __str__(self):
        return self.msgid % self.params


def masked(value: str) -> str:
    """0917****876 / 049****899: enough to tell personal values apart in a list, not enough to use one."""
    value = value or ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 7) + value[-3:]
