"""Rate counters in an UNLOGGED table: bumping a counter is a write on almost every public lookup (a document's
verification, its PDF), and a logged write waits at commit for the WAL to reach the disk: the upsert took 0.5-4 ms
on the shared machine, 0.3-0.4 ms without that wait (bench/documents.py). The counters are exact across processes as
before; a crash of PostgreSQL empties them (unlogged tables are truncated in recovery), which restarts every window:
no limit is lost for longer than one window, and nothing else lives in the table."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_api_tokens")]

    operations = [
        migrations.RunSQL("ALTER TABLE accounts_ratecounter SET UNLOGGED",
                          reverse_sql="ALTER TABLE accounts_ratecounter SET LOGGED"),
    ]
