"""Deterministic, seeded generator of a realistic demo town at Darab, Fars (Iran).

No parcel data of Darab is public, so the project generates a town that looks
and behaves like a small Iranian city: irregular blocks, a compact historic
core around the bazaar, main roads lined with shops, dead-end lanes, a
seasonal river with its floodplain, a fault line, hills to the north.

How the town is built, and why
------------------------------
1. A street grid is laid out in an *index space* of long, shallow cells (long
   side east-west, so lots face north or south as Iranian houses prefer).
   Main-road lines are picked with irregular spacing and get wider gaps.
2. The grid is bent into a town: a radial "fisheye" pulls the historic core
   together (smaller blocks, narrower lanes), smooth sine waves warp it so
   streets curve, a global rotation and a per-node jitter make every block an
   irregular quadrilateral. Grid edges (node to node) are street segments.
3. A seasonal river meanders through the town; cells touching its channel stay
   unbuilt. The town outline is a noisy blob flattened to the north (hills);
   a cell's *priority* is its distance to the centre relative to that outline.
4. Some vertical pairs of cells are merged into deep blocks (the street between
   them is dropped); their halves get deep lots or a dead-end lane with lots on
   both sides.
5. Each cell is shrunk by half the width of every street around it (the street
   corridor), and the remaining quadrilateral is split into strips (rows of
   lots) and the strips into lots, all in the bilinear (u, v) parameter space
   of the quadrilateral and fully vectorised with numpy. Lot lines get a slight
   random slant; shared edges are made exact by inserting T-junction vertices.
6. Blocks are taken in priority order until the requested parcel count is
   reached, so the town grows outward with N and the count is exact to about
   one block. Contexts (periphery, industrial edge, new town) are relative to
   the final outline, which itself depends on lot sizes, so the layout is
   re-planned (damped, usually 1-3 passes) until the outline is consistent.
7. Everything else (codes, land use, buildings, owners, addresses, zoning, the
   DEM) is derived from that layout with separate random streams, so asking for
   fewer layers never changes the parcels.

All lengths are metres in the projected CRS; internal coordinates are local
(centred on the town centre) and shifted to the CRS only when written.

Scale: about 1.5 s for 20,000 parcels with every layer, ~35 s for 1,000,000
parcels (parcels layer only) on two cores. MAX_PARCELS is bounded by the
renewal-code widths (9 districts x 9 zones x 999 blocks x 999 lots).
"""

from __future__ import annotations

import math
import os
import sys
import time
import zlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from . import names as NM

# ---------------------------------------------------------------------------
# Realism knobs
# ---------------------------------------------------------------------------

#: Every layer the GeoPackage can hold, in writing order.
ALL_LAYERS = (
    "districts", "cadastral_zones", "blocks", "streets", "parcels", "buildings",
    "addresses", "owners", "ownerships", "zoning", "historic_core", "river",
    "floodplain", "fault_line",
)
#: Pseudo-layer name selecting the DEM GeoTIFF in ``CityParams.layers``.
DEM_LAYER = "dem"

PARCEL_AREA_MIN = 80.0            # m², hard bounds every parcel satisfies
PARCEL_AREA_MAX = 2000.0
LOT_AREA_LOW = 115.0              # design bounds used to choose lot counts; the
LOT_AREA_HIGH = 1350.0            # margin absorbs width jitter and distortion
LOT_WIDTH_JITTER = 0.14           # relative frontage variation within a row
GROSS_M2_PER_PARCEL = 570.0       # town area per parcel incl. streets; sizes the grid

CELL_LENGTH_M = (95.0, 165.0)     # index-space block length (east-west)
CELL_DEPTH_M = (44.0, 60.0)       # index-space block depth (two lot rows)
MAIN_EVERY_COLS = (5, 7)          # main road every n column lines ...
MAIN_EVERY_ROWS = (9, 13)         # ... and every n row lines
RESERVE_LOCAL_M = 12.0            # street room reserved between cells
RESERVE_MAIN_M = 46.0
RESERVE_CENTRAL_M = 52.0          # central roads cross the compressed core
MAIN_CHUNK_SEGMENTS = 45          # a main road changes its name after ~5 km
LOCAL_CHUNK_SEGMENTS = (3, 8)     # a local street runs 3-8 segments

MAIN_WIDTHS = ((30.0, 35.0, 40.0, 45.0), (0.3, 0.3, 0.25, 0.15))
CENTRAL_WIDTHS = ((30.0, 35.0), (0.6, 0.4))
LOCAL_WIDTHS = ((6.0, 8.0, 10.0, 12.0), (0.15, 0.35, 0.3, 0.2))
CORE_LOCAL_WIDTHS = ((6.0, 6.5, 7.0), (0.5, 0.3, 0.2))
DEAD_END_WIDTHS = ((6.0, 7.0, 8.0), (0.5, 0.25, 0.25))
PLANNED_WIDENING_SHARE = 0.12     # streets with a planned (larger) width

CORE_RADIUS_FRACTION = 0.2        # historic core radius / town radius ...
CORE_RADIUS_M = (160.0, 750.0)    # ... clamped to this range
CORE_COMPRESSION = 0.6            # block size factor in the historic core
NODE_JITTER_M = 2.2               # per-intersection noise (std, clipped 2x)
CORE_NODE_JITTER_M = 4.5
WARP_SLOPE = 0.07                 # max displacement gradient per warp wave
GRID_ROTATION_DEG = 12.0          # grid rotated by up to +- this
TOWN_SHAPE_NOISE = (0.12, 0.08, 0.05)  # harmonics 2, 3, 5 of the outline
NORTH_FLATTEN = 0.25              # the town stops at the northern hills
CANDIDATE_PRIORITY = 1.3          # cells planned beyond the expected outline
PLAN_PASSES = 4                   # layout passes to make the outline consistent
PLAN_TOLERANCE = 0.05             # accepted mismatch of the outline priority
MAX_PARCELS = 1_200_000           # renewal codes allow 9 x 9 zones of <= 999 blocks
BLOCK_WEIGHT = 12.0               # parcels-equivalent of a block when balancing zones

RIVER_CHANNEL_HALF_M = 12.0       # seasonal river bed half width
RIVER_CLEARANCE_M = 4.0           # no cell within this of the channel
FLOODPLAIN_HALF_M = (52.0, 20.0)  # mean, amplitude: 64-144 m wide in total
FAULT_ANGLE_DEG = -35.0           # NW-SE, as the Zagros faults run

SINGLE_ROW_DEPTH_M = 26.0         # shallower cells get one row of lots
DEAD_END_COLUMN_M = (15.0, 22.0)  # depth of lots along a dead end
DEAD_END_TIP_M = (13.0, 19.0)
DEAD_END_MIN_LENGTH_M = 22.0
BIG_LOT_AREA_M2 = (900.0, 1700.0)

# Neighbourhood contexts: they drive lot sizes, land use, buildings, zoning.
CTX_STD, CTX_CORE, CTX_BAZAAR, CTX_PERIPHERY, CTX_INDUSTRIAL, CTX_NEWTOWN = range(6)
CTX_NAMES = ("standard", "core", "bazaar", "periphery", "industrial", "new_town")  # for logs
MERGE_PROB = (0.22, 0.25, 0.0, 0.15, 0.0, 0.10)      # deep blocks
DEAD_END_PROB = (0.7, 0.6, 0.0, 0.5, 0.0, 0.6)       # per deep half-block
BIG_LOT_PROB = (0.07, 0.04, 0.05, 0.05, 0.0, 0.08)   # public lot in a block
FRONTAGE_M = ((10, 15), (7, 10), (6, 8), (16, 30), (22, 40), (11, 15))
FRONTAGE_MAIN_M = (7.0, 11.0)                       # shops on main roads
FRONTAGE_DEAD_END_M = (9.0, 13.0)
SLANT_SIGMA_M = (0.8, 1.8, 1.0, 1.0, 0.5, 0.4)       # lot-line slant
PERIPHERY_FROM = 0.86             # normalised priority where the edge starts
INDUSTRIAL_FROM = 0.78
INDUSTRIAL_HALF_ANGLE = 28.0      # degrees
NEWTOWN_RANGE = (0.5, 0.86)
NEWTOWN_HALF_ANGLE = 35.0

# Land-use mixes (relative weights) by context; codes from land_uses.csv.
LAND_USE_MIX = {
    CTX_STD: {"residential": 87, "commercial": 3.5, "vacant": 4.5, "religious": 0.8,
              "education": 0.5, "health": 0.4, "administrative": 0.4, "cultural": 0.3,
              "urban_equipment": 0.3, "urban_utilities": 0.2, "green_space": 0.8,
              "sports": 0.2, "tourism": 0.1, "military": 0.05},
    CTX_CORE: {"residential": 75, "commercial": 9, "historic_heritage": 5, "religious": 1.5,
               "vacant": 6, "cultural": 0.8, "tourism": 1, "administrative": 0.5,
               "health": 0.5, "education": 0.5},
    CTX_BAZAAR: {"commercial": 72, "residential": 12, "historic_heritage": 6,
                 "religious": 4, "tourism": 3, "vacant": 2, "cultural": 1},
    CTX_PERIPHERY: {"gardens_agriculture": 40, "residential": 45, "vacant": 9,
                    "transport_warehousing": 1.5, "urban_utilities": 1, "commercial": 2,
                    "religious": 0.5, "sports": 0.5, "natural": 0.5},
    CTX_INDUSTRIAL: {"industrial": 58, "transport_warehousing": 24, "vacant": 10,
                     "commercial": 5, "urban_utilities": 3},
    CTX_NEWTOWN: {"residential": 87, "vacant": 6, "commercial": 3, "education": 1,
                  "religious": 1, "green_space": 1, "health": 0.5, "sports": 0.5},
}
LAND_USE_MAIN_ROAD = {"commercial": 52, "residential": 34, "administrative": 3, "health": 2,
                      "vacant": 3, "tourism": 1.5, "cultural": 1, "religious": 1,
                      "urban_equipment": 0.5, "education": 1, "sports": 0.5,
                      "higher_education": 0.5}
LAND_USE_BIG_LOT = {"education": 26, "religious": 14, "green_space": 18, "health": 7,
                    "administrative": 8, "sports": 8, "cultural": 5, "urban_utilities": 4,
                    "urban_equipment": 4, "higher_education": 3, "military": 1, "tourism": 2}
PUBLIC_USES = ("education", "higher_education", "administrative", "health", "cultural",
               "green_space", "sports", "urban_equipment", "urban_utilities", "military")

PLATE_MAINS_PER_SECTION = 2400   # main plates rise ~2 per step: stay below ~5,000
BUILDING_SHARE = 0.95             # of parcels that may carry a building
GARDEN_BUILDING_SHARE = 0.35
DEED_NOISE = 0.012                # std of the ordinary deed/area mismatch
DEED_LARGE_DIFF_SHARE = 0.02      # deed off by 15-40 %
DEED_NULL_SHARE = 0.01

ZONING = {
    "R111": ("مسکونی کم\u200cتراکم", "Low-density residential"),
    "R121": ("مسکونی با تراکم متوسط", "Medium-density residential"),
    "R131": ("مسکونی پرتراکم", "High-density residential"),
    "C1": ("تجاری محلی", "Local commercial"),
    "C2": ("تجاری-خدماتی حاشیه معابر اصلی", "Main-road commercial and services"),
    "M1": ("مختلط (هسته بازار)", "Mixed use (bazaar core)"),
    "H": ("بافت تاریخی", "Historic fabric"),
    "G": ("فضای سبز و حریم حفاظتی", "Green space and protected corridor"),
    "I1": ("صنعتی سبک", "Light industrial"),
    "P": ("خدمات عمومی", "Public services"),
}

# Each zone code's colour on the map and in QGIS: data the loader stores with the zones (zoning_zone.colour), as a
# real city's zoning file may carry its own; the code only has a fallback palette for codes without one.
ZONE_COLOURS = {"R111": "#fdd835", "R121": "#f9a825", "R131": "#f57f17", "C1": "#ff7043", "C2": "#d84315",
                "M1": "#8e24aa", "H": "#6d4c41", "G": "#2e7d32", "I1": "#546e7a", "P": "#1565c0"}

POSTAL_PREFIXES = ("7481", "7483", "7484", "7485", "7486", "7487", "7488", "7489", "7491")
POSTAL_FIFTH = "1346789"
POSTAL_REST = "013456789"
MOBILE_PREFIXES = (("0917", 0.55), ("0912", 0.06), ("0913", 0.05), ("0935", 0.1),
                   ("0936", 0.07), ("0939", 0.05), ("0901", 0.05), ("0990", 0.04),
                   ("0921", 0.03))

KIND_ROW, KIND_BIG, KIND_DEEP, KIND_DE_COL, KIND_DE_TIP = range(5)


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CityParams:
    """What to generate. ``layers=None`` means every layer plus the DEM."""

    parcels: int = 20000
    seed: int = 1404
    srid: int = 32640
    center_lon: float = 54.553
    center_lat: float = 28.755
    layers: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.parcels < 100:
            raise ValueError("parcels must be at least 100")
        if self.parcels > MAX_PARCELS:
            raise ValueError(f"parcels above {MAX_PARCELS:,} exceed the renewal-code widths")
        if self.seed < 0:
            raise ValueError("seed must be non-negative")
        if self.layers is not None:
            layers = frozenset(self.layers)
            unknown = layers - set(ALL_LAYERS) - {DEM_LAYER}
            if unknown:
                raise ValueError(f"unknown layers: {sorted(unknown)}")
            object.__setattr__(self, "layers", layers)

    def wants(self, layer: str) -> bool:
        return self.layers is None or layer in self.layers


@dataclass
class CityResult:
    """Where the output went and how many features each layer got."""

    gpkg_path: Path
    dem_path: Path | None
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    extent: tuple[float, float, float, float] | None = None


def generate_city(params: CityParams, out_dir: Path, progress: bool = False) -> CityResult:
    """Generate the town described by ``params`` into ``out_dir``.

    Writes ``out_dir/demo_city.gpkg`` (only the requested layers) and, when all
    layers or the ``"dem"`` pseudo-layer are requested, ``out_dir/dem.tif``.
    Identical params give identical layer contents.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = [name for name in ALL_LAYERS if params.wants(name)]
    bar = _Progress(progress, total=4 + len(wanted) + (1 if params.wants(DEM_LAYER) else 0))

    bar.next("street grid")
    town = _Town(params)
    bar.next("lot layout")
    town.plan  # noqa: B018 - forces the two-pass layout
    bar.next("parcels")
    town.parcel_table  # noqa: B018
    bar.next("writing")

    gpkg_path = out_dir / "demo_city.gpkg"
    tmp_path = out_dir / f".demo_city.{os.getpid()}.tmp.gpkg"
    counts: dict[str, int] = {}
    try:
        for name in wanted:
            bar.next(name)
            frame = getattr(town, f"layer_{name}")()
            _write_layer(frame, tmp_path, name, params.srid)
            counts[name] = len(frame)
        if wanted:
            os.replace(tmp_path, gpkg_path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()

    dem_path = None
    if params.wants(DEM_LAYER):
        bar.next("dem")
        dem_path = out_dir / "dem.tif"
        town.write_dem(dem_path)
    bar.close()
    return CityResult(gpkg_path=gpkg_path, dem_path=dem_path, counts=counts,
                      seconds=time.perf_counter() - started, extent=town.world_extent)


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

class _Progress:
    """A step-level tqdm bar on stderr (silent unless enabled)."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="demo city", unit="step", file=sys.stderr)
        self.started = False

    def next(self, label: str) -> None:
        if self.bar is None:
            return
        if self.started:
            self.bar.update(1)
        self.started = True
        self.bar.set_postfix_str(label)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.close()


def _rng(seed: int, stream: str) -> np.random.Generator:
    """An independent random stream per component, so components never shift
    each other's draws (asking for fewer layers keeps parcels identical)."""
    return np.random.default_rng([int(seed), zlib.crc32(stream.encode())])


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _norm(a: np.ndarray) -> np.ndarray:
    return np.hypot(a[..., 0], a[..., 1])


def _bilinear(q: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Point at (u, v) of quadrilateral(s) ``q`` [..., (Q00, Q10, Q11, Q01), 2].

    Written so that u, v in {0, 1} return the corners bit-exactly and equal
    (q, u, v) always give equal points: shared lot vertices coincide exactly.
    """
    u = u[..., None]
    v = v[..., None]
    return (((1.0 - u) * (1.0 - v)) * q[..., 0, :] + (u * (1.0 - v)) * q[..., 1, :]
            + (u * v) * q[..., 2, :] + ((1.0 - u) * v) * q[..., 3, :])


def _lerp(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> np.ndarray:
    """a at f=0 and b at f=1, both bit-exact."""
    return a * (1.0 - f) + b * f


def _categorical(u: np.ndarray, table: dict[str, float]) -> np.ndarray:
    """Inverse-CDF draw from a weight table using pre-drawn uniforms ``u``."""
    keys = np.array(list(table), dtype=object)
    cdf = np.cumsum(np.array(list(table.values()), dtype=float))
    cdf /= cdf[-1]
    return keys[np.minimum(np.searchsorted(cdf, u, side="right"), len(keys) - 1)]


def _weighted_pick(rng: np.random.Generator, spec: tuple, size: int) -> np.ndarray:
    values, weights = spec
    p = np.asarray(weights, float)
    return np.asarray(values, float)[rng.choice(len(values), size=size, p=p / p.sum())]


def _ragged_arange(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner index, index within owner) for ``counts[i]`` items per owner."""
    owner = np.repeat(np.arange(len(counts)), counts)
    start = np.cumsum(counts) - counts
    return owner, np.arange(owner.size) - start[owner]


def _as_multi(geoms: np.ndarray) -> np.ndarray:
    """Polygons/MultiPolygons -> MultiPolygons (GeoPackage layers are typed)."""
    geoms = np.asarray(geoms, dtype=object)
    parts, index = shapely.get_parts(geoms, return_index=True)
    keep = shapely.get_type_id(parts) == 3
    return shapely.multipolygons(parts[keep], indices=index[keep])


def _persian_code(*parts: object) -> str:
    return NM.to_persian_digits(" ".join(str(p) for p in parts))


# ---------------------------------------------------------------------------
# The town
# ---------------------------------------------------------------------------

@dataclass
class _Grid:
    """The warped street grid: nodes, cells and node-to-node edges."""

    nx: int
    ny: int
    nodes: np.ndarray          # (nx+1, ny+1, 2) local coordinates
    col_main: np.ndarray       # (nx+1,) column line is a main road
    row_main: np.ndarray       # (ny+1,)
    cx0: int                   # central column / row line index
    cy0: int

    @property
    def n_cells(self) -> int:
        return self.nx * self.ny

    @property
    def n_h(self) -> int:
        return self.nx * (self.ny + 1)

    @property
    def n_edges(self) -> int:
        return self.n_h + (self.nx + 1) * self.ny

    def cell_ij(self) -> tuple[np.ndarray, np.ndarray]:
        c = np.arange(self.n_cells)
        return c // self.ny, c % self.ny

    def h_edge(self, i, j):
        return i * (self.ny + 1) + j

    def v_edge(self, i, j):
        return self.n_h + i * self.ny + j

    def cell_edges(self) -> np.ndarray:
        """(n_cells, 4) edge ids of each cell: bottom, right, top, left."""
        i, j = self.cell_ij()
        return np.stack([self.h_edge(i, j), self.v_edge(i + 1, j),
                         self.h_edge(i, j + 1), self.v_edge(i, j)], axis=1)

    def cell_corners(self) -> np.ndarray:
        """(n_cells, 4, 2) corners P00, P10, P11, P01 (counter-clockwise)."""
        n = self.nodes
        return np.stack([n[:-1, :-1], n[1:, :-1], n[1:, 1:], n[:-1, 1:]], axis=2).reshape(-1, 4, 2)

    def edge_table(self) -> dict[str, np.ndarray]:
        """Endpoints, grid line and position along the line of every edge."""
        nx, ny = self.nx, self.ny
        hi, hj = np.meshgrid(np.arange(nx), np.arange(ny + 1), indexing="ij")
        vi, vj = np.meshgrid(np.arange(nx + 1), np.arange(ny), indexing="ij")
        hi, hj, vi, vj = hi.ravel(), hj.ravel(), vi.ravel(), vj.ravel()
        a = np.concatenate([self.nodes[hi, hj], self.nodes[vi, vj]])
        b = np.concatenate([self.nodes[hi + 1, hj], self.nodes[vi, vj + 1]])
        line = np.concatenate([hj, ny + 1 + vi])
        pos = np.concatenate([hi, vj])
        main = np.concatenate([self.row_main[hj], self.col_main[vi]])
        return {"a": a, "b": b, "line": line, "pos": pos, "main": main,
                "horizontal": np.arange(self.n_edges) < self.n_h}

    def edge_cells(self) -> np.ndarray:
        """(n_edges, 2) the cells on either side of each edge (-1 outside)."""
        out = np.full((self.n_edges, 2), -1, dtype=np.int64)
        i, j = self.cell_ij()
        c = np.arange(self.n_cells)
        out[self.h_edge(i, j), 1] = c          # cell above its bottom edge
        out[self.h_edge(i, j + 1), 0] = c      # cell below its top edge
        out[self.v_edge(i, j), 1] = c          # cell right of its left edge
        out[self.v_edge(i + 1, j), 0] = c      # cell left of its right edge
        return out


@dataclass
class _River:
    """A meandering river as a function of the distance along its axis, so the
    DEM can carve its valley with plain numpy (no geometry per pixel)."""

    axis: np.ndarray          # unit vector of the (downstream) axis
    offset: float
    waves: list[tuple[float, float, float]]
    hw_wave: tuple[float, float]

    def to_frame(self, x, y):
        s = x * self.axis[0] + y * self.axis[1]
        n = -x * self.axis[1] + y * self.axis[0]
        return s, n

    def centre_n(self, s):
        out = np.full_like(np.asarray(s, float), self.offset)
        for amp, lam, phi in self.waves:
            out = out + amp * np.sin(2 * np.pi * s / lam + phi)
        return out

    def floodplain_half(self, s):
        lam, phi = self.hw_wave
        return FLOODPLAIN_HALF_M[0] + FLOODPLAIN_HALF_M[1] * np.sin(2 * np.pi * s / lam + phi)

    def points(self, s: np.ndarray, n: np.ndarray) -> np.ndarray:
        normal = np.array([-self.axis[1], self.axis[0]])
        return s[:, None] * self.axis[None, :] + n[:, None] * normal[None, :]


@dataclass
class _Plan:
    """One complete lot layout over all candidate cells (see ``_Town._layout``)."""

    ctx: np.ndarray
    priority: np.ndarray
    block_a: np.ndarray
    block_b: np.ndarray
    block_priority: np.ndarray
    cell_block: np.ndarray
    merged_l: np.ndarray        # cell is the lower half of a deep block
    merged_u: np.ndarray
    q: np.ndarray               # inset quads (n_cells, 4, 2)
    strips: dict[str, np.ndarray]
    dead_ends: dict[str, np.ndarray]
    lots: dict[str, np.ndarray]
    block_lots: np.ndarray
    selected: np.ndarray        # block selected for the town
    cutoff: float               # priority of the outermost selected block
    scale: float                # priority normalisation used for this plan


class _Town:
    """All generated data, computed lazily layer by layer."""

    def __init__(self, params: CityParams) -> None:
        from pyproj import Transformer

        from pyproj import CRS

        self.p = params
        crs = CRS.from_epsg(params.srid)
        if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
            raise ValueError(f"EPSG:{params.srid} is not a projected CRS in metres")
        tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        self.origin = np.array(tr.transform(params.center_lon, params.center_lat), float)
        self.radius = math.sqrt(params.parcels * GROSS_M2_PER_PARCEL / math.pi)
        self.core_radius = float(np.clip(CORE_RADIUS_FRACTION * self.radius, *CORE_RADIUS_M))
        rng = _rng(params.seed, "shape")
        self.shape_phase = rng.uniform(0, 2 * np.pi, 3)
        self.core_phase = rng.uniform(0, 2 * np.pi, 2)
        self.industrial_angle = math.radians(rng.uniform(-70, -20))
        self.newtown_angle = math.radians(rng.uniform(150, 210))
        self.grid = self._build_grid(half=1.8 * self.radius + 400.0)
        self.river = self._build_river()
        self._cells()

    # -- grid -----------------------------------------------------------------

    def _axis_lines(self, rng, half, size_range, every):
        """Positions of parallel grid lines with irregular main-road spacing."""
        mean_gap = sum(size_range) / 2 + RESERVE_LOCAL_M
        n = 2 * int(math.ceil(half / mean_gap)) + 2
        c0 = n // 2
        main = np.zeros(n + 1, bool)
        main[c0] = True
        for sign in (1, -1):
            steps = c0 + sign * np.cumsum(rng.integers(every[0], every[1] + 1, size=n))
            main[steps[(steps >= 0) & (steps <= n)]] = True
        reserve = np.where(main, RESERVE_MAIN_M, RESERVE_LOCAL_M)
        reserve[c0] = RESERVE_CENTRAL_M
        gaps = rng.uniform(*size_range, size=n) + (reserve[:-1] + reserve[1:]) / 2
        pos = np.concatenate([[0.0], np.cumsum(gaps)])
        return pos - pos[c0], main, c0

    def _build_grid(self, half: float) -> _Grid:
        """Lay out the index-space grid, then bend it into a town."""
        rng = _rng(self.p.seed, "grid")
        xs, col_main, cx0 = self._axis_lines(rng, half, CELL_LENGTH_M, MAIN_EVERY_COLS)
        ys, row_main, cy0 = self._axis_lines(rng, half, CELL_DEPTH_M, MAIN_EVERY_ROWS)
        x, y = np.meshgrid(xs, ys, indexing="ij")

        # Fisheye: compress the core by CORE_COMPRESSION, relax to 1 outside.
        a = CORE_COMPRESSION
        inner = 0.75 * self.core_radius / a
        outer = inner + 2.5 * self.core_radius / a
        r = np.hypot(x, y)
        g = a + (1 - a) * _smoothstep((r - inner) / (outer - inner))
        x, y = x * g, y * g

        # Smooth warp: a few sine waves, gentle enough never to fold the grid.
        for lam in (0.9 * max(self.radius, 1500.0), 2200.0, 1300.0, 800.0):
            psi, phi, dire = rng.uniform(0, 2 * np.pi, 3)
            amp = WARP_SLOPE * lam / (2 * np.pi)
            wave = amp * np.sin(2 * np.pi / lam * (x * np.cos(psi) + y * np.sin(psi)) + phi)
            x, y = x + wave * np.cos(dire), y + wave * np.sin(dire)

        theta = math.radians(rng.uniform(-GRID_ROTATION_DEG, GRID_ROTATION_DEG))
        x, y = x * math.cos(theta) - y * math.sin(theta), x * math.sin(theta) + y * math.cos(theta)

        sigma = np.where(np.hypot(x, y) < 1.3 * self.core_radius, CORE_NODE_JITTER_M, NODE_JITTER_M)
        jitter = np.clip(rng.standard_normal((2,) + x.shape), -2, 2) * sigma
        nodes = np.stack([x + jitter[0], y + jitter[1]], axis=-1)
        return _Grid(nx=len(xs) - 1, ny=len(ys) - 1, nodes=nodes, col_main=col_main,
                     row_main=row_main, cx0=cx0, cy0=cy0)

    def _build_river(self) -> _River:
        """A seasonal river coming down from the northern hills, passing the
        old town on one side (old towns sit beside, not in, the river bed)."""
        rng = _rng(self.p.seed, "river")
        ang = math.radians(-90 + rng.uniform(-25, 25))
        axis = np.array([math.cos(ang), math.sin(ang)])
        offset = rng.choice([-1, 1]) * (1.1 * self.core_radius + rng.uniform(40, 120))
        waves = [(rng.uniform(60, 120), rng.uniform(900, 1600), rng.uniform(0, 2 * np.pi)),
                 (rng.uniform(20, 50), rng.uniform(300, 500), rng.uniform(0, 2 * np.pi))]
        return _River(axis=axis, offset=float(offset), waves=waves,
                      hw_wave=(rng.uniform(700, 1400), rng.uniform(0, 2 * np.pi)))

    def _cells(self) -> None:
        """Per-cell geometry facts that do not depend on the layout."""
        g = self.grid
        self.corners = g.cell_corners()
        self.cell_edges = g.cell_edges()
        self.edges = g.edge_table()
        self.edge_cells = g.edge_cells()
        d = np.roll(self.corners, -1, axis=1) - self.corners
        turn = _cross(d, np.roll(d, -1, axis=1))
        self.cell_ok = np.all(turn > 0, axis=1)
        centre = self.corners.mean(axis=1)
        self.centre = centre
        self.cell_r = _norm(centre)
        self.cell_theta = np.arctan2(centre[:, 1], centre[:, 0])
        th = self.cell_theta
        shape = 1.0 + sum(a * np.sin(k * th + ph) for a, k, ph in
                          zip(TOWN_SHAPE_NOISE, (2, 3, 5), self.shape_phase))
        shape = shape * (1.0 - NORTH_FLATTEN * np.maximum(0.0, np.sin(th)) ** 2)
        self.cell_priority = self.cell_r / (self.radius * shape)
        core_shape = 1.0 + 0.15 * np.sin(3 * th + self.core_phase[0]) + 0.08 * np.sin(5 * th + self.core_phase[1])
        self.cell_core = self.cell_r < self.core_radius * core_shape
        self.cell_river = self._river_cells(centre)
        self._edge_widths()

    def _river_cells(self, centre: np.ndarray) -> np.ndarray:
        """Cells touching the river channel (no parcels in the channel)."""
        s, n = self.river.to_frame(centre[:, 0], centre[:, 1])
        near = np.abs(n - self.river.centre_n(s)) < 300.0
        near &= self.cell_priority < CANDIDATE_PRIORITY * 1.5
        out = np.zeros(len(centre), bool)
        idx = np.flatnonzero(near)
        if idx.size:
            line = self._river_line(float(s[idx].min()) - 500, float(s[idx].max()) + 500)
            shapely.prepare(line)
            polys = shapely.polygons(self.corners[idx])
            out[idx] = shapely.dwithin(polys, line, RIVER_CHANNEL_HALF_M + RIVER_CLEARANCE_M)
        return out

    def _river_line(self, s0: float, s1: float) -> shapely.LineString:
        s = np.arange(s0, s1 + 10.0, 10.0)
        return shapely.linestrings(self.river.points(s, self.river.centre_n(s)))

    def _edge_widths(self) -> None:
        """Street chunks (future street names) and their widths per edge."""
        g = self.grid
        rng = _rng(self.p.seed, "widths")
        e = self.edges
        n_lines = g.ny + 1 + g.nx + 1
        chunk = np.zeros(g.n_edges, np.int64)
        line_width = np.where(np.concatenate([g.row_main, g.col_main]),
                              _weighted_pick(rng, MAIN_WIDTHS, n_lines), 0.0)
        central = np.array([g.cy0, g.ny + 1 + g.cx0])
        line_width[central] = _weighted_pick(rng, CENTRAL_WIDTHS, 2)
        order = np.lexsort((e["pos"], e["line"]))
        line_sorted = e["line"][order]
        starts = np.searchsorted(line_sorted, np.arange(n_lines))
        next_chunk = 0
        for line in range(n_lines):
            idx = order[starts[line]:(starts[line + 1] if line + 1 < n_lines else len(order))]
            if line_width[line] > 0:
                lens = np.full(len(idx) // MAIN_CHUNK_SEGMENTS + 1, MAIN_CHUNK_SEGMENTS)
            else:
                lens = rng.integers(LOCAL_CHUNK_SEGMENTS[0], LOCAL_CHUNK_SEGMENTS[1] + 1,
                                    size=len(idx) // LOCAL_CHUNK_SEGMENTS[0] + 1)
            ids = np.repeat(np.arange(len(lens)), lens)[:len(idx)]
            chunk[idx] = next_chunk + ids
            next_chunk += len(lens)
        n_chunks = next_chunk
        mid = np.zeros((n_chunks, 2))
        cnt = np.bincount(chunk, minlength=n_chunks)
        for k in range(2):
            mid[:, k] = np.bincount(chunk, weights=(e["a"][:, k] + e["b"][:, k]) / 2, minlength=n_chunks)
        mid /= np.maximum(cnt, 1)[:, None]
        in_core = _norm(mid) < 1.15 * self.core_radius
        chunk_w = np.where(in_core, _weighted_pick(rng, CORE_LOCAL_WIDTHS, n_chunks),
                           _weighted_pick(rng, LOCAL_WIDTHS, n_chunks))
        width = np.where(e["main"], line_width[e["line"]], chunk_w[chunk])
        self.edge_chunk = chunk
        self.edge_width = width
        self.edge_main = e["main"]

    # -- contexts and layout ---------------------------------------------------

    def _contexts(self, pr: np.ndarray) -> np.ndarray:
        """Neighbourhood context of each cell for a normalised priority."""
        g = self.grid
        i, j = g.cell_ij()
        ctx = np.full(g.n_cells, CTX_STD, np.int8)

        def ang_dist(target):
            return np.abs((self.cell_theta - target + np.pi) % (2 * np.pi) - np.pi)

        newtown = ((pr >= NEWTOWN_RANGE[0]) & (pr < NEWTOWN_RANGE[1])
                   & (ang_dist(self.newtown_angle) < math.radians(NEWTOWN_HALF_ANGLE)))
        ctx[newtown] = CTX_NEWTOWN
        ctx[pr >= PERIPHERY_FROM] = CTX_PERIPHERY
        industrial = (pr >= INDUSTRIAL_FROM) & (ang_dist(self.industrial_angle) < math.radians(INDUSTRIAL_HALF_ANGLE))
        ctx[industrial] = CTX_INDUSTRIAL
        ctx[self.cell_core] = CTX_CORE
        on_axis = np.isin(j, (g.cy0 - 1, g.cy0)) | np.isin(i, (g.cx0 - 1, g.cx0))
        ctx[self.cell_core & on_axis & (self.cell_r < 0.7 * self.core_radius)] = CTX_BAZAAR
        return ctx

    @cached_property
    def plan(self) -> _Plan:
        """Plan once to find the outline for N parcels, then plan for real with
        contexts measured against that outline."""
        scale = 1.0
        for _ in range(PLAN_PASSES):
            plan = self._layout(scale)
            if abs(plan.cutoff - 1.0) < PLAN_TOLERANCE:
                break
            scale *= plan.cutoff ** 0.5   # damped: outer lots are larger
        return plan

    def _layout(self, scale: float) -> _Plan:
        g = self.grid
        rng = _rng(self.p.seed, "layout")
        pr = self.cell_priority / scale
        ctx = self._contexts(pr)
        cand = self.cell_ok & ~self.cell_river & (pr < CANDIDATE_PRIORITY)

        # Deep blocks: merge cell (i, j) with (i, j+1) across a local street.
        i, j = g.cell_ij()
        parity = rng.integers(0, 2, size=g.nx)[i]
        u_merge = rng.random(g.n_cells)
        lower = np.flatnonzero(((j - parity) % 2 == 0) & (j + 1 < g.ny))
        upper = lower + 1
        ok = (cand[lower] & cand[upper] & ~g.row_main[j[lower] + 1]
              & (ctx[lower] == ctx[upper])
              & (u_merge[lower] < np.asarray(MERGE_PROB)[ctx[lower]]))
        lower, upper = lower[ok], upper[ok]
        merged_l = np.zeros(g.n_cells, bool)
        merged_u = np.zeros(g.n_cells, bool)
        merged_l[lower] = True
        merged_u[upper] = True
        partner = np.full(g.n_cells, -1)
        partner[lower] = upper

        # Street corridors: shrink each cell by half the street widths.
        hw = self.edge_width[self.cell_edges] / 2
        hw[merged_l, 2] = 0.0
        hw[merged_u, 0] = 0.0
        q, q_ok = _inset(self.corners, hw)
        cell_ok = cand & q_ok
        block_a = np.flatnonzero(cand & ~merged_u)
        block_b = partner[block_a]
        good = cell_ok[block_a] & ((block_b < 0) | cell_ok[np.maximum(block_b, 0)])
        block_a, block_b = block_a[good], block_b[good]
        cell_block = np.full(g.n_cells, -1)
        cell_block[block_a] = np.arange(len(block_a))
        cell_block[block_b[block_b >= 0]] = np.flatnonzero(block_b >= 0)
        block_priority = np.where(block_b >= 0, np.minimum(pr[block_a], pr[np.maximum(block_b, 0)]), pr[block_a])

        strips, dead_ends = self._strips(rng, q, ctx, block_a, block_b)
        lots = self._subdivide(rng, q, ctx, strips)
        lots["block"] = cell_block[lots["cell"]]
        block_lots = np.bincount(lots["block"][lots["valid"]], minlength=len(block_a))

        order = np.argsort(block_priority, kind="stable")
        cum = np.cumsum(block_lots[order])
        target = self.p.parcels
        k = int(np.searchsorted(cum, target, side="right"))
        if k < len(cum) and (k == 0 or cum[k] - target < target - cum[k - 1]):
            k += 1
        if k == 0 or k >= len(cum):
            raise RuntimeError(
                f"not enough candidate blocks: {int(cum[-1]) if len(cum) else 0} lots in "
                f"{len(block_a)} blocks for {target} parcels ({int(lots['valid'].sum())} of "
                f"{len(lots['valid'])} lots have a valid area)")
        selected = np.zeros(len(block_a), bool)
        selected[order[:k]] = True
        return _Plan(ctx=ctx, priority=pr, block_a=block_a, block_b=block_b,
                     block_priority=block_priority, cell_block=cell_block,
                     merged_l=merged_l, merged_u=merged_u, q=q, strips=strips,
                     dead_ends=dead_ends, lots=lots, block_lots=block_lots,
                     selected=selected, cutoff=float(block_priority[order[k - 1]]), scale=scale)

    def _strips(self, rng, q, ctx, block_a, block_b):
        """Split every planned cell into strips (rows of lots), big public lots
        and dead-end lanes with their columns of lots."""
        buf: list[dict[str, np.ndarray]] = []
        edges = self.cell_edges
        width = self.edge_width

        def add(cell, ua, ub, va, vb, axis, side, fkind, fref, kind, fixed=False):
            n = len(cell)
            keep = (np.asarray(ub) - np.asarray(ua) > 1e-9) & (np.asarray(vb) - np.asarray(va) > 1e-9)
            col = {"cell": cell, "ua": ua, "ub": ub, "va": va, "vb": vb, "axis": axis,
                   "side": side, "fkind": fkind, "fref": fref, "kind": kind, "fixed": fixed}
            buf.append({k: np.broadcast_to(np.asarray(v), (n,))[keep].copy() for k, v in col.items()})

        def dims(cells):
            qq = q[cells]
            length = _norm((qq[:, 1] + qq[:, 2]) / 2 - (qq[:, 0] + qq[:, 3]) / 2)
            depth = _norm((qq[:, 3] + qq[:, 2]) / 2 - (qq[:, 0] + qq[:, 1]) / 2)
            return length, depth

        # Ordinary cells: two rows of lots (one when shallow), maybe a big lot.
        sc = block_a[block_b < 0]
        n = len(sc)
        length, depth = dims(sc)
        u = rng.random((5, n))
        single = depth < SINGLE_ROW_DEPTH_M
        m = np.where(single, 1.0, np.clip(0.5 + 0.05 * rng.standard_normal(n), 0.38, 0.62))
        bottom_wider = width[edges[sc, 0]] >= width[edges[sc, 2]]
        c = ctx[sc]
        big_w = np.clip(np.minimum((BIG_LOT_AREA_M2[0] + u[1] * np.diff(BIG_LOT_AREA_M2)) / depth,
                                   1500.0 / depth), 16.0, 0.45 * length)
        big = (u[0] < np.asarray(BIG_LOT_PROB)[c]) & (length >= 60) & (big_w * depth < 1800)
        wf = big_w / length
        a = u[2] * (1 - wf)
        a = np.where(a < 0.08, 0.0, a)
        end = 1 - (a + wf) < 0.08
        a = np.where(end, 1 - wf, a)
        b = np.where(end, 1.0, a + wf)
        a = np.where(big, a, 1.0)
        b = np.where(big, b, 1.0)
        zero, one = np.zeros(n), np.ones(n)
        single_side = np.where(bottom_wider, 0, 1)
        front_side = np.where(single, single_side, 0)
        front_ref = np.where(front_side == 0, edges[sc, 0], edges[sc, 2])
        for ua, ub in ((zero, a), (b, one)):
            add(sc, ua, ub, zero, m, 0, front_side, 0, front_ref, KIND_ROW)
            add(sc, ua, ub, m, one, 0, 1, 0, edges[sc, 2], KIND_ROW)
        big_ref = np.where(bottom_wider, edges[sc, 0], edges[sc, 2])
        add(sc[big], a[big], b[big], zero[big], one[big], 0, single_side[big], 0, big_ref[big],
            KIND_BIG, True)

        # Deep blocks: each half gets deep lots or a dead-end lane.
        de_rows = []
        for cells, flip in ((block_a[block_b >= 0], False), (block_b[block_b >= 0], True)):
            n = len(cells)
            length, depth = dims(cells)
            u = rng.random((7, n))
            front_edge = edges[cells, 2 if flip else 0]
            side = 1 if flip else 0
            wd = _weighted_pick(rng, DEAD_END_WIDTHS, n)
            h = wd / 2 / length
            dl = (DEAD_END_COLUMN_M[0] + u[1] * np.diff(DEAD_END_COLUMN_M)) / length
            dr = (DEAD_END_COLUMN_M[0] + u[2] * np.diff(DEAD_END_COLUMN_M)) / length
            tip = DEAD_END_TIP_M[0] + u[3] * np.diff(DEAD_END_TIP_M)
            t = 1 - tip / depth
            lo = h + dl + 12.0 / length
            hi = 1 - (h + dr + 12.0 / length)
            has = ((u[0] < np.asarray(DEAD_END_PROB)[ctx[cells]]) & (lo < hi)
                   & (t * depth >= DEAD_END_MIN_LENGTH_M))
            plain = cells[~has]
            zeros = np.zeros(len(plain))
            add(plain, zeros, zeros + 1, zeros, zeros + 1, 0, side, 0, front_edge[~has], KIND_DEEP)

            cells, h, dl, dr, t = cells[has], h[has], dl[has], dr[has], t[has]
            uc = lo[has] + u[4][has] * (hi[has] - lo[has])
            x1, x2, x3, x4 = uc - h - dl, uc - h, uc + h, uc + h + dr
            ids = sum(len(r["cell"]) for r in de_rows) + np.arange(len(cells))
            de_rows.append({"cell": cells, "uc": uc, "t": t, "width": wd[has],
                            "flip": np.full(len(cells), flip), "edge": front_edge[has],
                            "x2": x2, "x3": x3})
            z, o = np.zeros(len(cells)), np.ones(len(cells))
            # v ranges of the lane side (0..t) and of the tip (t..1), mirrored when flipped
            lane_v = (1 - t, o) if flip else (z, t)
            tip_v = (z, 1 - t) if flip else (t, o)
            add(cells, z, x1, z, o, 0, side, 0, front_edge[has], KIND_DEEP)
            add(cells, x4, o, z, o, 0, side, 0, front_edge[has], KIND_DEEP)
            add(cells, x1, x2, *lane_v, 1, 1, 1, ids, KIND_DE_COL)
            add(cells, x3, x4, *lane_v, 1, 0, 1, ids, KIND_DE_COL)
            add(cells, x1, x4, *tip_v, 0, side, 1, ids, KIND_DE_TIP, True)

        strips = {k: np.concatenate([b[k] for b in buf]) for k in buf[0]}
        for k in ("axis", "side", "fkind", "kind"):
            strips[k] = strips[k].astype(np.int8)
        dead_ends = {k: np.concatenate([r[k] for r in de_rows]) for k in de_rows[0]}
        return strips, dead_ends

    def _subdivide(self, rng, q, ctx, s):
        """Cut every strip into lots along its axis (ragged, vectorised).

        The lot count keeps the mean lot area inside the design bounds; the
        widths vary by LOT_WIDTH_JITTER and interior lot lines get a slight
        slant. Lots are kept as (u, v) vertices of their cell's inset quad.
        """
        ns = len(s["cell"])
        qq = q[s["cell"]]
        c0 = _bilinear(qq, s["ua"], s["va"])
        c1 = _bilinear(qq, s["ub"], s["va"])
        c2 = _bilinear(qq, s["ub"], s["vb"])
        c3 = _bilinear(qq, s["ua"], s["vb"])
        along_u = (_norm(c1 - c0) + _norm(c2 - c3)) / 2
        along_v = (_norm(c3 - c0) + _norm(c2 - c1)) / 2
        axis1 = s["axis"] == 1
        length = np.where(axis1, along_v, along_u)
        depth = np.where(axis1, along_u, along_v)
        cctx = ctx[s["cell"]]
        u = rng.random((3, ns))
        f_lo = np.asarray(FRONTAGE_M, float)[cctx, 0]
        f_hi = np.asarray(FRONTAGE_M, float)[cctx, 1]
        front_main = (s["fkind"] == 0) & self.edge_main[np.where(s["fkind"] == 0, s["fref"], 0)]
        shops = front_main & (cctx != CTX_INDUSTRIAL) & (cctx != CTX_PERIPHERY)
        f_lo = np.where(shops, FRONTAGE_MAIN_M[0], f_lo)
        f_hi = np.where(shops, FRONTAGE_MAIN_M[1], f_hi)
        f_lo = np.where(s["kind"] == KIND_DE_COL, FRONTAGE_DEAD_END_M[0], f_lo)
        f_hi = np.where(s["kind"] == KIND_DE_COL, FRONTAGE_DEAD_END_M[1], f_hi)
        frontage = f_lo + u[0] * (f_hi - f_lo)
        area = length * depth
        n = np.rint(length / frontage)
        n_min = np.ceil(area / LOT_AREA_HIGH)
        n_max = np.maximum(np.floor(area / LOT_AREA_LOW), n_min)
        n = np.clip(n, n_min, n_max)
        n = np.where(s["fixed"], 1, np.maximum(n, 1)).astype(np.int64)

        strip, k = _ragged_arange(n)
        last = k == n[strip] - 1
        w = rng.uniform(1 - LOT_WIDTH_JITTER, 1 + LOT_WIDTH_JITTER, size=strip.size)
        cw = np.cumsum(w)
        start = np.cumsum(n) - n
        base = np.concatenate([[0.0], cw])[start][strip]
        total = (cw[np.cumsum(n) - 1] - np.concatenate([[0.0], cw])[start])[strip]
        hi = np.where(last, 1.0, (cw - base) / total)
        lo = np.concatenate([[0.0], hi[:-1]])
        lo[k == 0] = 0.0
        frac = w / total
        nxt = np.concatenate([frac[1:], [1.0]])
        sigma = np.asarray(SLANT_SIGMA_M)[cctx][strip] / length[strip]
        slant = np.clip(rng.standard_normal(strip.size) * sigma, -0.25 * np.minimum(frac, nxt),
                        0.25 * np.minimum(frac, nxt))
        slant[last | s["fixed"][strip]] = 0.0
        slant_lo = np.concatenate([[0.0], slant[:-1]])
        slant_lo[k == 0] = 0.0
        lo_a, lo_b, hi_a, hi_b = lo + slant_lo, lo - slant_lo, hi + slant, hi - slant
        # keep strip ends exact: f = 0 and f = 1 must reproduce ua/ub bit-exactly
        lo_a[k == 0] = lo_b[k == 0] = 0.0
        hi_a[last] = hi_b[last] = 1.0

        ua, ub, va, vb = (s[key][strip] for key in ("ua", "ub", "va", "vb"))
        ax1 = axis1[strip]
        pu = np.where(ax1[:, None],
                      np.stack([ua, ub, ub, ua], axis=1),
                      np.stack([_lerp(ua, ub, lo_a), _lerp(ua, ub, hi_a),
                                _lerp(ua, ub, hi_b), _lerp(ua, ub, lo_b)], axis=1))
        pv = np.where(ax1[:, None],
                      np.stack([_lerp(va, vb, lo_a), _lerp(va, vb, lo_b),
                                _lerp(va, vb, hi_b), _lerp(va, vb, hi_a)], axis=1),
                      np.stack([va, va, vb, vb], axis=1))
        cell = s["cell"][strip]
        world = _bilinear(q[cell][:, None], pu, pv)
        area = 0.5 * np.sum(_cross(world, np.roll(world, -1, axis=1)), axis=1)
        valid = (area >= PARCEL_AREA_MIN + 0.5) & (area <= PARCEL_AREA_MAX - 5.0)
        # the front edge: vertices (0,1) on side a, (2,3) on side b; for
        # axis-1 strips side a is u=ua (edge 3->0) and side b u=ub (edge 1->2)
        side = s["side"][strip]
        front_k = np.where(ax1, np.where(side == 0, 3, 1), np.where(side == 0, 0, 2))
        return {"strip": strip, "index": k, "cell": cell, "pu": pu, "pv": pv,
                "world": world, "area": area, "valid": valid, "front_k": front_k}

    # -- selection ---------------------------------------------------------------

    @cached_property
    def sel(self) -> dict[str, np.ndarray]:
        """Index arrays of what made it into the town."""
        pl = self.plan
        blocks = np.flatnonzero(pl.selected)
        lots = np.flatnonzero(pl.lots["valid"] & pl.selected[pl.lots["block"]])
        cells = np.concatenate([pl.block_a[blocks], pl.block_b[blocks][pl.block_b[blocks] >= 0]])
        cell_sel = np.zeros(self.grid.n_cells, bool)
        cell_sel[cells] = True
        de_sel = pl.selected[pl.cell_block[pl.dead_ends["cell"]]]
        return {"blocks": blocks, "lots": lots, "cell_mask": cell_sel, "dead_ends": np.flatnonzero(de_sel)}

    @cached_property
    def inside(self) -> np.ndarray:
        """Cells within the final town outline (selected or not, e.g. river)."""
        return self.plan.priority <= self.plan.cutoff

    @cached_property
    def world_extent(self) -> tuple[float, float, float, float]:
        pts = self.corners[self.sel["cell_mask"]].reshape(-1, 2)
        lo, hi = pts.min(axis=0) + self.origin, pts.max(axis=0) + self.origin
        return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))

    # -- districts, zones, block codes --------------------------------------------

    @cached_property
    def codes(self) -> dict[str, np.ndarray]:
        """District, zone and block numbers of the selected blocks, balanced by
        parcel count so the renewal-code widths hold at any N."""
        pl = self.plan
        blocks = self.sel["blocks"]
        lots = self.sel["lots"]
        # balance parcels and, through a per-block constant, block counts too:
        # periphery blocks hold few large lots and would overflow 999 per zone
        weight = np.bincount(pl.lots["block"][lots], minlength=len(pl.block_a))[blocks] + BLOCK_WEIGHT
        centre = self._block_centres(blocks)
        n = self.p.parcels
        nd = int(np.clip(round(math.sqrt(n / 1500)), 2, 9))
        nz = int(np.clip(math.ceil(n / nd / 1800), 2, 9))
        r = _norm(centre)
        theta = np.arctan2(centre[:, 1], centre[:, 0])
        district = np.zeros(len(blocks), np.int64)
        order = np.argsort(r, kind="stable")
        inner = np.cumsum(weight[order]) <= weight.sum() / nd
        inner[0] = True
        rest = order[~inner]
        # clockwise from north
        bearing = (np.pi / 2 - theta[rest]) % (2 * np.pi)
        ro = rest[np.argsort(bearing, kind="stable")]
        cum = np.cumsum(weight[ro]) / max(weight[ro].sum(), 1.0)
        district[ro] = 1 + np.minimum((cum * (nd - 1) - 1e-9).astype(np.int64), nd - 2)
        zone = np.zeros(len(blocks), np.int64)
        for d in range(nd):
            idx = np.flatnonzero(district == d)
            zone[idx] = _bisect_groups(centre[idx], weight[idx], nz)
        # blocks numbered in reading order (north to south, west to east) in a zone
        band = np.floor(-centre[:, 1] / 250.0)
        order = np.lexsort((centre[:, 0], band, zone, district))
        block_no = np.zeros(len(blocks), np.int64)
        key = district[order] * 100 + zone[order]
        first = np.concatenate([[True], key[1:] != key[:-1]])
        run_start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
        block_no[order] = np.arange(len(order)) - run_start + 1
        if block_no.max() > 999:
            raise RuntimeError("more than 999 blocks in a zone")
        full = np.full(len(pl.block_a), -1)
        full[blocks] = np.arange(len(blocks))
        return {"district": district + 1, "zone": zone + 1, "block_no": block_no,
                "block_index": full, "centre": centre}

    def _block_centres(self, blocks: np.ndarray) -> np.ndarray:
        pl = self.plan
        ca = self.centre[pl.block_a[blocks]]
        cb = self.centre[np.maximum(pl.block_b[blocks], 0)]
        return np.where((pl.block_b[blocks] >= 0)[:, None], (ca + cb) / 2, ca)

    # -- parcels ---------------------------------------------------------------

    @cached_property
    def parcel_table(self) -> dict[str, np.ndarray]:
        """Per-parcel arrays in renewal-code order (district, zone, block, lot)."""
        pl = self.plan
        lots = self.sel["lots"]
        L = pl.lots
        cd = self.codes
        bi = cd["block_index"][L["block"][lots]]
        order = np.lexsort((np.arange(len(lots)), cd["block_no"][bi], cd["zone"][bi], cd["district"][bi]))
        lots, bi = lots[order], bi[order]
        first = np.concatenate([[True], bi[1:] != bi[:-1]])
        run_start = np.maximum.accumulate(np.where(first, np.arange(len(lots)), 0))
        prop = np.arange(len(lots)) - run_start + 1
        if prop.max() > 999:
            raise RuntimeError("more than 999 parcels in a block")
        district, zone, block_no = cd["district"][bi], cd["zone"][bi], cd["block_no"][bi]
        renewal = np.char.add(np.char.add(np.char.add(np.char.add(np.char.add(
            np.char.add(np.char.add(district.astype("U1"), "-"), zone.astype("U1")), "-"),
            np.char.zfill(block_no.astype("U3"), 3)), "-"), np.char.zfill(prop.astype("U3"), 3)),
            "-0-0-0")
        cell = L["cell"][lots]
        strip = L["strip"][lots]
        s = pl.strips
        touches = self._lot_touches(lots)
        t = {"lot": lots, "block": bi, "district": district, "zone": zone, "block_no": block_no,
             "prop": prop, "renewal_code": renewal.astype(object), "cell": cell, "strip": strip,
             "ctx": pl.ctx[cell], "kind": s["kind"][strip], "area": L["area"][lots],
             "touches_main": touches["main"], "front_main": touches["front_main"]}
        t["land_use"] = self._land_use(t)
        t["postal_code"] = self._postal_codes(district)
        t.update(self._plates(t))
        t["deed_area"] = self._deed_areas(t["area"])
        return t

    def _lot_touches(self, lots: np.ndarray) -> dict[str, np.ndarray]:
        """Whether each lot borders a main road (any side) or fronts one."""
        pl = self.plan
        L = pl.lots
        pu, pv, cell = L["pu"][lots], L["pv"][lots], L["cell"][lots]
        side_hit = np.stack([np.any(pv == 0.0, axis=1), np.any(pu == 1.0, axis=1),
                             np.any(pv == 1.0, axis=1), np.any(pu == 0.0, axis=1)], axis=1)
        e = self.cell_edges[cell]
        street = self.edge_width[e] > 0
        street[:, 2] &= ~pl.merged_l[cell]
        street[:, 0] &= ~pl.merged_u[cell]
        main = np.any(side_hit & street & self.edge_main[e], axis=1)
        s = pl.strips
        strip = L["strip"][lots]
        front_main = (s["fkind"][strip] == 0) & self.edge_main[np.where(s["fkind"][strip] == 0, s["fref"][strip], 0)]
        return {"main": main, "front_main": front_main}

    def _land_use(self, t: dict[str, np.ndarray]) -> np.ndarray:
        """Land use per parcel: context mix, shops on main roads, public big lots."""
        u = _rng(self.p.seed, "land_use").random(len(t["lot"]))
        out = np.empty(len(u), dtype=object)
        ctx, kind, main = t["ctx"], t["kind"], t["touches_main"]
        main_mix = main & ~np.isin(ctx, (CTX_BAZAAR, CTX_INDUSTRIAL))
        for c, table in LAND_USE_MIX.items():
            m = (ctx == c) & ~main_mix
            out[m] = _categorical(u[m], table)
        out[main_mix] = _categorical(u[main_mix], LAND_USE_MAIN_ROAD)
        big = kind == KIND_BIG
        big_table = dict(LAND_USE_BIG_LOT)
        out[big] = _categorical(u[big], big_table)
        periph_big = big & (ctx == CTX_PERIPHERY)
        out[periph_big] = _categorical(u[periph_big], {**big_table, "gardens_agriculture": 40})
        return out

    def _postal_codes(self, district: np.ndarray) -> np.ndarray:
        """Unique 10-digit postal codes: a district prefix plus an affine
        permutation of the running number (looks random, never repeats)."""
        rng = _rng(self.p.seed, "postal")
        space = len(POSTAL_FIFTH) * len(POSTAL_REST) ** 5
        out = np.empty(len(district), dtype=object)
        for d in np.unique(district):
            idx = np.flatnonzero(district == d)
            if len(idx) > space:
                raise RuntimeError("too many parcels for one postal prefix")
            mult = int(rng.integers(space // 3, space))
            while math.gcd(mult, space) != 1:
                mult += 1
            x = (np.arange(len(idx), dtype=np.int64) * mult + int(rng.integers(0, space))) % space
            digits = [np.asarray(list(POSTAL_FIFTH))[x // len(POSTAL_REST) ** 5]]
            rest = x % len(POSTAL_REST) ** 5
            for p in range(4, -1, -1):
                digits.append(np.asarray(list(POSTAL_REST))[(rest // len(POSTAL_REST) ** p) % len(POSTAL_REST)])
            code = np.full(len(idx), POSTAL_PREFIXES[d - 1], dtype=object)
            for dg in digits:
                code = code + dg.astype(object)
            out[idx] = code
        return out

    def _plates(self, t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Registry plates: three sections by district, one main plate per
        block (or per few blocks in huge towns), sub plates numbered inside."""
        rng = _rng(self.p.seed, "plates")
        nd = int(t["district"].max())
        section = 1 + ((t["district"] - 1) * 3) // max(nd, 3)
        n_blocks = len(self.sel["blocks"])
        group = max(1, math.ceil(n_blocks / (3 * PLATE_MAINS_PER_SECTION)))
        block_key = t["block"]
        # blocks in renewal order; main plates rise by 1-3 within a section
        first = np.concatenate([[True], block_key[1:] != block_key[:-1]])
        block_rank = np.cumsum(first) - 1
        sec_of_block = section[first]
        main_of_block = np.zeros(first.sum(), np.int64)
        for sec in (1, 2, 3):
            idx = np.flatnonzero(sec_of_block == sec)
            if not len(idx):
                continue
            new_main = np.arange(len(idx)) % group == 0
            steps = rng.integers(1, 4, size=len(idx)) * new_main
            main_of_block[idx] = 100 + int(rng.integers(0, 60)) + np.cumsum(steps) - steps[0]
        plate_main = main_of_block[block_rank]
        key = section * 1_000_000 + plate_main
        order = np.lexsort((np.arange(len(key)), key))
        ks = key[order]
        kfirst = np.concatenate([[True], ks[1:] != ks[:-1]])
        gaps = rng.integers(1, 3, size=len(ks))
        gaps[kfirst] = rng.integers(1, 4, size=int(kfirst.sum()))
        cg = np.cumsum(gaps)
        run_base = np.maximum.accumulate(np.where(kfirst, cg - gaps, 0))
        sub = np.empty(len(ks), np.int64)
        sub[order] = cg - run_base
        return {"plate_section": section, "plate_main": plate_main, "plate_sub": sub}

    def _deed_areas(self, area: np.ndarray) -> np.ndarray:
        """Deed area = surveyed area with the usual small mismatch, a few large
        differences and a few unknowns."""
        rng = _rng(self.p.seed, "deed")
        n = len(area)
        factor = 1 + np.clip(DEED_NOISE * rng.standard_normal(n), -0.03, 0.03)
        large = rng.random(n) < DEED_LARGE_DIFF_SHARE
        factor[large] = 1 + rng.choice([-1, 1], size=int(large.sum())) * rng.uniform(0.15, 0.40, int(large.sum()))
        deed = np.round(area * factor, 2)
        deed[rng.random(n) < DEED_NULL_SHARE] = np.nan
        return deed

    @cached_property
    def parcel_geoms(self) -> np.ndarray:
        """Parcel polygons with exact shared edges (T-junctions inserted)."""
        pl = self.plan
        lots = self.parcel_table["lot"]
        L = pl.lots
        polys = _exact_lot_polygons(L["cell"][lots], L["pu"][lots], L["pv"][lots], L["world"][lots],
                                    pl.merged_l, pl.merged_u, self.cell_edges, self.edges, self.origin)
        bad = ~shapely.is_valid(polys)
        if bad.any():
            polys[bad] = shapely.make_valid(polys[bad])
        return polys

    # -- streets ---------------------------------------------------------------------

    @cached_property
    def streets(self) -> dict[str, np.ndarray]:
        """Street segments (node to node, split at dead-end junctions), grouped
        into named streets."""
        pl = self.plan
        g = self.grid
        cell_sel = self.sel["cell_mask"]
        ec = self.edge_cells
        adj_sel = np.any((ec >= 0) & cell_sel[np.maximum(ec, 0)], axis=1)
        interior = np.zeros(g.n_edges, bool)
        lows = np.flatnonzero(pl.merged_l & cell_sel)
        interior[self.cell_edges[lows, 2]] = True
        river_in = self.cell_river & self.inside
        # keep main roads across the river (bridges)
        adj_river = np.any((ec >= 0) & river_in[np.maximum(ec, 0)], axis=1)
        keep = (adj_sel | (self.edge_main & adj_river)) & ~interior
        kept = np.flatnonzero(keep)

        de = {k: v[self.sel["dead_ends"]] for k, v in pl.dead_ends.items()}
        junction, tip = self._dead_end_ends(de)
        a, b = self.edges["a"][de["edge"]], self.edges["b"][de["edge"]]
        d = b - a
        tj = np.clip(np.sum((junction - a) * d, axis=1) / np.sum(d * d, axis=1), 0.0, 1.0)

        # pieces of edges between consecutive split points
        e_all = np.concatenate([kept, de["edge"]])
        t_all = np.concatenate([np.zeros(len(kept)), tj])
        E = self.edges
        o = np.lexsort((t_all, E["pos"][e_all], E["line"][e_all]))
        e_all, t_all = e_all[o], t_all[o]
        t_end = np.concatenate([t_all[1:], [1.0]])
        same = np.concatenate([e_all[1:] == e_all[:-1], [False]])
        t_end = np.where(same, t_end, 1.0)
        line, pos = E["line"][e_all], E["pos"][e_all]
        chunk = self.edge_chunk[e_all]
        piece_a = np.where((t_all == 0.0)[:, None], E["a"][e_all], _lerp(E["a"][e_all], E["b"][e_all], t_all[:, None]))
        piece_b = np.where((t_end == 1.0)[:, None], E["b"][e_all], _lerp(E["a"][e_all], E["b"][e_all], t_end[:, None]))
        # street = run of consecutive positions on one line within one chunk
        new = np.ones(len(e_all), bool)
        new[1:] = (line[1:] != line[:-1]) | (chunk[1:] != chunk[:-1]) | (pos[1:] - pos[:-1] > 1)
        street = np.cumsum(new) - 1
        n_grid_streets = int(street[-1]) + 1
        kind = np.where(self.edge_main[e_all], "main", "local").astype(object)

        n_de = len(de["cell"])
        seg = {
            "edge": np.concatenate([e_all, np.full(n_de, -1)]),
            "t0": np.concatenate([t_all, np.zeros(n_de)]),
            "t1": np.concatenate([t_end, np.ones(n_de)]),
            "a": np.concatenate([piece_a, junction]),
            "b": np.concatenate([piece_b, tip]),
            "street": np.concatenate([street, n_grid_streets + np.arange(n_de)]),
            "kind": np.concatenate([kind, np.full(n_de, "dead_end", dtype=object)]),
            "width": np.concatenate([self.edge_width[e_all], de["width"]]),
            "dead_end": np.concatenate([np.full(len(e_all), -1), np.arange(n_de)]),
        }
        seg["street_id"] = np.arange(1, len(seg["edge"]) + 1)
        seg.update(self._street_names(seg))
        return seg

    def _dead_end_ends(self, de):
        """Junction (on the parent street's centreline) and tip of each lane."""
        q = self.plan.q[de["cell"]]
        flip = de["flip"]
        tip_v = np.where(flip, 1 - de["t"], de["t"])
        base_v = np.where(flip, 1.0, 0.0)
        tip = _bilinear(q, de["uc"], tip_v)
        base = _bilinear(q, de["uc"], base_v)
        a, b = self.edges["a"][de["edge"]], self.edges["b"][de["edge"]]
        d = base - tip
        e = b - a
        s = _cross(a - tip, e) / _cross(d, e)
        return tip + s[:, None] * d, tip

    def _street_names(self, seg) -> dict[str, np.ndarray]:
        """Persian names: prominent names near the centre, numbered repeats."""
        rng = _rng(self.p.seed, "street_names")
        street = seg["street"]
        n = int(street.max()) + 1
        mid = (seg["a"] + seg["b"]) / 2
        cnt = np.bincount(street, minlength=n)
        dist = np.hypot(np.bincount(street, mid[:, 0], n), np.bincount(street, mid[:, 1], n)) / cnt
        kind = np.empty(n, dtype=object)
        kind[street] = seg["kind"]
        width = np.zeros(n)
        width[street] = seg["width"]
        fa = np.empty(n, dtype=object)
        en = np.empty(n, dtype=object)
        pools = {"main": NM.MAIN_STREET_NAMES, "local": NM.LOCAL_STREET_NAMES,
                 "dead_end": NM.LOCAL_STREET_NAMES}
        for k, pool in pools.items():
            idx = np.flatnonzero(kind == k)
            idx = idx[np.argsort(dist[idx], kind="stable")]
            perm = np.arange(len(pool))
            if k == "main":
                perm[6:] = 6 + rng.permutation(len(pool) - 6)
            else:
                perm = rng.permutation(len(pool))
            pfa, pen = NM.STREET_PREFIX[k]
            for rank, s in enumerate(idx):
                base_fa, base_en = pool[perm[rank % len(pool)]]
                rep = rank // len(pool)
                fa[s] = f"{pfa} {base_fa}" + ("" if rep == 0 else f" {NM.to_persian_digits(rep + 1)}")
                en[s] = f"{base_en} {pen}" + ("" if rep == 0 else f" {rep + 1}")
        planned = np.full(n, np.nan)
        widen = rng.random(n) < PLANNED_WIDENING_SHARE
        extra = np.where(kind == "main", 5.0, np.where(kind == "dead_end", 2.0, rng.choice([2.0, 4.0, 6.0], n)))
        planned[widen] = width[widen] + extra[widen]
        return {"name": fa[street], "name_en": en[street], "planned_width": planned[street]}

    # -- layers -----------------------------------------------------------------------

    def _gdf(self, data: dict, geoms) -> "pd.DataFrame":
        import geopandas as gpd

        return gpd.GeoDataFrame(data, geometry=geoms, crs=f"EPSG:{self.p.srid}")

    def _world(self, geoms):
        return shapely.transform(geoms, lambda xy: xy + self.origin)

    def layer_parcels(self):
        t = self.parcel_table
        return self._gdf({
            "renewal_code": t["renewal_code"], "plate_section": t["plate_section"],
            "plate_main": t["plate_main"], "plate_sub": t["plate_sub"],
            "postal_code": t["postal_code"], "deed_area": t["deed_area"],
            "land_use": t["land_use"]}, _as_multi(self.parcel_geoms))

    @cached_property
    def block_geoms(self) -> np.ndarray:
        """Block polygons: inset quads of the cells, with the dead-end lane cut
        out as a notch, built from the very vertices the lots use."""
        pl = self.plan
        blocks = self.sel["blocks"]
        de = pl.dead_ends
        nc = self.grid.n_cells
        bx2, bx3, bt = np.zeros(nc), np.zeros(nc), np.zeros(nc)
        tx2, tx3, tt = np.ones(nc), np.ones(nc), np.ones(nc)
        lo = ~de["flip"]
        bx2[de["cell"][lo]], bx3[de["cell"][lo]], bt[de["cell"][lo]] = de["x2"][lo], de["x3"][lo], de["t"][lo]
        up = de["flip"]
        tx2[de["cell"][up]], tx3[de["cell"][up]], tt[de["cell"][up]] = de["x2"][up], de["x3"][up], 1 - de["t"][up]

        def ring(cells):
            z, o = np.zeros(len(cells)), np.ones(len(cells))
            c = cells
            u = np.stack([z, bx2[c], bx2[c], bx3[c], bx3[c], o, o, tx3[c], tx3[c], tx2[c], tx2[c], z], 1)
            v = np.stack([z, z, bt[c], bt[c], z, z, o, o, tt[c], tt[c], o, o], 1)
            return _bilinear(pl.q[c][:, None], u, v)

        a, b = pl.block_a[blocks], pl.block_b[blocks]
        ra = ring(a)
        rb = ring(np.maximum(b, 0))
        merged = (b >= 0)[:, None, None]
        single = np.concatenate([ra, np.repeat(ra[:, 11:12], 4, axis=1)], axis=1)
        deep = np.concatenate([ra[:, 0:7], rb[:, 5:6], rb[:, 6:12], rb[:, 0:1], ra[:, 11:12]], axis=1)
        coords = np.where(merged, deep, single) + self.origin
        polys = shapely.remove_repeated_points(shapely.polygons(coords), tolerance=0.0)
        bad = ~shapely.is_valid(polys)
        if bad.any():
            polys[bad] = shapely.make_valid(polys[bad])
        return polys

    def layer_blocks(self):
        cd = self.codes
        code = [f"{d}-{z}-{b:03d}" for d, z, b in zip(cd["district"], cd["zone"], cd["block_no"])]
        return self._gdf({"code": code, "district_code": cd["district"].astype(str),
                          "zone_code": [f"{d}-{z}" for d, z in zip(cd["district"], cd["zone"])],
                          "land_price": self._land_prices()}, _as_multi(self.block_geoms))

    def _land_prices(self) -> np.ndarray:
        """Regional land price (rials/m²): the centre and bazaar are dearest,
        main roads add a premium, plus local noise."""
        rng = _rng(self.p.seed, "land_price")
        pl = self.plan
        blocks = self.sel["blocks"]
        cd = self.codes
        r = _norm(cd["centre"])
        a, b = pl.block_a[blocks], pl.block_b[blocks]
        main = np.any(self.edge_main[self.cell_edges[a]], axis=1)
        main |= (b >= 0) & np.any(self.edge_main[self.cell_edges[np.maximum(b, 0)]], axis=1)
        bazaar = pl.ctx[a] == CTX_BAZAAR
        town_r = self.radius * pl.scale * pl.cutoff
        price = (1.0e6 + 7.5e6 * np.exp(-r / (0.45 * town_r)) + 1.8e6 * main + 2.0e6 * bazaar)
        price *= np.exp(0.15 * rng.standard_normal(len(blocks)))
        return (np.round(np.clip(price, 8.0e5, 1.2e7) / 1e4) * 1e4).astype(np.int64)

    def _cell_union(self, cell_groups: list[np.ndarray]) -> np.ndarray:
        """Union of whole cells (street centreline to centreline) per group."""
        polys = shapely.polygons(self.corners + self.origin)
        out = []
        for cells in cell_groups:
            geom = shapely.coverage_union_all(polys[cells])
            if not shapely.is_valid(geom):
                geom = shapely.make_valid(geom)
            out.append(geom)
        return _as_multi(np.array(out, dtype=object))

    def _block_cells(self, block_rows: np.ndarray) -> np.ndarray:
        pl = self.plan
        blocks = self.sel["blocks"][block_rows]
        b = pl.block_b[blocks]
        return np.concatenate([pl.block_a[blocks], b[b >= 0]])

    def layer_districts(self):
        cd = self.codes
        ds = np.unique(cd["district"])
        geoms = self._cell_union([self._block_cells(np.flatnonzero(cd["district"] == d)) for d in ds])
        return self._gdf({"code": ds.astype(str), "name": [_persian_code("منطقه", d) for d in ds],
                          "name_en": [f"District {d}" for d in ds]}, geoms)

    def layer_cadastral_zones(self):
        cd = self.codes
        key = cd["district"] * 10 + cd["zone"]
        ks = np.unique(key)
        geoms = self._cell_union([self._block_cells(np.flatnonzero(key == k)) for k in ks])
        return self._gdf({"code": [f"{k // 10}-{k % 10}" for k in ks],
                          "district_code": (ks // 10).astype(str),
                          "name": [_persian_code("حوزه", k % 10) for k in ks],
                          "name_en": [f"Zone {k // 10}-{k % 10}" for k in ks]}, geoms)

    def layer_streets(self):
        s = self.streets
        lines = shapely.linestrings(np.stack([s["a"], s["b"]], axis=1) + self.origin)
        return self._gdf({"street_id": s["street_id"], "name": s["name"], "name_en": s["name_en"],
                          "kind": s["kind"], "existing_width": s["width"].astype(float),
                          "planned_width": s["planned_width"]}, lines)

    # -- buildings ---------------------------------------------------------------

    @cached_property
    def buildings(self) -> dict[str, np.ndarray]:
        """One building on most parcels: a strip along the north side of the
        lot (yard to the south), or along the street for shops on main roads."""
        rng = _rng(self.p.seed, "buildings")
        t = self.parcel_table
        L = self.plan.lots
        n = len(t["lot"])
        use = t["land_use"]
        u = rng.random((12, n))
        has = u[0] < BUILDING_SHARE
        has &= ~np.isin(use, ("vacant", "green_space", "natural"))
        garden = use == "gardens_agriculture"
        has &= ~garden | (u[1] < GARDEN_BUILDING_SHARE / BUILDING_SHARE)
        idx = np.flatnonzero(has)
        world = L["world"][t["lot"][idx]]
        use_b = use[idx]
        ctx = t["ctx"][idx]
        main = t["touches_main"][idx]
        front_k = L["front_k"][t["lot"][idx]]
        uu = u[:, idx]

        # lot-local axes: t runs from edge 0-1 to edge 2-3, s from 3-0 to 1-2
        gt = (world[:, 2] + world[:, 3] - world[:, 0] - world[:, 1]) / 2
        gs = (world[:, 1] + world[:, 2] - world[:, 0] - world[:, 3]) / 2
        nt, ns_ = gt[:, 1] / _norm(gt), gs[:, 1] / _norm(gs)
        along_t = np.abs(nt) >= np.abs(ns_)
        north_hi = np.where(along_t, nt > 0, ns_ > 0)
        shop = (use_b == "commercial") & main
        # shops sit at the street: front edge 0 -> t low, 2 -> t high, 3 -> s low, 1 -> s high
        along_t = np.where(shop, np.isin(front_k, (0, 2)), along_t)
        north_hi = np.where(shop, np.isin(front_k, (2, 1)), north_hi)
        cov = 0.5 + 0.3 * uu[2]
        public = np.isin(use_b, PUBLIC_USES) | (use_b == "religious")
        cov = np.where(public, 0.3 + 0.2 * uu[2], cov)
        cov = np.where(np.isin(use_b, ("industrial", "transport_warehousing")), 0.4 + 0.3 * uu[2], cov)
        cov = np.where(use_b == "sports", 0.2 + 0.1 * uu[2], cov)
        cov = np.where(garden[idx], 0.15, cov)
        depth_len = np.where(along_t, _norm(gt), _norm(gs))
        cov = np.minimum(cov, np.maximum(22.0 / depth_len, 0.25))
        eps = 0.004
        lo_d = np.where(north_hi, 1 - cov, eps)
        hi_d = np.where(north_hi, 1 - eps, cov)
        side_lo = np.where(garden[idx] | public, 0.1 + 0.1 * uu[3], eps)
        side_hi = np.where(garden[idx], side_lo + 0.3, np.where(public, 0.9 - 0.1 * uu[4], 1 - eps))
        s_lo = np.where(along_t, side_lo, lo_d)
        s_hi = np.where(along_t, side_hi, hi_d)
        t_lo = np.where(along_t, lo_d, side_lo)
        t_hi = np.where(along_t, hi_d, side_hi)
        quad = world[:, [0, 1, 2, 3]]
        su = np.stack([s_lo, s_hi, s_hi, s_lo], 1)
        tv = np.stack([t_lo, t_lo, t_hi, t_hi], 1)
        foot = _bilinear(quad[:, None], su, tv)
        footprint = shapely.polygons(foot + self.origin)
        farea = shapely.area(footprint)

        # floors: mostly 1-2, taller on main roads and in the new town
        floors = np.ones(len(idx), np.int64)
        p2 = np.select([ctx == CTX_CORE, ctx == CTX_BAZAAR, ctx == CTX_PERIPHERY, ctx == CTX_INDUSTRIAL,
                        ctx == CTX_NEWTOWN], [0.4, 0.45, 0.3, 0.2, 0.85], 0.55)
        floors += uu[5] < p2
        p3 = np.select([ctx == CTX_NEWTOWN, ctx == CTX_STD], [0.6, 0.2], 0.08) + 0.45 * main
        tall = (floors == 2) & (uu[6] < p3)
        floors += tall * (1 + (uu[7] < 0.55) + (uu[7] < 0.25) * main + (uu[7] < 0.1) * (ctx == CTX_NEWTOWN))
        floors[np.isin(use_b, ("gardens_agriculture", "sports", "industrial", "transport_warehousing"))] = np.minimum(
            floors[np.isin(use_b, ("gardens_agriculture", "sports", "industrial", "transport_warehousing"))], 2)
        floors = np.clip(floors, 1, 6)

        # year built (Jalali): older in the core, newer at the edge, tall = new
        lo_y = np.select([ctx == CTX_CORE, ctx == CTX_BAZAAR, ctx == CTX_NEWTOWN, ctx == CTX_PERIPHERY],
                         [1300, 1300, 1385, 1355], 1335)
        hi_y = np.select([ctx == CTX_CORE, ctx == CTX_BAZAAR], [1385, 1395], 1404)
        rebuilt = np.isin(ctx, (CTX_CORE, CTX_BAZAAR)) & (uu[8] < 0.3)
        lo_y = np.where(rebuilt, 1370, lo_y)
        hi_y = np.where(rebuilt, 1404, hi_y)
        lo_y = np.where(floors >= 3, np.maximum(lo_y, 1375), lo_y)
        year = (lo_y + np.floor(uu[9] ** 0.8 * (hi_y - lo_y + 1))).astype(np.int64)
        year = np.clip(year, 1300, 1404)

        struct = np.empty(len(idx), dtype=object)
        old, mid, new = year < 1345, (year >= 1345) & (year < 1370), year >= 1370
        struct[old] = _categorical(uu[10][old], {"adobe": 80, "masonry": 20})
        struct[mid] = _categorical(uu[10][mid], {"masonry": 70, "adobe": 10, "concrete": 15, "steel": 5})
        struct[new] = _categorical(uu[10][new], {"concrete": 55, "steel": 30, "masonry": 12, "other": 3})
        high = floors >= 3
        struct[high] = np.where(uu[10][high] < 0.6, "concrete", "steel")

        below = ((uu[11] < np.where(year >= 1370, 0.35, 0.05)) & (farea > 60)).astype(np.int64)
        gfa = np.round(farea * (floors + below) * (0.97 + 0.06 * uu[4]), 2)
        use_out = use_b.copy()
        mixed = (use_b == "residential") & main & (uu[3] < 0.15)
        use_out[mixed] = "commercial"
        units = np.ones(len(idx), np.int64)
        res = use_out == "residential"
        units[res & (floors == 2)] = 1 + (uu[6][res & (floors == 2)] < 0.4)
        apt = res & (floors >= 3)
        units[apt] = floors[apt] * (1 + (uu[7][apt] < 0.35))
        shops = use_out == "commercial"
        units[shops] = np.maximum(1, floors[shops] * (1 + (uu[8][shops] * 3).astype(np.int64)))
        return {"parcel_row": idx, "geometry": footprint, "floors_above": floors,
                "floors_below": below, "structure_type": struct, "year_built": year,
                "use": use_out, "gross_floor_area": gfa, "units": units}

    def layer_buildings(self):
        b = self.buildings
        t = self.parcel_table
        return self._gdf({
            "building_no": np.arange(1, len(b["parcel_row"]) + 1),
            "renewal_code": t["renewal_code"][b["parcel_row"]],
            "floors_above": b["floors_above"], "floors_below": b["floors_below"],
            "structure_type": b["structure_type"], "year_built": b["year_built"],
            "use": b["use"], "gross_floor_area": b["gross_floor_area"], "units": b["units"]},
            b["geometry"])

    # -- addresses ---------------------------------------------------------------------

    def layer_addresses(self):
        """Entrance point on the front edge; plaques rise along the street,
        odd on one side and even on the other."""
        t = self.parcel_table
        pl = self.plan
        L = pl.lots
        s = self.streets
        lots = t["lot"]
        strip = L["strip"][lots]
        world = L["world"][lots]
        fk = L["front_k"][lots]
        rows = np.arange(len(lots))
        p0, p1 = world[rows, fk], world[rows, (fk + 1) % 4]
        entrance = (p0 + p1) / 2
        fkind = pl.strips["fkind"][strip]
        fref = pl.strips["fref"][strip]

        seg = np.empty(len(lots), np.int64)
        grid = fkind == 0
        E = self.edges
        e = fref[grid]
        d = E["b"][e] - E["a"][e]
        te = np.clip(np.sum((entrance[grid] - E["a"][e]) * d, axis=1) / np.sum(d * d, axis=1), 0, 1)
        gmask = s["edge"] >= 0
        keys = s["edge"][gmask] + s["t0"][gmask] * 0.5
        gidx = np.flatnonzero(gmask)
        o = np.argsort(keys, kind="stable")
        pos = np.searchsorted(keys[o], e + te * 0.5, side="right") - 1
        seg[grid] = gidx[o][pos]
        # dead ends: map plan dead-end id -> segment row
        de_rows = np.flatnonzero(s["dead_end"] >= 0)
        plan_to_local = np.full(len(pl.dead_ends["cell"]), -1)
        plan_to_local[self.sel["dead_ends"]] = np.arange(len(self.sel["dead_ends"]))
        seg[~grid] = de_rows[plan_to_local[fref[~grid]]]

        # along-street coordinate and side
        a, b = s["a"][seg], s["b"][seg]
        dvec = b - a
        seglen = _norm(dvec)
        tt = np.clip(np.sum((entrance - a) * dvec, axis=1) / np.maximum(seglen ** 2, 1e-9), 0, 1)
        street = s["street"][seg]
        order_seg = np.lexsort((s["t0"], self.edges["pos"][np.maximum(s["edge"], 0)], s["street"]))
        cum = np.zeros(len(s["street"]))
        lens = _norm(s["b"] - s["a"])[order_seg]
        st = s["street"][order_seg]
        cs = np.cumsum(lens) - lens
        first = np.concatenate([[True], st[1:] != st[:-1]])
        cs -= np.maximum.accumulate(np.where(first, cs, 0))
        cum[order_seg] = cs
        along = cum[seg] + tt * seglen
        side = (_cross(dvec, entrance - a) > 0).astype(np.int64)
        order = np.lexsort((along, side, street))
        ks = street[order] * 2 + side[order]
        kfirst = np.concatenate([[True], ks[1:] != ks[:-1]])
        rank = np.arange(len(order)) - np.maximum.accumulate(np.where(kfirst, np.arange(len(order)), 0))
        plaque = np.empty(len(order), np.int64)
        plaque[order] = 2 * rank + 1 + side[order]
        points = shapely.points(entrance + self.origin)
        return self._gdf({"renewal_code": t["renewal_code"], "street_id": s["street_id"][seg],
                          "plaque": plaque.astype(str), "postal_code": t["postal_code"]}, points)

    # -- owners -------------------------------------------------------------------------

    @cached_property
    def ownership(self) -> dict[str, object]:
        """Owners and their shares (in dang, six per parcel)."""
        rng = _rng(self.p.seed, "owners")
        t = self.parcel_table
        n = len(t["lot"])
        use = t["land_use"]
        u = rng.random((3, n))
        bodies = NM.PUBLIC_BODIES
        role_index = {}
        for k, (_, role) in enumerate(bodies):
            role_index.setdefault(role, []).append(k)
        role_of_use = {"education": "education", "higher_education": "higher_education",
                       "religious": "endowments", "green_space": "municipality",
                       "urban_equipment": "municipality", "urban_utilities": "utilities",
                       "health": "health", "administrative": "administrative", "sports": "sports",
                       "cultural": "cultural", "military": "military", "historic_heritage": "heritage"}
        share_of_use = {"religious": 0.8, "historic_heritage": 0.5, "cultural": 0.7, "health": 0.7,
                        "higher_education": 0.8, "sports": 0.8}
        legal_owner = np.full(n, -1)
        for use_code, role in role_of_use.items():
            m = (use == use_code) & (u[0] < share_of_use.get(use_code, 1.0))
            choices = np.array(role_index[role])
            legal_owner[m] = choices[(u[1][m] * len(choices)).astype(np.int64)]
        vac = (use == "vacant") & (u[0] < 0.15)
        land = np.array(role_index["land"] + role_index["municipality"])
        legal_owner[vac] = land[(u[1][vac] * len(land)).astype(np.int64)]
        # companies own some shops, workshops and warehouses
        n_bodies = len(bodies)
        comp = np.isin(use, ("commercial", "industrial", "transport_warehousing", "tourism")) & (u[0] < 0.25)
        n_comp = max(1, int(comp.sum() // 3))
        legal_owner[comp] = n_bodies + rng.integers(0, n_comp, int(comp.sum()))
        n_legal = n_bodies + n_comp
        # persons: shares patterns (dang)
        patterns = [((6.0,), 72), ((3.0, 3.0), 12), ((2.0, 2.0, 2.0), 6), ((4.0, 2.0), 5),
                    ((1.5, 4.5), 3), ((1.5, 1.5, 3.0), 2)]
        pk = _categorical(u[2], {str(i): w for i, (_, w) in enumerate(patterns)}).astype(int)
        pk[legal_owner >= 0] = 0
        k_shares = np.array([len(patterns[i][0]) for i in range(len(patterns))])[pk]
        row, j = _ragged_arange(k_shares)
        share_tab = np.zeros((len(patterns), 3))
        for i, (p, _) in enumerate(patterns):
            share_tab[i, :len(p)] = p
        share = share_tab[pk[row], j]
        person_rows = legal_owner[row] < 0
        n_person_shares = int(person_rows.sum())
        n_pool = max(1, int(n_person_shares * 0.82))
        base = rng.integers(0, n_pool, n)
        person = (base[row] + j) % n_pool          # co-owners are neighbours in the pool
        used = np.unique(person[person_rows])
        # ids: used legal entities first (1..), then used persons
        legal_used_mask = np.zeros(n_legal, bool)
        legal_used_mask[legal_owner[legal_owner >= 0]] = True
        n_legal_used = int(legal_used_mask.sum())
        legal_ids = np.full(n_legal, -1)
        legal_ids[legal_used_mask] = 1 + np.arange(n_legal_used)
        person_id = np.full(n_pool, -1)
        person_id[used] = n_legal_used + 1 + np.arange(len(used))
        owner_id = np.where(person_rows, person_id[person], legal_ids[np.maximum(legal_owner[row], 0)])
        return {"parcel_row": row, "owner_id": owner_id, "share": share,
                "legal_used": np.flatnonzero(legal_used_mask), "n_bodies": n_bodies,
                "n_persons": len(used), "n_legal_used": n_legal_used}

    def layer_owners(self):
        o = self.ownership
        rng = _rng(self.p.seed, "owner_details")
        nl, np_ = o["n_legal_used"], o["n_persons"]
        legal = o["legal_used"]
        legal_names = []
        comp_names = [f"{a} {b}" for b in NM.COMPANY_BRANDS for a in NM.COMPANY_ACTIVITIES]
        comp_order = rng.permutation(len(comp_names))
        for k in legal:
            if k < o["n_bodies"]:
                legal_names.append(NM.PUBLIC_BODIES[k][0])
            else:
                c = k - o["n_bodies"]
                name = comp_names[comp_order[c % len(comp_names)]]
                rep = c // len(comp_names)
                legal_names.append(name if rep == 0 else f"{name} {NM.to_persian_digits(rep + 1)}")
        legal_ids = np.char.add("10", np.char.zfill(
            _affine_unique(rng, nl, 10 ** 9).astype("U9"), 9))
        female = rng.random(np_) < 0.42
        first = np.where(female, np.array(NM.FEMALE_FIRST_NAMES, dtype=object)[rng.integers(0, len(NM.FEMALE_FIRST_NAMES), np_)],
                         np.array(NM.MALE_FIRST_NAMES, dtype=object)[rng.integers(0, len(NM.MALE_FIRST_NAMES), np_)])
        last = np.array(NM.LAST_NAMES, dtype=object)[rng.integers(0, len(NM.LAST_NAMES), np_)]
        nid = _national_ids(rng, np_)
        prefix = np.array([p for p, _ in MOBILE_PREFIXES])
        pw = np.array([w for _, w in MOBILE_PREFIXES])
        mob = np.char.add(prefix[rng.choice(len(prefix), np_, p=pw / pw.sum())],
                          np.char.zfill(rng.integers(0, 10 ** 7, np_).astype("U7"), 7)).astype(object)
        mob[rng.random(np_) < 0.15] = None
        land = np.char.add("07153", np.char.zfill(rng.integers(0, 10 ** 6, nl).astype("U6"), 6)).astype(object)
        none_l = np.full(nl, None, dtype=object)
        none_p = np.full(np_, None, dtype=object)
        return pd.DataFrame({
            "owner_id": np.arange(1, nl + np_ + 1),
            "kind": np.array(["legal"] * nl + ["person"] * np_, dtype=object),
            "first_name": np.concatenate([none_l, first]),
            "last_name": np.concatenate([none_l, last]),
            "legal_name": np.concatenate([np.array(legal_names, dtype=object), none_p]),
            "national_id": np.concatenate([legal_ids.astype(object), nid.astype(object)]),
            "phone": np.concatenate([land, mob]),
        })

    def layer_ownerships(self):
        o = self.ownership
        t = self.parcel_table
        return pd.DataFrame({"renewal_code": t["renewal_code"][o["parcel_row"]],
                             "owner_id": o["owner_id"], "share_dang": o["share"]})

    # -- zoning -------------------------------------------------------------------------

    def layer_zoning(self):
        """Zoning per block from its context and land uses, merged per zone."""
        pl = self.plan
        cd = self.codes
        t = self.parcel_table
        blocks = self.sel["blocks"]
        nb = len(blocks)
        bi = t["block"]
        use = t["land_use"]

        def share(mask):
            return np.bincount(bi, weights=mask.astype(float), minlength=nb) / np.maximum(np.bincount(bi, minlength=nb), 1)

        ctx = pl.ctx[pl.block_a[blocks]]
        a, b = pl.block_a[blocks], pl.block_b[blocks]
        main = np.any(self.edge_main[self.cell_edges[a]], axis=1)
        main |= (b >= 0) & np.any(self.edge_main[self.cell_edges[np.maximum(b, 0)]], axis=1)
        big = t["kind"] == KIND_BIG
        big_green = share(big & (use == "green_space")) > 0
        big_public = share(big & np.isin(use, PUBLIC_USES) & (use != "green_space")) > 0
        code = np.full(nb, "R121", dtype=object)
        code[(ctx == CTX_NEWTOWN)] = "R131"
        code[(ctx == CTX_PERIPHERY)] = "R111"
        code[share(use == "commercial") >= 0.3] = "C1"
        code[main] = "C2"
        code[big_public] = "P"
        code[big_green] = "G"
        code[(ctx == CTX_PERIPHERY) & (share(use == "gardens_agriculture") >= 0.5)] = "G"
        code[ctx == CTX_INDUSTRIAL] = "I1"
        code[ctx == CTX_CORE] = "H"
        code[ctx == CTX_BAZAAR] = "M1"
        key_codes = list(ZONING)
        ci = np.array([key_codes.index(c) for c in code])
        key = (cd["district"] * 10 + cd["zone"]) * 100 + ci
        groups, codes_out = [], []
        for k in np.unique(key):
            groups.append(self._block_cells(np.flatnonzero(key == k)))
            codes_out.append(key_codes[k % 100])
        river_in = np.flatnonzero(self.cell_river & self.inside)
        if len(river_in):
            groups.append(river_in)
            codes_out.append("G")
        geoms = self._cell_union(groups)
        return self._gdf({"code": codes_out, "name": [ZONING[c][0] for c in codes_out],
                          "name_en": [ZONING[c][1] for c in codes_out],
                          "colour": [ZONE_COLOURS[c] for c in codes_out]}, geoms)

    # -- natural features ------------------------------------------------------------

    @cached_property
    def _feature_box(self) -> tuple[float, float, float, float]:
        """Local bounding box for the river, fault and DEM: the town plus a
        margin, with extra room to the north for the hills."""
        pts = self.corners[self.sel["cell_mask"]].reshape(-1, 2)
        (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
        m = max(600.0, 0.1 * (x1 - x0))
        north = max(3000.0, 0.3 * (y1 - y0))
        return (x0 - m, y0 - m, x1 + m, y1 + north)

    def layer_historic_core(self):
        core = np.flatnonzero(self.cell_core & (self.sel["cell_mask"] | self.cell_river) & self.inside)
        geom = self._cell_union([core])[0]
        parts = shapely.get_parts(geom)
        poly = parts[np.argmax(shapely.area(parts))]
        return self._gdf({"name": ["بافت تاریخی داراب"], "name_en": ["Historic core of Darab"]}, [poly])

    def _river_frame_span(self):
        x0, y0, x1, y1 = self._feature_box
        box = shapely.box(x0, y0, x1, y1)
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        s, _ = self.river.to_frame(corners[:, 0], corners[:, 1])
        return box, float(s.min()) - 200, float(s.max()) + 200

    def layer_river(self):
        box, s0, s1 = self._river_frame_span()
        line = shapely.intersection(self._river_line(s0, s1), box)
        parts = shapely.get_parts(line)
        line = parts[np.argmax(shapely.length(parts))]
        return self._gdf({"name": ["رودخانه فصلی داراب"], "name_en": ["Darab seasonal river"]},
                         [self._world(line)])

    def layer_floodplain(self):
        box, s0, s1 = self._river_frame_span()
        s = np.arange(s0, s1 + 10.0, 10.0)
        c, hw = self.river.centre_n(s), self.river.floodplain_half(s)
        left = self.river.points(s, c + hw)
        right = self.river.points(s, c - hw)
        poly = shapely.polygons(np.concatenate([left, right[::-1]]))
        poly = shapely.make_valid(shapely.intersection(poly, box))
        return self._gdf({"name": ["حریم سیلاب رودخانه"], "name_en": ["River floodplain"]},
                         _as_multi(np.array([self._world(poly)], dtype=object)))

    def layer_fault_line(self):
        rng = _rng(self.p.seed, "fault")
        x0, y0, x1, y1 = self._feature_box
        span = math.hypot(x1 - x0, y1 - y0)
        ang = math.radians(FAULT_ANGLE_DEG + rng.uniform(-8, 8))
        d = np.array([math.cos(ang), math.sin(ang)])
        nrm = np.array([-d[1], d[0]])
        off = rng.choice([-1, 1]) * rng.uniform(0.2, 0.5) * self.radius
        s = np.linspace(-span, span, 13)
        wig = rng.normal(0, 40, len(s))
        pts = s[:, None] * d + (off + wig)[:, None] * nrm
        line = shapely.intersection(shapely.linestrings(pts), shapely.box(x0, y0, x1, y1))
        parts = shapely.get_parts(line)
        line = parts[np.argmax(shapely.length(parts))]
        return self._gdf({"name": ["گسل داراب"], "name_en": ["Darab fault"]}, [self._world(line)])

    # -- DEM ---------------------------------------------------------------------------

    def write_dem(self, path: Path) -> None:
        """Elevation ~1,140 m in town, hills rising to ~1,400-1,700 m north of
        it, gentle noise, and the river valley carved a little lower."""
        import rasterio
        from affine import Affine

        rng = _rng(self.p.seed, "dem")
        x0, y0, x1, y1 = self._feature_box
        px = 10.0
        w, h = math.ceil((x1 - x0) / px), math.ceil((y1 - y0) / px)
        if w * h > 25_000_000:
            px = math.ceil(px * math.sqrt(w * h / 25_000_000))
            w, h = math.ceil((x1 - x0) / px), math.ceil((y1 - y0) / px)
        pts = self.corners[self.sel["cell_mask"]].reshape(-1, 2)
        foot = float(pts[:, 1].max()) - 300.0
        waves = [(rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi), lam, amp)
                 for lam, amp in ((3000, 2.0), (1200, 1.5), (500, 0.8))]
        ridges = [(rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi), lam, amp)
                  for lam, amp in ((4000, 90.0), (1800, 60.0), (700, 25.0), (330, 14.0), (150, 6.0))]
        xs = x0 + (np.arange(w) + 0.5) * px
        profile = {"driver": "GTiff", "width": w, "height": h, "count": 1, "dtype": "float32",
                   "crs": f"EPSG:{self.p.srid}", "nodata": -9999.0,
                   "transform": Affine(px, 0.0, x0 + self.origin[0], 0.0, -px, y1 + self.origin[1]),
                   "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate",
                   "predictor": 3}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with rasterio.open(tmp, "w", **profile) as dst:
                for r0 in range(0, h, 512):
                    rows = np.arange(r0, min(h, r0 + 512))
                    ys = y1 - (rows + 0.5) * px
                    X, Y = np.meshgrid(xs, ys)
                    z = 1140.0 + 0.003 * Y
                    for psi, phi, lam, amp in waves:
                        z += amp * np.sin(2 * np.pi / lam * (X * np.cos(psi) + Y * np.sin(psi)) + phi)
                    hill = _smoothstep((Y - foot) / 2500.0)
                    ridge = sum(amp * np.sin(2 * np.pi / lam * (X * np.cos(psi) + Y * np.sin(psi)) + phi)
                                for psi, phi, lam, amp in ridges)
                    z += hill * (390.0 + ridge)
                    s, nn = self.river.to_frame(X, Y)
                    dist = np.abs(nn - self.river.centre_n(s))
                    z -= (6.0 + 60.0 * hill) * np.exp(-(dist / (120.0 + 200.0 * hill)) ** 2)
                    dst.write(z.astype(np.float32), 1, window=((r0, r0 + len(rows)), (0, w)))
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()


# ---------------------------------------------------------------------------
# Geometry kernels
# ---------------------------------------------------------------------------

def _inset(p: np.ndarray, hw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shrink quads ``p`` (n, 4, 2; CCW) by per-side distances ``hw`` (n, 4;
    bottom, right, top, left). Returns inset quads and a validity mask."""
    d = np.roll(p, -1, axis=1) - p
    length = _norm(d)
    nrm = np.stack([-d[..., 1], d[..., 0]], axis=-1) / length[..., None]
    a = p + hw[..., None] * nrm
    a_prev, d_prev = np.roll(a, 1, axis=1), np.roll(d, 1, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = _cross(a - a_prev, d) / _cross(d_prev, d)
    q = a_prev + s[..., None] * d_prev
    qd = np.roll(q, -1, axis=1) - q
    ok = np.all(np.isfinite(q), axis=(1, 2))
    ok &= np.all(np.sum(qd * d, axis=-1) > 0, axis=1)
    ok &= np.all(_cross(qd, np.roll(qd, -1, axis=1)) > 0, axis=1)
    ok &= np.all(_norm(qd) > 10.0, axis=1)
    return q, ok


def _bisect_groups(xy: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    """Split points into ``k`` compact groups of similar total weight by
    recursive bisection along the longer side (zones inside a district)."""
    out = np.zeros(len(xy), np.int64)
    if k <= 1 or len(xy) <= 1:
        return out
    span = xy.max(axis=0) - xy.min(axis=0)
    ax = int(np.argmax(span))
    order = np.argsort(xy[:, ax], kind="stable")
    k1 = k // 2
    cum = np.cumsum(w[order])
    cut = int(np.searchsorted(cum, cum[-1] * k1 / k))
    cut = min(max(cut, 1), len(xy) - 1)
    left, right = order[:cut], order[cut:]
    out[left] = _bisect_groups(xy[left], w[left], k1)
    out[right] = k1 + _bisect_groups(xy[right], w[right], k - k1)
    return out


def _exact_lot_polygons(cell, pu, pv, world, merged_l, merged_u, cell_edges, edges, origin):
    """Lot polygons whose shared edges match exactly.

    Lots of neighbouring strips meet in T-junctions (a lot corner in the middle
    of the neighbour's edge). Each vertex is entered on the straight line it
    lies on - a u or v constant of its cell, or the shared middle line of a
    deep block - and every axis-aligned lot edge gets the vertices strictly
    inside it inserted, found with one sort of vertices and edge start/end
    events per line.
    """
    n = len(cell)
    H_LINE, V_LINE = 0, 1

    def line_keys(k, kind):
        """(group key, position) of vertex k of every lot on its h/v line."""
        u, v = pu[:, k], pv[:, k]
        if kind == H_LINE:
            key = cell * 2.0 + v * 0.5
            t = u.copy()
            shared = (merged_l[cell] & (v == 1.0)) | (merged_u[cell] & (v == 0.0))
            edge = np.where(merged_l[cell], cell_edges[cell, 2], cell_edges[cell, 0])
            a, b = edges["a"][edge], edges["b"][edge]
            d = b - a
            ts = np.sum((world[:, k] - a) * d, axis=1) / np.sum(d * d, axis=1)
            key = np.where(shared, 4.0 * len(merged_l) + edge * 2.0, key)
            t = np.where(shared, ts, t)
        else:
            key = cell * 2.0 + 1.0 + u * 0.5
            t = v.copy()
        return key, t

    vk, vt, vxy = [], [], []
    ek, elo, ehi, eid, edir = [], [], [], [], []
    for k in range(4):
        for kind in (H_LINE, V_LINE):
            key, t = line_keys(k, kind)
            vk.append(key)
            vt.append(t)
            vxy.append(world[:, k])
        k2 = (k + 1) % 4
        horizontal = pv[:, k] == pv[:, k2]
        vertical = pu[:, k] == pu[:, k2]
        for kind, mask in ((H_LINE, horizontal), (V_LINE, vertical & ~horizontal)):
            key1, t1 = line_keys(k, kind)
            _, t2 = line_keys(k2, kind)
            idx = np.flatnonzero(mask)
            ek.append(key1[idx])
            elo.append(np.minimum(t1, t2)[idx])
            ehi.append(np.maximum(t1, t2)[idx])
            eid.append(idx * 4 + k)
            edir.append((t2 > t1)[idx])
    vk, vt, vxy = np.concatenate(vk), np.concatenate(vt), np.concatenate(vxy)
    ek, elo, ehi = np.concatenate(ek), np.concatenate(elo), np.concatenate(ehi)
    eid, edir = np.concatenate(eid), np.concatenate(edir)

    # events: end (0) < vertex (1) < start (2) at equal (key, t)
    nv, ne = len(vk), len(ek)
    keys = np.concatenate([vk, ek, ek])
    ts = np.concatenate([vt, elo, ehi])
    typ = np.concatenate([np.ones(nv, np.int8), np.full(ne, 2, np.int8), np.zeros(ne, np.int8)])
    ref = np.concatenate([np.arange(nv), np.arange(ne), np.arange(ne)])
    order = np.lexsort((typ, ts, keys))
    keys_s, ts_s, typ_s, ref_s = keys[order], ts[order], typ[order], ref[order]
    is_v = typ_s == 1
    # drop duplicate vertices (same point shared by several lots)
    dup = np.zeros(len(order), bool)
    vpos = np.flatnonzero(is_v)
    same = (keys_s[vpos[1:]] == keys_s[vpos[:-1]]) & (ts_s[vpos[1:]] == ts_s[vpos[:-1]])
    dup[vpos[1:][same]] = True
    is_v &= ~dup
    vcum = np.cumsum(is_v)
    uniq_ref = ref_s[is_v]
    start_pos = np.empty(ne, np.int64)
    end_pos = np.empty(ne, np.int64)
    start_pos[ref_s[typ_s == 2]] = np.flatnonzero(typ_s == 2)
    end_pos[ref_s[typ_s == 0]] = np.flatnonzero(typ_s == 0)
    first = vcum[start_pos]            # vertices up to and including the start event
    count = vcum[end_pos] - first

    extra = np.zeros(n * 4, np.int64)
    np.add.at(extra, eid, count)
    per_vertex = 1 + extra
    offsets = np.cumsum(per_vertex) - per_vertex
    total = int(per_vertex.sum())
    coords = np.empty((total, 2))
    coords[offsets] = world.reshape(-1, 2)
    has = count > 0
    e_i, r = _ragged_arange(count[has])
    src = first[has][e_i] + np.where(edir[has][e_i], r, count[has][e_i] - 1 - r)
    coords[offsets[eid[has]][e_i] + 1 + r] = vxy[uniq_ref[src]]
    ring_of = np.repeat(np.arange(n), per_vertex.reshape(n, 4).sum(axis=1))
    rings = shapely.linearrings(coords + origin, indices=ring_of)
    return shapely.polygons(rings)


def _affine_unique(rng: np.random.Generator, count: int, space: int) -> np.ndarray:
    """``count`` distinct pseudo-random integers in [0, space)."""
    mult = int(rng.integers(space // 3, space))
    while math.gcd(mult, space) != 1:
        mult += 1
    return (np.arange(count, dtype=np.int64) * mult + int(rng.integers(0, space))) % space


def _national_ids(rng: np.random.Generator, count: int) -> np.ndarray:
    """Unique, valid Iranian national IDs (check digit rule; never all-same)."""
    body = _affine_unique(rng, count + 10, 10 ** 9)
    digits = (body[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    keep = ~np.all(digits == digits[:, :1], axis=1)   # 000000000, 111111111, ...
    body, digits = body[keep][:count], digits[keep][:count]
    s = np.sum(digits * np.arange(10, 1, -1), axis=1)
    r = s % 11
    check = np.where(r < 2, r, 11 - r)
    return np.char.add(np.char.zfill(body.astype("U9"), 9), check.astype("U1"))


def _write_layer(frame, path: Path, layer: str, srid: int) -> None:
    """Write one layer with pyogrio (Arrow path); attribute tables have no
    geometry column."""
    import pyogrio

    pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG", use_arrow=True)
