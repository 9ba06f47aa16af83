// The maps of the decisions' and projects' pages (transparency/templates/transparency/): the city's own layers as
// vector tiles under either every project (the projects' GeoJSON, coloured by status, each linking to its page) or
// the one place of a decision or project. Config from the page (json_script "civic-map": transparency/public.py
// map_config plus `geojson` or `geometry`). Interface text from Django's JavaScript catalogue.
(function () {
  "use strict";
  // the municipality's path prefix ("" at the root; README, "Many municipalities"), set on <html> by base.html
  var ROOT = document.documentElement.getAttribute("data-root") || "";
  var cfgEl = document.getElementById("civic-map");
  if (!cfgEl || !window.L) { return; }
  var cfg = JSON.parse(cfgEl.textContent);
  var el = document.getElementById("projects-map") || document.getElementById("place-map");
  if (!el) { return; }
  var STYLES = {
    blocks: { color: "#9e9e9e", weight: 1, fill: true, fillColor: "#fafafa", fillOpacity: 0.4 },
    streets: function (p) { return { color: "#ffffff", weight: Math.max(2, (p.existing_width || 6) / 3) }; },
    parcels: { color: "#8d6e63", weight: 0.6, fill: true, fillColor: "#efe6dd", fillOpacity: 0.5 }
  };

  var map = L.map(el, { zoomControl: false, minZoom: 10, maxZoom: 20 }).setView(cfg.center, 14);
  L.control.zoom({ zoomInTitle: gettext("Zoom in"), zoomOutTitle: gettext("Zoom out") }).addTo(map);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com" translate="no">Leaflet</a>');
  if (cfg.basemapUrl) {
    L.tileLayer(cfg.basemapUrl, { attribution: cfg.basemapAttribution, maxZoom: 20 }).addTo(map);
  }
  if (L.vectorGrid) {
    (cfg.layers || []).forEach(function (layer, i) {
      var style = {};
      style[layer.name] = STYLES[layer.name];
      L.vectorGrid.protobuf(ROOT + "/tiles/" + layer.name + "/{z}/{x}/{y}.pbf?v=" + (cfg.versions[layer.name] || 0), {
        vectorTileLayerStyles: style, minZoom: layer.min_zoom, maxNativeZoom: 18, maxZoom: 20, zIndex: i + 1,
        rendererFactory: L.canvas.tile, interactive: false
      }).addTo(map);
    });
  }

  function styleOf(colour) {
    return { color: colour, weight: 4, opacity: 0.9, fillColor: colour, fillOpacity: 0.35 };
  }
  function pointOf(colour) {
    return function (feature, latlng) {
      return L.circleMarker(latlng, Object.assign(styleOf(colour), { radius: 8, weight: 2 }));
    };
  }
  function fit(layer) {
    var bounds = layer.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [24, 24], maxZoom: 17 }); }
  }

  if (cfg.geometry) {  // one decision's or project's place
    var one = L.geoJSON(cfg.geometry, { style: styleOf(cfg.colour), pointToLayer: pointOf(cfg.colour) }).addTo(map);
    fit(one);
    el.dataset.drawn = "1";
    return;
  }
  fetch(cfg.geojson, { headers: { Accept: "application/geo+json" }, credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (collection) {
      var features = (collection.features || []).filter(function (f) { return f.geometry; });
      var layer = L.geoJSON({ type: "FeatureCollection", features: features }, {
        style: function (f) { return styleOf(f.properties.colour); },
        pointToLayer: function (f, latlng) { return pointOf(f.properties.colour)(f, latlng); },
        onEachFeature: function (f, shape) {
          var box = document.createElement("div");
          var link = document.createElement("a");
          link.href = f.properties.url;
          link.textContent = (cfg.lang !== "fa" && f.properties.title_en) || f.properties.title;
          box.appendChild(link);
          var status = document.createElement("div");
          status.textContent = f.properties.status_label;
          box.appendChild(status);
          shape.bindPopup(box);
        }
      }).addTo(map);
      fit(layer);
      el.dataset.features = String(features.length);
    }, function () {
      el.dataset.features = "error";
    });
}());
