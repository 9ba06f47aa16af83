"""Photos are processed by a job after the upload (reports/photos.py): their state, the raw upload until then, and why
a broken one could not be used. The photos already stored were processed at upload: they are `ready`."""

import reports.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0003_cluster_cells'),
    ]

    operations = [
        migrations.AddField(
            model_name='photo',
            name='incoming',
            field=models.FileField(blank=True, max_length=200, upload_to=reports.models.incoming_path),
        ),
        migrations.AddField(
            model_name='photo',
            name='refusal',
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(  # the rows already there: ready
            model_name='photo',
            name='state',
            field=models.CharField(choices=[('processing', 'Being processed'), ('ready', 'Ready'), ('broken', 'Could not be read')], default='ready', max_length=10),
        ),
        migrations.AlterField(  # new ones: processing until the job has made their JPEG
            model_name='photo',
            name='state',
            field=models.CharField(choices=[('processing', 'Being processed'), ('ready', 'Ready'), ('broken', 'Could not be read')], default='processing', max_length=10),
        ),
        migrations.AlterField(
            model_name='photo',
            name='bytes',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name='photo',
            name='image',
            field=models.FileField(blank=True, max_length=200, upload_to=reports.models.photo_path),
        ),
        migrations.AlterField(
            model_name='photo',
            name='sha256',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name='photo',
            name='thumbnail',
            field=models.FileField(blank=True, max_length=200, upload_to=reports.models.thumb_path),
        ),
    ]
