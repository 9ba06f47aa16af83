"""manage.py add_municipality SLUG --srid N --name-fa … --name-en …: one more municipality for this deployment.

1. Its table is checked with the others' (read_file's checks: the slug, host and path prefix free, the SRID a
   projected CRS in metres, the code widths, the time zone), before anything is changed.
2. Its database is created when missing (CREATE DATABASE on the server of its --database-url, default DATABASE_URL's
   server with the database <DATABASE_URL's name>_<slug>; CREATE EXTENSION postgis).
3. It is migrated and seeded (setup_municipality, in a process of its own with MUNICIPALITY set, reading the new
   file), then its table is appended to MUNICIPALITIES_FILE (created with the current single municipality first when
   there was none). A failure leaves the file as it was (the database created stays, empty or half migrated; a rerun
   goes on from there). A new file starts with the municipalities served now (the one of the settings).

The running processes read the file when they start: restart the portal and start a job worker for it
(`MUNICIPALITY=SLUG manage.py procrastinate worker`).
"""

import os
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common import municipality
from common.commands import BaseCommand
from portal.backup import Database
from portal.management.commands.migrate_all import manage


def server_connect(url: str, dbname: str):
    """A psycopg connection (autocommit) to `dbname` on the server of the database URL `url`."""
    return Database.from_url(url).connect(dbname, autocommit=True, connect_timeout=5)


def create_database(url: str) -> bool:
    """Create the database of `url` with PostGIS when it is missing; True when it was created."""
    import psycopg
    from psycopg import sql

    name = Database.from_url(url).name
    last = None
    for maintenance in ("postgres", "template1"):
        try:
            with server_connect(url, maintenance) as conn:
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
                if not exists:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            break
        except psycopg.OperationalError as exc:
            last = exc
    else:
        raise CommandError(_("The database server of %(name)s cannot be reached: %(error)s")
                           % {"name": name, "error": str(last).strip().splitlines()[0] if str(last).strip() else last})
    with server_connect(url, name) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return not exists


class Command(BaseCommand):
    help = "Add a municipality: create its database, migrate and seed it, append it to MUNICIPALITIES_FILE."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="lower-case letters, digits and '-' (e.g. shiraz)")
        parser.add_argument("--srid", type=int, required=True, help="its projected CRS in metres (EPSG code)")
        parser.add_argument("--name-fa", required=True, help="its name in Persian (e.g. شهرداری شیراز)")
        parser.add_argument("--name-en", default="", help="its name in English")
        parser.add_argument("--widths", default="1,1,3,3,1,1,1", help="digits of the 7 renewal-code segments")
        parser.add_argument("--time-zone", default=municipality.DEFAULT_TIME_ZONE)
        parser.add_argument("--host", action="append", default=[], help="a host name it answers (repeatable)")
        parser.add_argument("--path-prefix", default="", help="a path prefix it answers, e.g. /shiraz")
        parser.add_argument("--database-url", default="",
                            help="its database (default: DATABASE_URL's server, database <name>_<slug>)")
        parser.add_argument("--bill-company-code", default="")
        parser.add_argument("--file", default=settings.MUNICIPALITIES_FILE,
                            help="the municipalities file (default: MUNICIPALITIES_FILE)")

    def handle(self, *args, **opts):
        path = Path(opts["file"]) if opts["file"] else None
        if path is None:
            raise CommandError(_("Give --file or set MUNICIPALITIES_FILE: the file the municipalities are listed in"))
        slug = opts["slug"]
        if slug in municipality.registry():
            raise CommandError(_("The slug %(slug)s is taken: this deployment serves it already") % {"slug": slug})
        try:
            widths = [int(w) for w in opts["widths"].replace(" ", "").split(",")]
        except ValueError:
            raise CommandError(_("--widths must be 7 numbers separated by commas, e.g. 1,1,3,3,1,1,1")) from None
        problem = municipality.srid_problem(opts["srid"])
        if problem:
            raise CommandError(_("--srid: %(problem)s") % {"problem": problem})
        # a new file starts with the municipalities served now (the one of the settings, without a file)
        existing = path.read_text(encoding="utf-8") if path.exists() else "\n".join(
            municipality.toml_table(m) for m in municipality.registry().values())
        if existing and not existing.endswith("\n"):
            existing += "\n"
        table = {"slug": slug, "name": opts["name_fa"], "name_en": opts["name_en"], "srid": opts["srid"],
                 "renewal_code_widths": tuple(widths), "time_zone": opts["time_zone"],
                 "hosts": tuple(h.strip().lower() for h in opts["host"]), "path_prefix": opts["path_prefix"],
                 "bill_company_code": opts["bill_company_code"], "database_url": opts["database_url"],
                 "database": slug}
        new_text = existing + "\n" + municipality.toml_table(municipality.Municipality(**table))
        # every check of the file (slug, hosts and prefix free, widths, time zone), on the file as it will be
        with tempfile.NamedTemporaryFile("w", suffix=".toml", dir=path.parent if path.parent.exists() else None,
                                         delete=False, encoding="utf-8") as tmp:
            tmp.write(new_text)
        try:
            try:
                added = municipality.read_file(tmp.name)[-1]
            except ImproperlyConfigured as exc:
                raise CommandError(str(exc).replace(tmp.name, str(path))) from None
            url = added.database_url or municipality.database_url_for(settings.DATABASE_URL, slug)
            created = create_database(url)
            self.stdout.write((_("Created the database %(name)s.") if created else
                               _("The database %(name)s exists: migrating it.")) % {"name": url.rsplit("/", 1)[-1]})
            done = manage(slug, "setup_municipality", "--verbosity", str(opts["verbosity"]),
                          env={"MUNICIPALITIES_FILE": tmp.name})
            if done.returncode != 0:
                raise CommandError(_("Migrating or seeding %(slug)s failed (exit status %(code)s): %(file)s is "
                                     "unchanged") % {"slug": slug, "code": done.returncode, "file": path})
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(tmp.name, path)
        finally:
            if os.path.exists(tmp.name):
                os.unlink(tmp.name)
        self.stdout.write(_("Added %(slug)s to %(file)s. Restart the portal, and start its job worker: "
                            "MUNICIPALITY=%(slug)s manage.py procrastinate worker") % {"slug": slug, "file": path})
