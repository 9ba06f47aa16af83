"""A demo city of N parcels in its own database (<DATABASE_URL's name>_layers_<N>) for the layers benchmarks,
loaded once and reused; and Django set up on it."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def city_database(parcels: int) -> tuple[dict, str, str]:
    """(environment for manage.py/gunicorn on that database, psycopg conninfo, database name)."""
    import psycopg

    base = urlparse(os.environ["DATABASE_URL"])
    name = f"{base.path.lstrip('/')}_layers_{parcels}"
    admin = f"host={base.hostname} port={base.port or 5432} user={base.username} password={base.password}"
    with psycopg.connect(admin + " dbname=postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": base._replace(path="/" + name).geturl(), "SECRET_KEY": "bench",
           "DJANGO_SETTINGS_MODULE": "gis_portal.settings"}
    py = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([py, "manage.py", "load_demo_city", "--if-absent", "--parcels", str(parcels)],
                   cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    return env, admin + f" dbname={name}", name


if __name__ == "__main__":  # load only: python bench/layers_city.py N
    city_database(int(sys.argv[1]))
