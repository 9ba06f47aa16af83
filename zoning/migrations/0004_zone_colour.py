# A colour per zone code kept with the zones (the map, its legend and QGIS styles; issue 16).

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('zoning', '0003_widening_geom_follows_municipality_srid'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalzone',
            name='colour',
            field=models.CharField(blank=True, help_text='#rrggbb; empty: a colour of the fallback palette', max_length=7, validators=[django.core.validators.RegexValidator('^#[0-9A-Fa-f]{6}$')]),
        ),
        migrations.AddField(
            model_name='zone',
            name='colour',
            field=models.CharField(blank=True, help_text='#rrggbb; empty: a colour of the fallback palette', max_length=7, validators=[django.core.validators.RegexValidator('^#[0-9A-Fa-f]{6}$')]),
        ),
    ]
