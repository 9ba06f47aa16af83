/* The map of a rulebook change (zoning/templates/zoning/public/rulebook_diff.html): the zones' vector tiles with the
   zones whose rules changed coloured, and from zoom `parcel_zoom` on the parcels the change reaches in view, a bounded
   page of GeoJSON at a time (/api/zoning/rulebooks/changes/parcels). Text from Django's JavaScript catalogue; figures
   in Persian digits on a Persian page. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("change-map-config").textContent);
  var status = document.getElementById("map-status");
  var persian = document.documentElement.lang === "fa";
  function num(n) {
    var text = String(n);
    if (!persian) { return text; }
    return text.replace(/[0-9]/g, function (d) { return "۰۱۲۳۴۵۶۷۸۹"[+d]; });
  }
  var map = L.map("change-map", { zoomControl: false, attributionControl: !!cfg.basemap });
  L.control.zoom({ zoomInTitle: gettext("Zoom in"), zoomOutTitle: gettext("Zoom out") }).addTo(map);
  if (cfg.basemap) {
    L.tileLayer(cfg.basemap, { attribution: cfg.attribution, maxZoom: 20 }).addTo(map);
  }
  if (cfg.extent) {
    map.fitBounds([[cfg.extent[1], cfg.extent[0]], [cfg.extent[3], cfg.extent[2]]]);
  } else {
    map.setView([0, 0], 2);
  }
  var reached = {};
  cfg.codes.forEach(function (code) { reached[code] = true; });
  L.vectorGrid.protobuf(cfg.tiles, {
    vectorTileLayerStyles: {
      zoning: function (p) {
        if (reached[p.code]) {
          return { color: "#c62828", weight: 1.5, fill: true, fillColor: "#ef5350", fillOpacity: 0.35 };
        }
        return { color: "#90a4ae", weight: 0.6, fill: true, fillColor: "#cfd8dc", fillOpacity: 0.15 };
      }
    },
    minZoom: cfg.min_zoom, maxNativeZoom: 18, maxZoom: 20, rendererFactory: L.canvas.tile, interactive: false
  }).addTo(map);
  var parcels = L.geoJSON(null, { style: { color: "#b71c1c", weight: 1, fillColor: "#ef5350", fillOpacity: 0.3 } })
    .addTo(map);
  var legend = L.control({ position: "bottomleft" });
  legend.onAdd = function () {
    var div = L.DomUtil.create("div", "legend");
    div.innerHTML = "<div><i style=\"background:#ef5350\"></i></div><div><i style=\"background:#cfd8dc\"></i></div>";
    div.children[0].appendChild(document.createTextNode(gettext("Rules changed")));
    div.children[1].appendChild(document.createTextNode(gettext("Rules unchanged")));
    return div;
  };
  legend.addTo(map);
  var asked = 0;
  function clamp(v, limit) { return Math.max(-limit, Math.min(limit, v)); }
  function load() {
    if (map.getZoom() < cfg.parcel_zoom) {
      parcels.clearLayers();
      status.dataset.shown = "0";
      status.textContent = gettext("Zoom in to see the parcels.");
      return;
    }
    var b = map.getBounds(), mine = ++asked;
    var box = [clamp(b.getWest(), 180), clamp(b.getSouth(), 90), clamp(b.getEast(), 180), clamp(b.getNorth(), 90)];
    fetch(cfg.parcels + "&limit=1000&bbox=" + box.map(function (v) { return v.toFixed(6); }).join(","))
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (mine !== asked) { return; }
        parcels.clearLayers();
        if (data.error) { status.textContent = data.message; return; }
        parcels.addData(data);
        status.dataset.shown = String(data.numberReturned);
        status.textContent = data.next_after
          ? interpolate(gettext("The first %s parcels in view are drawn: zoom in for the rest."), [num(data.numberReturned)])
          : interpolate(ngettext("%s parcel in view.", "%s parcels in view.", data.numberReturned), [num(data.numberReturned)]);
      });
  }
  map.on("moveend", load);
  load();
}());
