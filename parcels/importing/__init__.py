"""Import of real files into the cadastre and zoning layers (one core for every layer).

    from parcels.importing import run_import, ImportOptions
    report = run_import(ImportOptions(layer="parcels", path="parcels.gpkg", commit=False))

See core.py for the data flow and specs.py for what each layer accepts.
"""

from parcels.importing.core import ImportAborted, ImportError_, ImportOptions, ImportReport, run_import  # noqa: F401
from parcels.importing.specs import LAYERS  # noqa: F401
