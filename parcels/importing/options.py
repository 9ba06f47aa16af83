"""What one import run is asked to do (the command's options, the demo loader's, the tests')."""

from dataclasses import dataclass

BATCH_SIZE = 25_000  # small enough that PostgreSQL starts ingesting soon, large enough to amortise calls

# Rows of a file that share a key (dedupe.py): refuse them all (the default: which copy is right is the operator's
# call, so a commit is refused until they choose), keep the first in the file, keep the largest, or merge their
# geometries into one multipolygon (polygon layers; the first row's attributes).
DUPLICATE_POLICIES = ("refuse", "first", "largest", "merge")


@dataclass
class ImportOptions:
    layer: str
    path: str
    commit: bool = False
    mapping: dict[str, str] | None = None  # target field -> source field
    values: dict[str, dict[str, str]] | None = None  # target field -> {source value: target value}
    source_layer: str | None = None
    srs: str | None = None
    force_srs: bool = False
    key: str | None = None
    fix: bool = False
    skip_invalid: bool = False
    join_csv: str | None = None
    join_on: str | None = None  # "file_field=csv_column" or one name for both
    allow_outside_area: bool = False
    keep_unmapped: bool = True
    derive: bool = True
    open_options: dict[str, str] | None = None
    run_by: str = ""
    is_demo: bool = False
    progress: bool = False
    batch_size: int = BATCH_SIZE
    calendar: str | None = None  # the calendar the file counts years in (fields.CALENDARS); None: each field's own
    duplicates: str = "refuse"  # what to do with rows sharing a key: one of DUPLICATE_POLICIES
