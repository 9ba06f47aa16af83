"""Run with Debian's /usr/bin/python3 (PyQGIS) by bench/oapif.py: writes a QGIS project publishing the parcels table
through QGIS Server's OGC API - Features with the same six fields the app serves.

    /usr/bin/python3 bench/qgis_project.py OUT.qgs "PG conninfo" SRID"""

import os
import sys

from qgis.core import QgsApplication, QgsDataSourceUri, QgsProject, QgsVectorLayer

out, conninfo, srid = sys.argv[1:4]
app = QgsApplication([], False)
app.initQgis()
uri = QgsDataSourceUri(conninfo)
uri.setDataSource("public", "parcels_parcel", "geom", "", "id")
uri.setSrid(srid)
uri.setWkbType(6)  # MultiPolygon
layer = QgsVectorLayer(uri.uri(False), "parcels", "postgres")
if not layer.isValid():
    sys.exit("the parcels layer did not open in QGIS")
keep = {"id", "renewal_code", "land_use_id", "measured_area", "is_corner", "widest_street_width"}
layer.setExcludeAttributesWfs({f.name() for f in layer.fields() if f.name() not in keep})
project = QgsProject.instance()
project.addMapLayer(layer)
project.writeEntry("WFSLayers", "/", [layer.id()])
project.writeEntry("WFSLayersPrecision", "/" + layer.id(), 6)
project.writeEntry("WMSServiceCapabilities", "/", True)
project.writeEntry("WMSExtent", "/", [str(v) for v in (layer.extent().xMinimum(), layer.extent().yMinimum(),
                                                       layer.extent().xMaximum(), layer.extent().yMaximum())])
project.write(out)
print("ok", flush=True)
os._exit(0)
