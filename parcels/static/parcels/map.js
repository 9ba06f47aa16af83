// The simple map of the city's layers: bounded GeoJSON requests for what is in view, per layer and zoom.
(function () {
  "use strict";
  var cfg = window.MAP_CONFIG;
  var layers = JSON.parse(document.getElementById("layers-data").textContent);
  var landUses = JSON.parse(document.getElementById("land-uses-data").textContent);
  function landUseName(code) {
    var lu = landUses[code];
    return lu ? (fa ? lu[0] : lu[1]) : (code || "—");
  }
  var fa = cfg.lang === "fa";
  var PERSIAN = "۰۱۲۳۴۵۶۷۸۹";
  function num(value) {
    var text = String(value);
    return fa ? text.replace(/[0-9]/g, function (d) { return PERSIAN[+d]; }) : text;
  }
  var USE_COLORS = {
    residential: "#f4d58d", commercial: "#e4572e", education: "#4e8fd1", religious: "#2e7d32",
    green_space: "#7cc576", health: "#c2185b", administrative: "#6d4c41", sports: "#00897b",
    industrial: "#616161", vacant: "#e0e0e0", historic_heritage: "#8e24aa"
  };
  var STYLES = {
    districts: function () { return { color: "#123c52", weight: 2, fill: false, dashArray: "6 4" }; },
    blocks: function () { return { color: "#9e9e9e", weight: 1, fillColor: "#fafafa", fillOpacity: 0.4 }; },
    zoning: function () { return { color: "#5c6bc0", weight: 1, fillOpacity: 0.08 }; },
    streets: function (f) { return { color: f.properties.kind === "main" ? "#ffffff" : "#fffdf5",
      weight: Math.max(2, f.properties.existing_width / 3), opacity: 0.95 }; },
    parcels: function (f) { return { color: "#5d4037", weight: 0.7,
      fillColor: USE_COLORS[f.properties.land_use] || "#d7ccc8", fillOpacity: 0.75 }; },
    buildings: function () { return { color: "#3e2723", weight: 0.5, fillColor: "#8d6e63", fillOpacity: 0.5 }; }
  };
  var map = L.map("map", { zoomControl: true, preferCanvas: true }).setView(cfg.center, 14);
  L.control.scale({ imperial: false }).addTo(map);
  if (cfg.basemapUrl) {
    L.tileLayer(cfg.basemapUrl, { attribution: cfg.basemapAttribution, maxZoom: 21 }).addTo(map);
  }
  var groups = {};
  var overlays = {};
  layers.forEach(function (layer) {
    groups[layer.name] = L.geoJSON(null, {
      style: STYLES[layer.name],
      onEachFeature: layer.name === "parcels" ? bindParcel : undefined
    }).addTo(map);
    overlays[fa ? layer.title : layer.title_en] = groups[layer.name];
  });
  L.control.layers(null, overlays, { collapsed: true }).addTo(map);

  function bindParcel(feature, lyr) {
    var p = feature.properties;
    lyr.on("click", function () {
      var rows = [
        // Codes read district first, left to right, in either language: isolated as LTR.
        [fa ? "کد نوسازی" : "Renewal code", p.renewal_code ? '<bdi dir="ltr">' + num(p.renewal_code) + "</bdi>" : "—"],
        [fa ? "کاربری" : "Land use", landUseName(p.land_use)],
        [fa ? "مساحت اندازه‌گیری‌شده (م²)" : "Measured area (m²)", num(p.measured_area)],
        [fa ? "عریض‌ترین معبر (م)" : "Widest street (m)", p.widest_street_width ? num(p.widest_street_width) : "—"],
        [fa ? "نبش" : "Corner", p.is_corner ? (fa ? "بله" : "yes") : (fa ? "خیر" : "no")]
      ];
      var html = '<dl class="parcel-popup" data-testid="parcel-popup">' + rows.map(function (r) {
        return "<dt>" + r[0] + "</dt><dd>" + r[1] + "</dd>"; }).join("") + "</dl>";
      lyr.bindPopup(html).openPopup();
    });
  }

  var notice = L.DomUtil.create("div", "map-notice", document.getElementById("map"));
  notice.setAttribute("role", "status");
  notice.textContent = fa ? "برای دیدن همهٔ قطعات بزرگ‌نمایی کنید" : "Zoom in to see every parcel";
  notice.style.display = "none";

  var pending = {};
  function refresh() {
    var b = map.getBounds();
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(",");
    layers.forEach(function (layer) {
      var group = groups[layer.name];
      if (map.getZoom() < layer.min_zoom) { group.clearLayers(); return; }
      if (pending[layer.name]) { pending[layer.name].abort(); }
      var ctrl = new AbortController();
      pending[layer.name] = ctrl;
      fetch(cfg.layerUrl.replace("LAYER", layer.name) + "?bbox=" + bbox, { signal: ctrl.signal })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          group.clearLayers();
          group.addData(data);
          document.body.dataset["loaded" + layer.name] = String(data.features.length);
          if (layer.name === "parcels") {
            // The simple map caps what it fetches; say so instead of showing a half-empty city.
            notice.style.display = data.features.length >= layer.max ? "block" : "none";
          }
        })
        .catch(function () {});
    });
  }
  map.on("moveend", refresh);
  fetch(cfg.cityUrl).then(function (r) { return r.json(); }).then(function (city) {
    if (city.bbox) {
      var b = city.bbox;
      map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
      var c = map.getCenter();
      map.setView(c, Math.max(map.getZoom(), 17));
    } else {
      refresh();
    }
  });

  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    var div = L.DomUtil.create("div", "legend");
    var names = {};
    ["residential", "commercial", "education", "religious", "green_space", "health", "industrial",
     "historic_heritage", "vacant"].forEach(function (k) { names[k] = landUseName(k); });
    div.innerHTML = Object.keys(names).map(function (k) {
      return '<i style="background:' + USE_COLORS[k] + '"></i>' + names[k]; }).join("<br>");
    return div;
  };
  legend.addTo(map);
})();
