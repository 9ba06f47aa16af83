"""Import of real files into the cadastre's layers, and into any layer another app registers (one flow for all).

    from parcels.importing import run_import, ImportOptions
    report = run_import(ImportOptions(layer="parcels", path="parcels.gpkg", commit=False))

See core.py for the data flow, specs.py for what each layer accepts and how an app registers its own layers.
"""

from parcels.importing.core import run_import
from parcels.importing.errors import ImportAborted, ImportError_
from parcels.importing.options import ImportOptions
from parcels.importing.report import ImportReport
from parcels.importing.specs import LAYERS

__all__ = ["LAYERS", "ImportAborted", "ImportError_", "ImportOptions", "ImportReport", "run_import"]
