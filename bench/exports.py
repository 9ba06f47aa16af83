"""Export benchmark: the whole city's parcels to a GeoPackage through the app's export (the registry's columns,
QGIS styles added) against plain `ogr2ogr -f GPKG` of the same table, alternating, median of the runs.

    .venv/bin/python bench/exports.py --parcels 100000 [--runs 3]

Target (issue 6): export time <= 1.3 x ogr2ogr (PERFORMANCE.md anchor: ogr2ogr 14.2 s at 1M parcels).
"""

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from layers_city import city_database


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    city_database(args.parcels)

    from layers.exports import ExportRequest, export, pg_source
    from layers.registry import LAYERS

    source, env = pg_source()
    times = {"ogr2ogr": [], "export": []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            out = Path(tmp) / f"ogr_{run}.gpkg"
            t = time.perf_counter()
            subprocess.run(["ogr2ogr", "-f", "GPKG", str(out), source, "parcels_parcel"], env=env, check=True,
                           capture_output=True)
            times["ogr2ogr"].append(time.perf_counter() - t)
            out.unlink()
            out = Path(tmp) / f"app_{run}.gpkg"
            t = time.perf_counter()
            export(ExportRequest([LAYERS["parcels"]], "gpkg"), out)
            times["export"].append(time.perf_counter() - t)
            size = out.stat().st_size
            out.unlink()
            print(f"run {run + 1}: ogr2ogr {times['ogr2ogr'][-1]:.2f} s, export {times['export'][-1]:.2f} s",
                  flush=True)
    ogr, app = statistics.median(times["ogr2ogr"]), statistics.median(times["export"])
    print(f"\nparcels to GeoPackage, {args.parcels:,} parcels, median of {args.runs} (s); export file {size:,} bytes")
    print(f"{'ogr2ogr table':>14} {'app export':>11} {'ratio':>6}   (target <= 1.3)")
    print(f"{ogr:>14.2f} {app:>11.2f} {app / ogr:>6.2f}")


if __name__ == "__main__":
    main()
