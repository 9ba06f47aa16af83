def map_page(r): pass
def parcels_geojson(r): pass
def layer_geojson(r, layer): pass
def city_info(r): pass
