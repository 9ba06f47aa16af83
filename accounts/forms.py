"""The citizens' settings form (the sign-in steps are plain fields read by accounts.service)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import LANGUAGES


class SettingsForm(forms.Form):
    by_sms = forms.BooleanField(label=_("By SMS"), required=False)
    by_email = forms.BooleanField(label=_("By e-mail"), required=False)
    by_inbox = forms.BooleanField(label=_("In my inbox on this site"), required=False)
    email = forms.EmailField(label=_("E-mail address"), required=False, max_length=254,
                             widget=forms.EmailInput(attrs={"dir": "ltr", "autocomplete": "email"}))
    # the languages named in the page's language ("Persian", «فارسی»), as everywhere on the page
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES)
    reminders = forms.BooleanField(label=_("Reminders (for example of dues falling due)"), required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("by_email") and not cleaned.get("email"):
            self.add_error("email", _("Give an e-mail address to receive notices by e-mail."))
        return cleaned
