// The public map of reports: up to cfg.heatUpTo a heat map (Leaflet.heat, from /api/reports/heat: the reports per
// heat cell, reports/heat.py) or, by the switch, the clusters; above it one circle per grid cell (reports/clusters.py:
// sized by its count, a heat-like colour); from cfg.pointsFrom one point per report from the layer "reports"
// (coloured by category). A point's pop-up reads the report's public answer (/api/reports/CODE: reports/public.py).
// Filters (category, open/closed, period) go to the heat and the cluster tiles as query parameters and filter the
// points as they are drawn.
// Interface text from Django's JavaScript catalogue (gettext): English msgids, Persian in djangojs.po.
(function () {
  "use strict";
  // the municipality's path prefix ("" at the root; README, "Many municipalities"), set on <html> by base.html
  var ROOT = document.documentElement.getAttribute("data-root") || "";
  var cfg = JSON.parse(document.getElementById("map-config").textContent);
  var categories = JSON.parse(document.getElementById("categories-data").textContent);
  var fa = window.REPORTS_LANG === "fa";
  var PERSIAN = "۰۱۲۳۴۵۶۷۸۹";
  var byCode = {};
  categories.forEach(function (c) { byCode[c.code] = c; });

  function num(value) {
    var text = String(value);
    if (!fa) { return text; }
    return text.replace(/[0-9]/g, function (d) { return PERSIAN[+d]; });
  }
  function esc(text) {
    return String(text === null || text === undefined ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  // Data in two languages is picked by the page's language (the Persian value stands in for a missing English one).
  function categoryName(c) { return c ? ((!fa && c.name_en) || c.name) : ""; }
  // Dates people read: Jalali with Persian digits on Persian pages (the browser's Persian calendar).
  function day(iso) {
    if (!iso) { return "—"; }
    var options = { year: "numeric", month: "long", day: "numeric", timeZone: window.REPORTS_TIME_ZONE };
    var locale = "en-GB";
    if (fa) { locale = "fa-IR-u-ca-persian"; }
    return new Date(iso).toLocaleDateString(locale, options);
  }

  var map = L.map("map", { zoomControl: false, minZoom: 3, maxZoom: 20 }).setView(cfg.center, cfg.zoom);
  L.control.zoom({ zoomInTitle: gettext("Zoom in"), zoomOutTitle: gettext("Zoom out") }).addTo(map);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com" translate="no">Leaflet</a>');
  L.control.scale({ imperial: false }).addTo(map);
  if (cfg.basemapUrl) {
    L.tileLayer(cfg.basemapUrl, { attribution: cfg.basemapAttribution, maxZoom: 20 }).addTo(map);
  }
  window.addReportsBaseLayers(map, cfg.base, 20);  // the city's own layers under the clusters and points
  window.reportsMap = map;  // for the browser tests and the console

  // --- filters ------------------------------------------------------------------------------------------------
  var form = document.getElementById("filters");
  function filters() {
    var f = { category: form.category.value, status: form.status.value, from: "" };
    if (form.period.value) {
      var from = new Date(Date.now() - Number(form.period.value) * 86400000);
      f.from = from.toISOString().slice(0, 10);
    }
    return f;
  }
  function query(f) {
    var parts = ["v=" + encodeURIComponent(cfg.version)];
    ["category", "status", "from"].forEach(function (name) {
      if (f[name]) { parts.push(name + "=" + encodeURIComponent(f[name])); }
    });
    return "?" + parts.join("&");
  }
  function shown(p, f) {
    if (f.category && p.category !== f.category) { return false; }
    if (f.status === "open" && !p.open) { return false; }
    if (f.status === "closed" && p.open) { return false; }
    if (f.from && p.created && p.created < f.from) { return false; }
    return true;
  }

  function where(e) { return e.latlng || map.mouseEventToLatLng(e.originalEvent); }
  // VectorGrid's points are circle markers without a place of their own (they are drawn in tile pixels): Leaflet
  // would take a small one for a marker and read its missing getLatLng() on a click. Without it, the click's place
  // comes from the mouse event.
  function clickable(layer) {
    var create = layer._createLayer;
    layer._createLayer = function (feat, pxPerExtent) {
      var feature = create.call(this, feat, pxPerExtent);
      feature.getLatLng = null;
      return feature;
    };
    return layer;
  }

  // --- clusters (low zoom) --------------------------------------------------------------------------------------
  function heat(count) {
    if (count >= 1000) { return "#b71c1c"; }
    if (count >= 100) { return "#e64a19"; }
    if (count >= 10) { return "#fb8c00"; }
    return "#fdd835";
  }
  function clusterStyle(p) {
    var radius = Math.min(16, 5 + 3.2 * Math.log(p.count + 1) / Math.LN10 * 1.6);
    return { radius: radius, fill: true, fillColor: heat(p.count), fillOpacity: 0.75, color: "#5d4037",
             weight: 1, className: "report-cluster" };
  }
  var clusters = null;
  var points = null;
  var heatLayer = null;
  var lowMode = "heat";  // what the switch chose for the lowest zooms: "heat" or "clusters"
  var current = filters();

  function makeClusters() {
    var layer = clickable(L.vectorGrid.protobuf(cfg.clustersUrl + query(current), {
      vectorTileLayerStyles: { clusters: clusterStyle }, interactive: true, zIndex: 10,
      getFeatureId: function (f) { return f.properties.count + ":" + f.properties.category; }
    }));
    layer.on("click", function (e) {
      L.DomEvent.stop(e);  // or the map's own click closes the pop-up at once
      var p = e.layer.properties;
      var latlng = where(e);
      L.popup().setLatLng(latlng).setContent(
        '<div data-testid="cluster-popup">' + esc(num(p.count)) + " " + esc(gettext("reports here")) + "<br>" +
        esc(gettext("Most reported:")) + " " + esc(categoryName(byCode[p.category])) + "</div>").openOn(map);
      map.setView(latlng, Math.min(map.getZoom() + 2, cfg.pointsFrom));
    });
    return layer;
  }

  // --- heat map (lowest zooms) -----------------------------------------------------------------------------------
  // One heat point per heat cell (its reports' mean place, weighted by their number); asked again at each zoom (the
  // cells are a few screen pixels wide) and filter. The densest cell is the scale's top.
  var heatRequest = 0;
  function makeHeat() {
    var layer = L.heatLayer([], { radius: 18, blur: 14, minOpacity: 0.25, maxZoom: map.getZoom(),
                                  gradient: { 0.2: "#fdd835", 0.45: "#fb8c00", 0.7: "#e64a19", 1: "#b71c1c" } });
    loadHeat(layer);
    return layer;
  }
  function loadHeat(layer) {
    var asked = ++heatRequest;
    var zoom = map.getZoom();
    fetch(cfg.heatUrl + query(current) + "&zoom=" + zoom, { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (doc) {
        if (asked !== heatRequest || heatLayer !== layer) { return; }  // a later zoom or filter asked again
        layer.setOptions({ max: Math.max(1, doc.max), maxZoom: zoom });
        layer.setLatLngs(doc.points);
        document.getElementById("map").dataset.heat = String(doc.total);
      })
      .catch(function () { document.getElementById("map").dataset.heat = "error"; });
  }

  // --- points (high zoom) ---------------------------------------------------------------------------------------
  function pointStyle(p) {
    if (!shown(p, current)) { return []; }
    return { radius: 7, fill: true, fillColor: p.colour || "#e65100", fillOpacity: 0.9, color: "#ffffff",
             weight: 1.5, className: "report-point" };
  }
  function makePoints() {
    var layer = clickable(L.vectorGrid.protobuf(cfg.pointsUrl + "?v=" + encodeURIComponent(cfg.version), {
      vectorTileLayerStyles: { reports: pointStyle }, interactive: true, zIndex: 10,
      getFeatureId: function (f) { return f.properties.code; }
    }));
    layer.on("click", function (e) {
      L.DomEvent.stop(e);
      openReport(e.layer.properties.code, where(e));
    });
    return layer;
  }

  function popupHtml(r) {
    var c = r.category || {};
    var html = '<div class="report-popup" data-testid="report-popup">' +
      '<h3><i class="swatch"></i>' + esc(categoryName(c)) + "</h3>" +
      '<dl><dt>' + esc(gettext("Status")) + '</dt><dd data-testid="popup-status">' + esc(r.status_label) + "</dd>" +
      "<dt>" + esc(gettext("Reported on")) + "</dt><dd>" + esc(day(r.created_at)) + "</dd>";
    if (r.resolved_at) {
      html += "<dt>" + esc(gettext("Resolved on")) + "</dt><dd>" + esc(day(r.resolved_at)) + "</dd>";
    }
    html += "<dt>" + esc(gettext("Voices")) + "</dt><dd>" + esc(num(r.voices || 0)) + "</dd></dl>";
    if (r.place_is_approximate) {
      html += '<p class="muted">' + esc(gettext("About a home: shown at its block.")) + "</p>";
    }
    if (r.photos && r.photos.length) {
      html += '<div class="thumbs">' + r.photos.map(function (p) {
        return '<a href="' + esc(p.url) + '" target="_blank" rel="noopener"><img src="' + esc(p.thumbnail) +
          '" alt="' + esc(gettext("Photo")) + '" loading="lazy"></a>';
      }).join("") + "</div>";
    }
    html += '<a href="' + ROOT + '/reports/' + encodeURIComponent(r.tracking_code) + '/">' +
      esc(gettext("Follow this report")) + " (" + esc(num(r.tracking_code)) + ")</a></div>";
    return html;
  }
  function openReport(code, latlng) {
    var popup = L.popup({ maxWidth: 320 }).setLatLng(latlng)
      .setContent('<div class="report-popup">' + esc(gettext("Loading…")) + "</div>").openOn(map);
    fetch(cfg.reportUrl.replace("CODE", encodeURIComponent(code)), { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (r) {
        popup.setContent(popupHtml(r));
        var swatch = popup.getElement() && popup.getElement().querySelector(".swatch");
        if (swatch && r.category) { swatch.style.background = r.category.colour; }
      })
      .catch(function () { popup.setContent(esc(gettext("The report could not be loaded."))); });
  }

  // --- which layer at which zoom -----------------------------------------------------------------------------------
  function modeAt(zoom) {
    if (zoom >= cfg.pointsFrom) { return "points"; }
    return zoom <= cfg.heatUpTo ? lowMode : "clusters";
  }
  function update() {
    var mode = modeAt(map.getZoom());
    var old = [];
    if (mode !== "points" && points) { old.push(points); points = null; }
    if (mode !== "clusters" && clusters) { old.push(clusters); clusters = null; }
    if (mode !== "heat" && heatLayer) { old.push(heatLayer); heatLayer = null; }
    if (mode === "points" && !points) { points = makePoints().addTo(map); }
    if (mode === "clusters" && !clusters) { clusters = makeClusters().addTo(map); }
    if (mode === "heat") {
      if (!heatLayer) { heatLayer = makeHeat().addTo(map); } else { loadHeat(heatLayer); }
    }
    var element = document.getElementById("map");
    element.dataset.mode = mode;
    switcher.getContainer().hidden = map.getZoom() > cfg.heatUpTo;
    old.forEach(function (layer) { map.removeLayer(layer); });  // last: the new layer is there whatever happens
  }

  // The switch between the heat map and the clusters at the lowest zooms (hidden above cfg.heatUpTo).
  var switcher = L.control({ position: "topright" });
  switcher.onAdd = function () {
    var div = L.DomUtil.create("div", "layer-switch leaflet-bar");
    div.setAttribute("data-testid", "layer-switch");
    div.setAttribute("role", "radiogroup");
    div.setAttribute("aria-label", gettext("Reports zoomed out as"));
    [["heat", gettext("Heat map")], ["clusters", gettext("Clusters")]].forEach(function (choice) {
      var label = L.DomUtil.create("label", "", div);
      var input = L.DomUtil.create("input", "", label);
      input.type = "radio";
      input.name = "low-zoom-mode";
      input.value = choice[0];
      input.checked = choice[0] === lowMode;
      input.setAttribute("data-testid", "switch-" + choice[0]);
      label.appendChild(document.createTextNode(" " + choice[1]));
      input.addEventListener("change", function () {
        if (input.checked) { lowMode = choice[0]; update(); }
      });
    });
    L.DomEvent.disableClickPropagation(div);
    return div;
  };
  switcher.addTo(map);

  map.on("zoomend", update);
  update();

  form.addEventListener("change", function () {
    current = filters();
    if (clusters) { map.removeLayer(clusters); clusters = null; }
    if (heatLayer) { map.removeLayer(heatLayer); heatLayer = null; }
    if (points) { points.redraw(); }
    update();
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); });

  // --- legend ----------------------------------------------------------------------------------------------------
  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    var div = L.DomUtil.create("div", "legend");
    div.setAttribute("data-testid", "legend");
    var html = "<strong>" + esc(gettext("Categories")) + "</strong><br>";
    categories.forEach(function (c) {
      html += '<span class="row"><i data-colour="' + esc(c.colour) + '"></i>' + esc(categoryName(c)) + "</span><br>";
    });
    html += "<strong>" + esc(gettext("Reports per area (zoomed out)")) + "</strong><br>";
    html += '<span class="row heat-scale" data-testid="heat-scale"><i class="scale"></i>' +
      esc(gettext("Heat map: few → many reports")) + "</span><br>";
    [[1, "1–9"], [10, "10–99"], [100, "100–999"], [1000, "1000+"]].forEach(function (h) {
      html += '<span class="row"><i class="round" data-colour="' + heat(h[0]) + '"></i><bdi dir="ltr">' + esc(num(h[1])) +
        "</bdi></span><br>";
    });
    div.innerHTML = html;
    Array.prototype.forEach.call(div.querySelectorAll("i[data-colour]"), function (i) {
      i.style.background = i.getAttribute("data-colour");
    });
    L.DomEvent.disableClickPropagation(div);
    return div;
  };
  legend.addTo(map);
})();
