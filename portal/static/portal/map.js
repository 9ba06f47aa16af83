// The map portal: the city's layers as vector tiles made in PostGIS, one search box, the parcel sheet, and a
// permalink (#zoom/lat/lon[/parcel]) that restores the view and the selected parcel.
// Interface text comes from Django's JavaScript catalogue (gettext, loaded before this script): English msgids, the
// Persian in locale/fa/LC_MESSAGES/djangojs.po. Data that comes in two languages is picked by pick().
(function () {
  "use strict";
  // the municipality's path prefix ("" at the root; README, "Many municipalities"), set on <html> by base.html
  var ROOT = document.documentElement.getAttribute("data-root") || "";
  var cfg = window.MAP_CONFIG;
  var layers = JSON.parse(document.getElementById("layers-data").textContent);
  var landUses = JSON.parse(document.getElementById("land-uses-data").textContent);
  var fa = cfg.lang === "fa";
  var PERSIAN = "۰۱۲۳۴۵۶۷۸۹";

  function num(value) {
    var text = String(value);
    if (!fa) { return text; }
    return text.replace(/[0-9]/g, function (d) { return PERSIAN[+d]; });
  }
  // Data in two languages (a layer's title / title_en, a land use's name_fa / name_en, a notice's fa / en) is
  // picked by the page's language, not translated; the Persian value stands in for a missing English one.
  function pick(obj, field) {
    var base = field ? field + "_" : "";
    var persian = (base + "fa") in obj ? obj[base + "fa"] : obj[field];
    return (!fa && obj[base + "en"]) || persian;
  }
  var LIST_SEPARATOR = pgettext("list separator", ", ");
  function fmt(value, digits) {
    if (value === null || value === undefined) { return "—"; }
    return num(Number(value).toLocaleString("en-US", { maximumFractionDigits: digits === undefined ? 1 : digits }));
  }
  function esc(text) {
    return String(text === null || text === undefined ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function ltr(text) { return '<bdi dir="ltr">' + esc(num(text)) + "</bdi>"; }
  function landUseName(code) {
    var lu = landUses[code];
    return lu ? pick({ fa: lu[0], en: lu[1] }) : (code || "—");
  }
  var T = {
    code: gettext("Renewal code"), plate: gettext("Registered plate"), postal: gettext("Postal code"),
    sourceId: gettext("City's own parcel ID"),
    use: gettext("Land use"), deed: gettext("Deed area (m²)"), measured: gettext("Measured area (m²)"),
    mismatch: gettext("Deed and measured area differ"), district: gettext("District / zone / block"),
    streets: gettext("Streets fronted"), width: gettext("Width existing / planned (m)"),
    frontage: gettext("Frontage (m)"), corner: gettext("Corner"), yes: gettext("yes"), no: gettext("no"),
    buildings: gettext("Buildings"), floors: gettext("Floors"), gfa: gettext("Gross floor area (m²)"),
    units: gettext("Units"), widening: gettext("Road widening (m²)"), address: gettext("Address"),
    none: gettext("none"), zoning: gettext("Zoning zone"), textPage: gettext("Text version of this sheet"),
    demo: gettext("Demo data"), noParcel: gettext("No parcel here: a street or open land"),
    outsideCity: gettext("This point is outside the city"), results: gettext("No results")
  };

  var USE_COLORS = {
    residential: "#f4d58d", commercial: "#e4572e", education: "#4e8fd1", religious: "#2e7d32",
    green_space: "#7cc576", health: "#c2185b", administrative: "#6d4c41", sports: "#00897b",
    industrial: "#616161", vacant: "#e0e0e0", historic_heritage: "#8e24aa"
  };
  // Zoning by zone code, with the colours and names of the zones loaded: the zoning layer's legend, made from the
  // data by the server (zoning/layers.py; the same colours as the exported QGIS styles).
  var ZONES = (layers.filter(function (l) { return l.name === "zoning"; })[0] || {}).legend || [];
  var ZONE_COLORS = {};
  ZONES.forEach(function (z) { ZONE_COLORS[z.value] = z.colour; });
  var STYLES = {
    districts: { color: "#123c52", weight: 2, fill: false, dashArray: "6 4" },
    blocks: { color: "#9e9e9e", weight: 1, fill: true, fillColor: "#fafafa", fillOpacity: 0.4 },
    zoning: function (p) {
      var c = ZONE_COLORS[p.code] || "#5c6bc0";
      return { color: c, weight: 1.5, fill: true, fillColor: c, fillOpacity: 0.12 };
    },
    streets: function (p) {
      return { color: p.kind === "main" ? "#ffffff" : "#fffdf5", weight: Math.max(2, p.existing_width / 3) };
    },
    parcels: function (p) {
      return { color: "#5d4037", weight: 0.7, fill: true, fillColor: USE_COLORS[p.land_use] || "#d7ccc8",
               fillOpacity: 0.75 };
    },
    buildings: { color: "#3e2723", weight: 0.5, fill: true, fillColor: "#8d6e63", fillOpacity: 0.5 }
  };

  var map = L.map("map", { zoomControl: false, minZoom: 3, maxZoom: 21 }).setView(cfg.center, 15);
  // Leaflet's own controls carry English titles: the zoom buttons take ours, the attribution names Leaflet plainly.
  L.control.zoom({ zoomInTitle: gettext("Zoom in"), zoomOutTitle: gettext("Zoom out") }).addTo(map);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com" translate="no">Leaflet</a>');
  L.control.scale({ imperial: false }).addTo(map);

  // Locate me, north arrow and print: small controls of our own (no extra library).
  // A ruler drawn inline: emoji glyphs are missing from the fonts of many office PCs and headless browsers.
  var RULER = '<svg width="18" height="18" viewBox="0 0 18 18" aria-hidden="true" style="vertical-align:middle">' +
    '<rect x="1" y="6" width="16" height="6" fill="none" stroke="currentColor" stroke-width="1.5"/>' +
    '<path d="M4 6v3M7 6v2M10 6v3M13 6v2" stroke="currentColor" stroke-width="1.2"/></svg>';
  var tools = L.control({ position: "topleft" });
  tools.onAdd = function () {
    var div = L.DomUtil.create("div", "leaflet-bar tools");
    function button(name, text, content, extra) {
      return '<a href="#" role="button" class="' + name + '"' + (extra || "") + ' title="' + text + '" aria-label="' +
        text + '">' + content + "</a>";
    }
    div.innerHTML = button("locate", gettext("Locate me"), "◎") + button("print", gettext("Print"), "⎙") +
      button("measure", gettext("Measure distance and area"), RULER, ' aria-pressed="false"');
    L.DomEvent.disableClickPropagation(div);
    div.querySelector(".locate").addEventListener("click", function (e) {
      e.preventDefault();
      map.locate({ setView: true, maxZoom: 18 });
    });
    div.querySelector(".measure").addEventListener("click", function (e) {
      e.preventDefault();
      measuring = !measuring;
      this.setAttribute("aria-pressed", String(measuring));
      this.classList.toggle("active", measuring);
      measurePoints = [];
      measureClosed = false;
      measureLayer.clearLayers();
      showMeasure();
    });
    div.querySelector(".print").addEventListener("click", function (e) {
      e.preventDefault();
      window.print();
    });
    window.addEventListener("beforeprint", function () {  // the printed view always carries its legend
      var legendBox = document.querySelector(".legend details");
      if (legendBox) { legendBox.open = true; }
    });
    return div;
  };
  tools.addTo(map);
  var here = null;
  map.on("locationfound", function (e) {
    if (here) { map.removeLayer(here); }
    here = L.circle(e.latlng, { radius: Math.max(e.accuracy, 5), color: "#1565c0" }).addTo(map);
    document.body.dataset.located = e.latlng.lat.toFixed(5) + "," + e.latlng.lng.toFixed(5);
  });
  map.on("locationerror", function () { toast(gettext("Your location is not available")); });
  var north = L.control({ position: "topright" });
  north.onAdd = function () {
    var div = L.DomUtil.create("div", "north-arrow");
    div.setAttribute("role", "img");
    div.setAttribute("aria-label", gettext("North"));
    div.innerHTML = "<span>▲</span><b>" + pgettext("north arrow", "N") + "</b>";
    return div;
  };
  north.addTo(map);
  // Base map: an online XYZ layer when one is configured, else (and whenever it cannot be reached, as inside a
  // closed municipal network) the city's own layers on a plain ground: districts, blocks and streets as tiles.
  var baseLayers = {};
  var cityBase = L.layerGroup();
  var cityBaseName = gettext("City base map (offline)");
  document.body.dataset.basemap = "city";
  if (cfg.basemapUrl) {
    var online = L.tileLayer(cfg.basemapUrl, { attribution: cfg.basemapAttribution, maxZoom: 21 });
    var onlineLoaded = false, onlineErrors = 0;
    online.on("tileload", function () { onlineLoaded = true; document.body.dataset.basemap = "online"; });
    online.on("tileerror", function () {
      onlineErrors += 1;
      if (!onlineLoaded && onlineErrors >= 3 && map.hasLayer(online)) {
        map.removeLayer(online);
        cityBase.addTo(map);
        document.body.dataset.basemap = "city";
        toast(gettext("The online base map cannot be reached; showing the city's own base map"));
      }
    });
    online.on("add", function () { onlineErrors = 0; });
    baseLayers[gettext("Online base map")] = online.addTo(map);
    document.body.dataset.basemap = "online-pending";
  } else {
    cityBase.addTo(map);
  }
  baseLayers[cityBaseName] = cityBase;
  map.on("baselayerchange", function (e) { document.body.dataset.basemap = e.layer === cityBase ? "city" : "online"; });
  var tilesLoaded = {};
  var overlays = {};

  // The browser fetches six tiles at a time: the parcels (what people open the map for) are asked for first, and
  // blocks only where parcels are not drawn yet; the registry's order still decides what is drawn on top (zIndex).
  var FIRST = { parcels: 0, streets: 1 };
  function addTileLayers(versions) {
    var grids = {};
    // blocks are drawn until the parcels themselves are (under the parcels' land-use overview at low zooms)
    var parcelsDetailZoom = (layers.filter(function (l) { return l.name === "parcels"; })[0] || {}).detail_zoom || 22;
    layers.map(function (layer, index) { return { layer: layer, z: index + 1 }; }).sort(function (a, b) {
      var fa_ = a.layer.name in FIRST ? FIRST[a.layer.name] : 9, fb = b.layer.name in FIRST ? FIRST[b.layer.name] : 9;
      return fa_ - fb || a.z - b.z;
    }).forEach(function (item) {
      var layer = item.layer;
      var style = {};
      style[layer.name] = STYLES[layer.name];
      // each tile's own version (layers/static/layers/tile_versions.js): an edit changes the URLs of its tiles only
      var url = cfg.tileUrl.replace("LAYER", layer.name) + "?v={v}";
      var grid = L.vectorGrid.protobuf(url, {
        v: window.TileVersions.option(versions, layer.name),
        vectorTileLayerStyles: style, minZoom: layer.min_zoom, maxNativeZoom: 18,
        maxZoom: layer.name === "blocks" ? parcelsDetailZoom - 1 : 21, zIndex: item.z,
        rendererFactory: L.canvas.tile, interactive: false
      });
      grid.on("tileload", function () {  // tiles drawn so far, per layer (tests and diagnostics read it)
        if (!tilesLoaded[layer.name]) {  // ms from navigation start to this layer's first tile drawn
          document.body.dataset[layer.name + "FirstTile"] = String(Math.round(performance.now()));
        }
        tilesLoaded[layer.name] = (tilesLoaded[layer.name] || 0) + 1;
        document.body.dataset[layer.name + "Tiles"] = String(tilesLoaded[layer.name]);
      });
      grid.addTo(map);
      grids[layer.name] = grid;
    });
    layers.forEach(function (layer) { overlays[pick(layer, "title")] = grids[layer.name]; });
    var control = L.control.layers(baseLayers, overlays, { collapsed: true }).addTo(map);
    var toggle = control.getContainer().querySelector(".leaflet-control-layers-toggle");
    if (toggle) { toggle.title = gettext("Layers"); toggle.setAttribute("aria-label", gettext("Layers")); }
    // Other parts of the system add their own layers (e.g. raster tiles) on this event: detail.layersControl.
    window.Portal.layersControl = control;
    document.dispatchEvent(new CustomEvent("portal:layers", { detail: window.Portal }));
  }

  // --- The selected parcel and its sheet -----------------------------------------------------------------------
  var highlight = L.geoJSON(null, { style: { color: "#00e5ff", weight: 3, fill: false } }).addTo(map);
  var widening = L.geoJSON(null, { style: { color: "#d50000", weight: 1, fillColor: "#d50000", fillOpacity: 0.45 } })
    .addTo(map);
  var sheet = document.getElementById("sheet");
  var sheetContent = document.getElementById("sheet-content");
  var selectedId = null;

  function row(label, value) { return "<dt>" + label + "</dt><dd>" + value + "</dd>"; }

  function renderSheet(s) {
    var plate = s.registered_plate;
    var plateText = [plate.section, plate.main, plate.sub].map(function (v) { return v === null ? "—" : v; }).join(" / ");
    var place = [s.district && pick(s.district, "name"), s.zone && pick(s.zone, "name"), s.block && s.block.code]
      .filter(Boolean);
    var html = "<h2>" + T.code + " " + (s.renewal_code ? ltr(s.renewal_code) : "—") + "</h2>";
    if (s.is_demo_data) { html += '<p class="demo-tag">' + T.demo + "</p>"; }
    html += "<dl>" + (s.source_id ? row(T.sourceId, ltr(s.source_id)) : "") + row(T.plate, ltr(plateText)) + row(T.postal, s.postal_code ? ltr(s.postal_code) : "—");
    html += row(T.address, s.addresses.map(function (a) { return esc(pick(a, "street") || "") + " " + ltr(a.plaque); })
      .join(LIST_SEPARATOR) || "—");
    html += row(T.district, place.map(function (p) { return ltr(p); }).join(" / ") || "—");
    html += row(T.use, esc(s.land_use ? pick(s.land_use, "name") : "—"));
    html += row(T.zoning, s.zoning.length ? s.zoning.map(function (z) {
      return ltr(z.code) + " " + esc(pick(z, "name"));
    }).join(LIST_SEPARATOR) : "—");
    html += row(T.deed, fmt(s.deed_area)) + row(T.measured, fmt(s.measured_area));
    if (s.area_mismatch) { html += row(T.mismatch, "⚠"); }
    html += row(T.corner, s.is_corner ? T.yes : T.no);
    html += row(T.widening, s.road_widening ? fmt(s.road_widening.area) : T.none) + "</dl>";
    html += "<h3>" + T.streets + "</h3><table><thead><tr><th></th><th>" + T.width + "</th><th>" + T.frontage +
      "</th></tr></thead><tbody>" + s.frontages.map(function (f) {
        return "<tr><td>" + esc(pick(f, "name")) + "</td><td>" + fmt(f.existing_width) + " / " +
          (f.planned_width ? fmt(f.planned_width) : "—") + "</td><td>" + fmt(f.frontage_length) + "</td></tr>";
      }).join("") + "</tbody></table>";
    var b = s.buildings;
    html += "<h3>" + T.buildings + "</h3><dl>" + row(T.buildings, fmt(b.count, 0));
    if (b.count) {
      html += row(T.floors, fmt(b.floors_above_max, 0) + (b.floors_below_max ? " + " + fmt(b.floors_below_max, 0) : "")) +
        row(T.gfa, fmt(b.gross_floor_area)) + row(T.units, fmt(b.units, 0));
    }
    html += "</dl>";
    return html + '<p><a href="' + ROOT + '/parcels/' + s.id + '/">' + T.textPage + "</a></p>";
  }

  // Sections other apps plug into the sheet (eligibility, dues, ...): each has its own JSON URL, fetched after the
  // sheet opens, and a renderer its app registered as window.PortalSections[key](data, helpers, element).
  var sectionLayer = L.layerGroup().addTo(map);
  // (no language flag among them: text comes from gettext, two-language data from pick)
  var helpers = { num: num, fmt: fmt, esc: esc, ltr: ltr, row: row, pick: pick, listSeparator: LIST_SEPARATOR,
                  map: map, layer: sectionLayer,
                  getJSON: function (url) { return getJSON(url); } };
  window.Portal = { map: map, helpers: helpers, layersControl: null };

  function loadSections(s) {
    (s.sections || []).forEach(function (sec) {
      var el = document.createElement("section");
      el.className = "sheet-section";
      el.id = "sheet-" + sec.key;
      el.setAttribute("aria-busy", "true");
      el.innerHTML = "<h3>" + esc(pick(sec, "title")) + '</h3><div class="body muted">…</div>';
      sheetContent.appendChild(el);
      var body = el.querySelector(".body");
      getJSON(sec.url).then(function (res) {
        if (selectedId !== s.id) { return; }
        body.classList.remove("muted");
        var render = (window.PortalSections || {})[sec.key];
        if (!res.ok) { body.innerHTML = '<p class="muted">' + esc(res.body.message || "") + "</p>"; }
        else if (render) { render(res.body, helpers, body, s); }
        el.setAttribute("aria-busy", "false");
        el.dataset.loaded = "1";
      });
    });
  }

  function openSheet(s, fly) {
    selectedId = s.id;
    document.body.dataset.sheet = String(s.id);
    sheetContent.innerHTML = renderSheet(s);
    sectionLayer.clearLayers();
    loadSections(s);
    sheet.hidden = false;
    highlight.clearLayers().addData(s.geometry);
    widening.clearLayers();
    if (s.road_widening && s.road_widening.geometry) { widening.addData(s.road_widening.geometry); }
    if (fly) {
      map.flyTo([s.point.coordinates[1], s.point.coordinates[0]], Math.max(map.getZoom(), 18), { duration: 0.6 });
    }
    updateHash();
  }

  function closeSheet() {
    sheet.hidden = true;
    selectedId = null;
    delete document.body.dataset.sheet;
    highlight.clearLayers();
    widening.clearLayers();
    sectionLayer.clearLayers();
    updateHash();
  }
  sheet.querySelector(".close").addEventListener("click", closeSheet);
  // Keyboard: Escape in the sheet closes it and returns to the search box.
  sheet.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { closeSheet(); document.getElementById("q").focus(); }
  });

  function toast(message) {
    var el = document.getElementById("toast");
    el.textContent = message;
    el.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { el.hidden = true; }, 3000);
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, status: r.status, body: body }; });
    });
  }

  function loadParcel(id, fly) {
    return getJSON(cfg.parcelUrl.replace("ID", id)).then(function (res) {
      if (res.ok) { openSheet(res.body, fly); } else { toast(res.body.message); }
    });
  }

  // --- Measure: click points for a distance; click the first point again to close a shape and get its area.
  var measuring = false;
  var measurePoints = [];
  var measureClosed = false;  // the last click closed the shape: the next click starts a new one
  var measureLayer = L.layerGroup().addTo(map);
  var measureBox = L.control({ position: "bottomleft" });
  measureBox.onAdd = function () { return L.DomUtil.create("div", "measure-box"); };
  measureBox.addTo(map);

  function ringArea(latlngs) {
    // Area of a polygon on the sphere (m²), by the formula of Chamberlain and Duquette (as geodesy libraries do).
    var R = 6378137, total = 0, rad = Math.PI / 180;
    for (var i = 0; i < latlngs.length; i++) {
      var a = latlngs[i], b = latlngs[(i + 1) % latlngs.length];
      total += (b.lng - a.lng) * rad * (2 + Math.sin(a.lat * rad) + Math.sin(b.lat * rad));
    }
    return Math.abs(total * R * R / 2);
  }

  function showMeasure(closed) {
    var box = measureBox.getContainer();
    if (!measuring) { box.style.display = "none"; return; }
    box.style.display = "block";
    var length = 0;
    for (var i = 1; i < measurePoints.length; i++) { length += map.distance(measurePoints[i - 1], measurePoints[i]); }
    if (closed) { length += map.distance(measurePoints[measurePoints.length - 1], measurePoints[0]); }
    var text = interpolate(gettext("Distance: %s m"), [fmt(length, 1)]);
    if (closed) { text += " — " + interpolate(gettext("Area: %s m²"), [fmt(ringArea(measurePoints), 1)]); }
    box.textContent = measurePoints.length ? text : gettext("Click on the map");
    box.dataset.length = length.toFixed(2);
    box.dataset.area = closed ? ringArea(measurePoints).toFixed(2) : "";
    box.dataset.points = JSON.stringify(measurePoints.map(function (p) { return [p.lat, p.lng]; }));
  }

  function measureClick(e) {
    var closed = measurePoints.length > 2 &&
      map.latLngToContainerPoint(measurePoints[0]).distanceTo(e.containerPoint) < 10;
    measureLayer.clearLayers();
    if (!closed) { measurePoints.push(e.latlng); }
    (closed ? L.polygon(measurePoints, { color: "#ff6f00" }) : L.polyline(measurePoints, { color: "#ff6f00" }))
      .addTo(measureLayer);
    measurePoints.forEach(function (p) { L.circleMarker(p, { radius: 4, color: "#ff6f00" }).addTo(measureLayer); });
    showMeasure(closed);
    measureClosed = closed;
  }

  map.on("click", function (e) {
    if (measuring) {
      if (measureClosed) { measurePoints = []; }
      measureClick(e);
      return;
    }
    getJSON(cfg.atUrl + "?lon=" + e.latlng.lng.toFixed(7) + "&lat=" + e.latlng.lat.toFixed(7)).then(function (res) {
      if (res.ok) { openSheet(res.body, false); return; }
      // the two expected answers have the interface's own wording; any other error is the API's message, which
      // comes in the page's language (the request carries the language cookie)
      toast(res.body.error === "outside_city" ? T.outsideCity : res.status === 404 ? T.noParcel : res.body.message);
    });
  });

  // --- Search: type-ahead with the keyboard ------------------------------------------------------------------
  var input = document.getElementById("q");
  // Enter chooses a result (the keyboard handler below); the form itself never submits.
  input.form.addEventListener("submit", function (e) { e.preventDefault(); });
  var list = document.getElementById("results");
  var results = [];
  var active = -1;
  var pending = null;

  function label(r) {
    if (r.type === "street") { return esc(r.name); }
    var main = r.type === "postal_code" ? ltr(r.postal_code) : r.type === "plate" ? ltr(r.plate) :
      r.type === "source_id" ? T.sourceId + " " + ltr(r.source_id) : ltr(r.renewal_code || "");
    return main + ' <span class="muted">' + esc(r.land_use || "") + "</span>";
  }

  function showResults(items) {
    results = items;
    active = items.length ? 0 : -1;
    list.innerHTML = items.length ? items.map(function (r, i) {
      return '<li role="option" id="result-' + i + '" data-index="' + i + '"' + (i === 0 ? ' aria-selected="true"' : "") +
        ">" + label(r) + "</li>";
    }).join("") : '<li class="muted">' + T.results + "</li>";
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    input.setAttribute("aria-activedescendant", items.length ? "result-0" : "");
  }

  function hideResults() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
  }

  function choose(r) {
    hideResults();
    if (r.parcel_id) {
      // the sheet takes the focus, so a keyboard or screen-reader user lands on what they asked for
      loadParcel(r.parcel_id, true).then(function () { if (!sheet.hidden) { sheetContent.focus(); } });
    } else {
      map.flyTo([r.lat, r.lon], 18, { duration: 0.6 });
    }
  }

  input.addEventListener("input", function () {
    clearTimeout(pending);
    var q = input.value.trim();
    if (!q) { hideResults(); return; }
    pending = setTimeout(function () {
      getJSON(cfg.searchUrl + "?q=" + encodeURIComponent(q)).then(function (res) {
        if (res.ok && input.value.trim() === q) { showResults(res.body.results); }
      });
    }, 150);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!results.length) { return; }
      e.preventDefault();
      active = (active + (e.key === "ArrowDown" ? 1 : results.length - 1)) % results.length;
      Array.prototype.forEach.call(list.children, function (li, i) {
        li.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      input.setAttribute("aria-activedescendant", "result-" + active);
    } else if (e.key === "Enter") {
      e.preventDefault();
      if (active >= 0 && results[active]) { choose(results[active]); }
    } else if (e.key === "Escape") {
      hideResults();
    }
  });
  list.addEventListener("click", function (e) {
    var li = e.target.closest("li[data-index]");
    if (li) { choose(results[+li.dataset.index]); }
  });

  // --- Permalink --------------------------------------------------------------------------------------------
  function updateHash() {
    var c = map.getCenter();
    var hash = "#" + map.getZoom() + "/" + c.lat.toFixed(6) + "/" + c.lng.toFixed(6) + (selectedId ? "/" + selectedId : "");
    history.replaceState(null, "", hash);
  }
  map.on("moveend", updateHash);

  var restored = false;
  var parts = location.hash.replace("#", "").split("/");
  if (parts.length >= 3 && !isNaN(+parts[0]) && !isNaN(+parts[1]) && !isNaN(+parts[2])) {
    map.setView([+parts[1], +parts[2]], +parts[0]);
    restored = true;
    if (parts[3]) { loadParcel(parts[3], false); }
  }

  if (!restored) {
    // First view: the city's centre, at least one zoom level past the one where parcels appear (their tiles then
    // hold a quarter as many parcels each, and the first ones are drawn sooner: bench/first_paint.py).
    var b = JSON.parse(document.getElementById("city-data").textContent).bbox;
    var parcelsZoom = Math.max.apply(null, layers.filter(function (l) { return l.name === "parcels"; })
      .map(function (l) { return l.min_zoom; }).concat([0]));
    if (b) {
      var bounds = L.latLngBounds([[b[1], b[0]], [b[3], b[2]]]);
      map.setView(bounds.getCenter(), Math.max(map.getBoundsZoom(bounds), parcelsZoom + 1));
    }
  }
  addTileLayers(JSON.parse(document.getElementById("versions-data").textContent));

  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    var div = L.DomUtil.create("div", "legend");
    // a <details>: open on wide screens, folded on a phone so the map stays visible (print opens it)
    div.innerHTML = "<details" + (window.innerWidth > 700 ? " open" : "") + "><summary>" +
      gettext("Legend") + "</summary>" + ["residential", "commercial", "education", "religious", "green_space", "health", "industrial",
                     "historic_heritage", "vacant"].map(function (k) {
      return '<i style="background:' + USE_COLORS[k] + '"></i>' + esc(landUseName(k));
    }).join("<br>") + '<br><i style="background:#d50000"></i>' + gettext("Road widening") +
      "<hr><b>" + T.zoning + "</b><br>" + ZONES.map(function (z) {
        return '<i style="background:' + esc(z.colour) + '"></i>' + ltr(z.value) +
          (z.label && z.label !== z.value ? " " + esc(z.label) : "");
      }).join("<br>") + "</details>";
    L.DomEvent.disableClickPropagation(div);
    return div;
  };
  legend.addTo(map);
  // The language switch comes back to the same view and parcel: the permalink is the page's fragment, which a form
  // post would drop.
  var langForm = document.querySelector("form.lang");
  if (langForm) {
    langForm.addEventListener("submit", function () { langForm.elements.next.value = location.pathname + location.hash; });
  }

  document.body.dataset.portalReady = "1";  // every control is wired (tests wait for this before typing)
})();
