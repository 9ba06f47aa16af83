"""The stored effect by district of each year's approved tariff book against the previous one (the public tariff
pages read it; manage.py compute_tariff_effects writes it)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("dues", "0005_fee_bills")]

    operations = [
        migrations.CreateModel(
            name="TariffChangeEffect",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("fingerprint", models.CharField(max_length=64)),
                ("rows", models.JSONField(help_text="By district: district, name, name_en, parcels, previous, current, "
                                                    "change_percent (rials).")),
                ("parcels", models.PositiveIntegerField(
                    help_text="Parcels of the cadastre the figures were computed over.")),
                ("computed_at", models.DateTimeField()),
                ("book", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                           to="dues.tariffbook")),
                ("previous", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                               to="dues.tariffbook")),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("book", "previous"),
                                                        name="tariffchangeeffect_pair_unique")],
            },
        ),
    ]
