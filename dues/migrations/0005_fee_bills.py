"""Fee bills (dues.api): a bill's kind (renewal | fee), the caller's reference and the bill's title; and the sequence
that numbers fee bills' file codes in the bill ID (dues/fee_bills.py: 90,000,000 onwards, apart from the parcel ids
that renewal bills use as file codes)."""

from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    dependencies = [("dues", "0004_public_ids")]

    operations = [
        migrations.AddField("bill", "kind", models.CharField(
            choices=[("renewal", "Renewal dues"), ("fee", "Fees")], default="renewal", max_length=10)),
        migrations.AddField("bill", "reference", models.CharField(
            blank=True, db_index=True, max_length=100, help_text=(
                "Fee bills: what the calling app bills under (a permit case's reference); empty on renewal bills."))),
        migrations.AddField("bill", "title_fa", models.CharField(
            blank=True, max_length=300, help_text="Fee bills: what the bill is for, in Persian.")),
        migrations.AddField("bill", "title_en", models.CharField(
            blank=True, max_length=300, help_text="Fee bills: the same in English.")),
        migrations.AlterField("bill", "items", models.JSONField(help_text=(
            "Renewal bills: one entry per year billed (assessed, paid before, discount, penalty, due). Fee bills: the "
            "fee lines (code, labels, formula, inputs, amount)."))),
        migrations.AddConstraint("bill", models.UniqueConstraint(
            condition=Q(kind="fee"), fields=["bill_id"], name="bill_fee_bill_id_unique")),
        migrations.AddConstraint("bill", models.UniqueConstraint(
            condition=Q(kind="fee") & ~Q(status="superseded"), fields=["reference"],
            name="bill_fee_one_live_per_reference")),
        migrations.RunSQL(
            "CREATE SEQUENCE dues_fee_file_code AS bigint MINVALUE 90000000 MAXVALUE 99999999 START 90000000 NO CYCLE;",
            "DROP SEQUENCE IF EXISTS dues_fee_file_code;"),
    ]
