from parcels.management.commands.import_layer import Command as ImportLayer


class Command(ImportLayer):
    help = "Import zoning from any GDAL vector file. Dry run unless --commit."
    layer = "zoning"
