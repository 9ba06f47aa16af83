"""Why a bill was superseded and why a payment failed are stored as codes (with the values their message names),
read in the reader's language, instead of English text. The rows written before are converted when their text is
one the code wrote; any other text is kept and shown as it is."""

import re

from django.db import migrations, models

_REPLACED = re.compile(r"^replaced by bill (\d+)$")
_REASSESSED = re.compile(r"^reassessed for (\d+) by run (\d+)$")
_FAILURES = {"the bank has no such transaction": "no_such_transaction",
             "the payment was cancelled at the bank": "cancelled"}


def to_codes(apps, schema_editor):
    Bill, PaymentAttempt = apps.get_model("dues", "Bill"), apps.get_model("dues", "PaymentAttempt")
    for bill in Bill.objects.filter(superseded_reason__regex=r"^(replaced|reassessed) ").only("superseded_reason"):
        if match := _REPLACED.match(bill.superseded_reason):
            bill.superseded_reason, bill.superseded_params = "replaced", {"bill": int(match[1])}
        elif match := _REASSESSED.match(bill.superseded_reason):
            bill.superseded_reason = "reassessed"
            bill.superseded_params = {"year": int(match[1]), "run": int(match[2])}
        else:
            continue
        bill.save(update_fields=["superseded_reason", "superseded_params"])
    for text, code in _FAILURES.items():
        PaymentAttempt.objects.filter(message=text).update(failure=code, message="")


def to_text(apps, schema_editor):
    Bill, PaymentAttempt = apps.get_model("dues", "Bill"), apps.get_model("dues", "PaymentAttempt")
    for bill in Bill.objects.filter(superseded_reason="replaced"):
        bill.superseded_reason = f"replaced by bill {bill.superseded_params['bill']}"
        bill.save(update_fields=["superseded_reason"])
    for bill in Bill.objects.filter(superseded_reason="reassessed"):
        bill.superseded_reason = (f"reassessed for {bill.superseded_params['year']} by run "
                                  f"{bill.superseded_params['run']}")
        bill.save(update_fields=["superseded_reason"])
    for text, code in _FAILURES.items():
        PaymentAttempt.objects.filter(failure=code, message="").update(message=text)


class Migration(migrations.Migration):

    dependencies = [
        ("dues", "0002_finance_permissions"),
    ]

    operations = [
        migrations.AddField(
            model_name="bill",
            name="superseded_params",
            field=models.JSONField(blank=True, default=dict, help_text="The values the reason's message names."),
        ),
        migrations.AddField(
            model_name="paymentattempt",
            name="failure",
            field=models.CharField(blank=True, choices=[
                ("no_such_transaction", "The bank has no such transaction."),
                ("cancelled", "The payment was cancelled at the bank."),
                ("not_confirmed", "The bank did not confirm the payment.")], max_length=30),
        ),
        migrations.AlterField(
            model_name="bill",
            name="superseded_reason",
            field=models.CharField(blank=True, help_text="A code of Bill.Superseded; a bill superseded before the "
                                   "codes keeps the English text it was given.", max_length=300),
        ),
        migrations.AlterField(
            model_name="paymentattempt",
            name="message",
            field=models.CharField(blank=True, help_text="What the bank said in its own words, if anything; an "
                                   "attempt failed before the failure codes keeps the English text it was given.",
                                   max_length=300),
        ),
        migrations.RunPython(to_codes, to_text),
    ]
