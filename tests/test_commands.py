"""The base of the project's management commands (common/commands.py): English by default (a terminal does not lay
out right-to-left text), Persian with --language fa or COMMAND_LANGUAGE=fa, the caller's language restored after."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command, get_commands, load_command_class
from django.utils import translation
from django.utils.translation import gettext as _

from common.commands import BaseCommand


class Speak(BaseCommand):
    def handle(self, *args, **options):
        # "Yes" is in Django's own Persian catalogue, so this holds whatever the project's catalogue holds.
        self.stdout.write(f"{translation.get_language()} {_('Yes')}")


def speak(*args) -> str:
    out = StringIO()
    call_command(Speak(), *args, stdout=out)
    return out.getvalue().strip()


def test_english_by_default_persian_when_asked(monkeypatch):
    monkeypatch.delenv("COMMAND_LANGUAGE", raising=False)
    assert speak() == "en Yes"
    assert speak("--language", "fa") == "fa بله"
    monkeypatch.setenv("COMMAND_LANGUAGE", "fa")
    assert speak() == "fa بله"
    assert speak("--language", "en") == "en Yes"


def test_the_callers_language_comes_back():
    with translation.override("fa"):
        assert speak("--language", "en") == "en Yes"
        assert translation.get_language() == "fa"


def test_an_unknown_language_is_refused(monkeypatch):
    with pytest.raises(CommandError, match="'de'"):
        speak("--language", "de")
    monkeypatch.setenv("COMMAND_LANGUAGE", "de")
    with pytest.raises(CommandError, match="COMMAND_LANGUAGE"):
        speak()


@pytest.mark.parametrize("app", ["parcels", "layers", "portal", "zoning", "dues"])
def test_the_apps_commands_use_the_base(app):
    names = [name for name, owner in get_commands().items() if owner == app]
    assert names
    for name in names:
        assert isinstance(load_command_class(app, name), BaseCommand), name
