"""The layers benchmarks' demo city: the shared bench database (bench/common.py), with Django set up on it."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import City  # noqa: E402


def city_database(parcels: int) -> tuple[dict, str, str]:
    """(environment for manage.py/gunicorn on that database, psycopg conninfo, database name)."""
    city = City(parcels)
    city.setup_django()
    return city.env, city.dsn, city.name


if __name__ == "__main__":  # load only: python bench/layers_city.py N
    city_database(int(sys.argv[1]))
