"""Command line: ``python -m data.demo_city --parcels N --seed S --out DIR``.

Generates the demo town GeoPackage (and DEM) and prints a summary.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .generator import ALL_LAYERS, DEM_LAYER, CityParams, generate_city


def _parse_layers(text: str | None) -> frozenset[str] | None:
    if not text:
        return None
    layers = frozenset(part.strip() for part in text.split(",") if part.strip())
    unknown = layers - set(ALL_LAYERS) - {DEM_LAYER}
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown layers {sorted(unknown)}; choose from {', '.join(ALL_LAYERS + (DEM_LAYER,))}")
    return layers


def _human_size(path: Path) -> str:
    size = path.stat().st_size
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data.demo_city",
        description="Generate a deterministic demo town at Darab (Fars, Iran) as a GeoPackage plus a DEM.")
    parser.add_argument("--parcels", type=int, default=20000, help="number of parcels (default 20000)")
    parser.add_argument("--seed", type=int, default=1404, help="random seed (default 1404)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--srid", type=int, default=32640, help="projected CRS EPSG code (default 32640)")
    parser.add_argument("--center-lon", type=float, default=54.553, help="town centre longitude")
    parser.add_argument("--center-lat", type=float, default=28.755, help="town centre latitude")
    parser.add_argument("--layers", type=_parse_layers, default=None,
                        help="comma-separated subset of layers (add 'dem' for the DEM); default all")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    params = CityParams(parcels=args.parcels, seed=args.seed, srid=args.srid,
                        center_lon=args.center_lon, center_lat=args.center_lat, layers=args.layers)
    result = generate_city(params, out_dir=args.out, progress=not args.quiet)

    print(f"demo town: {args.parcels} parcels requested, seed {args.seed}, EPSG:{args.srid}")
    if result.extent:
        x0, y0, x1, y1 = result.extent
        print(f"extent: {x0:.0f},{y0:.0f} - {x1:.0f},{y1:.0f} ({(x1 - x0) / 1000:.1f} x {(y1 - y0) / 1000:.1f} km)")
    if result.counts:
        print(f"{result.gpkg_path} ({_human_size(result.gpkg_path)})")
        width = max(len(name) for name in result.counts)
        for name, count in result.counts.items():
            print(f"  {name:<{width}}  {count:>9,}")
    if result.dem_path:
        print(f"{result.dem_path} ({_human_size(result.dem_path)})")
    print(f"done in {result.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
