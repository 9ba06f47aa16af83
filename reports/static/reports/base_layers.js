// The city's own layers (districts, blocks, streets, parcels) drawn under the reports on every reports map (the
// citizen's form and tracking page, the staff inbox and report page, the public map), from the vector tiles of the
// layers app at their data versions. `config` is reports.public.base_layers(): {layers: [{name, min_zoom}], versions}.
(function () {
  "use strict";
  // the municipality's path prefix ("" at the root; README, "Many municipalities"), set on <html> by base.html
  var ROOT = document.documentElement.getAttribute("data-root") || "";
  var STYLES = {
    districts: { color: "#123c52", weight: 2, fill: false, dashArray: "6 4" },
    blocks: { color: "#9e9e9e", weight: 1, fill: true, fillColor: "#fafafa", fillOpacity: 0.4 },
    streets: function (p) { return { color: "#ffffff", weight: Math.max(2, (p.existing_width || 6) / 3) }; },
    parcels: { color: "#5d4037", weight: 0.7, fill: true, fillColor: "#efe6dd", fillOpacity: 0.6 }
  };
  window.addReportsBaseLayers = function (map, config, maxZoom) {
    if (!L.vectorGrid || !config || !config.layers) { return; }
    config.layers.forEach(function (layer, i) {
      var style = {};
      style[layer.name] = STYLES[layer.name];
      L.vectorGrid.protobuf(ROOT + "/tiles/" + layer.name + "/{z}/{x}/{y}.pbf?v=" + (config.versions[layer.name] || 0), {
        vectorTileLayerStyles: style, minZoom: layer.min_zoom, maxNativeZoom: 18, maxZoom: maxZoom, zIndex: i + 1,
        rendererFactory: L.canvas.tile, interactive: false
      }).addTo(map);
    });
  };
}());
