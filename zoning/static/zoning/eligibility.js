/* The engineer's page: the parcel, its road-widening strip and the buildable envelope on a Leaflet map (own layers
   only: the page must print on closed networks). */
(function () {
  "use strict";
  // the municipality's path prefix ("" at the root; README, "Many municipalities"), set on <html> by base.html
  var ROOT = document.documentElement.getAttribute("data-root") || "";
  var data = JSON.parse(document.getElementById("envelope-data").textContent);
  var el = document.getElementById("envelope-map");
  if (!data || !el) { return; }
  var map = L.map(el, { attributionControl: false, zoomControl: false });
  // Leaflet's own button titles are English: the page's language instead (Django's JavaScript catalogue).
  L.control.zoom({ zoomInTitle: gettext("Zoom in"), zoomOutTitle: gettext("Zoom out") }).addTo(map);
  fetch(ROOT + "/api/parcels/" + data.parcel_id + "/envelope.geojson").then(function (r) { return r.json(); })
    .then(function (fc) {
      var styles = { parcel: { color: "#333", weight: 2, fillOpacity: 0.05 },
                     road_widening: { color: "#c62828", weight: 1, fillOpacity: 0.4 },
                     envelope: { color: "#1b7f3b", weight: 2, dashArray: "4 3", fillOpacity: 0.3 } };
      var layer = L.geoJSON(fc, { style: function (f) { return styles[f.properties.kind]; } }).addTo(map);
      map.fitBounds(layer.getBounds(), { padding: [20, 20] });
      el.dataset.loaded = String(fc.features.length);
    });
}());
