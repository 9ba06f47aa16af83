"""Run by tests/test_qgis.py with Debian's /usr/bin/python3 (PyQGIS), QT_QPA_PLATFORM=offscreen, as a separate
process: opens an exported GeoPackage (its styles from layer_styles) and the OGC API layers as QGIS would, and
prints what it found as JSON. Usage: qgis_check.py GPKG OGC_URL USER PASSWORD TILE_URL MINZOOM MAXZOOM (the last three from the TileJSON)"""

import json
import os
import sys

from qgis.core import QgsApplication, QgsProject, QgsVectorLayer, QgsVectorTileLayer

gpkg, ogc, user, password, tile_url, zmin, zmax = sys.argv[1:8]
app = QgsApplication([], False)
app.setPrefixPath("/usr", True)
app.initQgis()
out = {}
for name in ("parcels", "streets"):
    layer = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")
    renderer = layer.renderer()
    out[name] = {
        "valid": layer.isValid(), "count": layer.featureCount(), "crs": layer.crs().authid(),
        "renderer": renderer.type() if renderer else None,
        "categories": len(renderer.categories()) if renderer and renderer.type() == "categorizedSymbol" else 0,
        "aliases": {f.name(): f.alias() for f in layer.fields()},
    }
project = QgsProject.instance()
opened = project.read(f"geopackage:{gpkg}?projectName=layers")
out["project"] = {"opened": opened, "crs": project.crs().authid(), "layers": {
    layer.source().split("layername=")[-1]: {"valid": layer.isValid(), "count": layer.featureCount(),
                                             "renderer": layer.renderer().type()}
    for layer in project.mapLayers().values()}}
remote = QgsVectorLayer(f"url='{ogc}' typename='parcels' pagingEnabled='true'", "oapif", "OAPIF")
out["oapif"] = {"valid": remote.isValid(), "count": sum(1 for _ in remote.getFeatures()),
                "fields": [f.name() for f in remote.fields()]}
protected = QgsVectorLayer(f"url='{ogc}' typename='parcel_owners' username='{user}' password='{password}'",
                           "owners", "OAPIF")
out["protected"] = {"valid": protected.isValid(),
                    "count": sum(1 for _ in protected.getFeatures()) if protected.isValid() else 0}
from urllib.parse import quote

tiles = QgsVectorTileLayer(f"type=xyz&url={quote(tile_url, safe=':/{}')}&zmin={zmin}&zmax={zmax}", "tiles")
out["vector_tiles"] = {"valid": tiles.isValid(), "zmin": tiles.sourceMinZoom(), "zmax": tiles.sourceMaxZoom()}
print(json.dumps(out, ensure_ascii=False), flush=True)
os._exit(0)  # QGIS 3.22 may crash while tearing down its network threads; the answer is already out
