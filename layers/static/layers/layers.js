// Layers app in the portal: raster layers (the city's hillshade, orthophotos) as XYZ PNG tiles in the layer switcher,
// and a download dialog (layer, format, CRS, current view or district): each export is a job a worker makes while
// the dialog shows its progress (jobs/static/jobs/jobs.js), then the file is downloaded.
// Plugs in on map.js's "portal:layers" event (window.Portal = {map, helpers, layersControl}).
(function () {
  "use strict";
  // the municipality's path prefix ("" at the root; README, "Many municipalities"), set on <html> by base.html
  var ROOT = document.documentElement.getAttribute("data-root") || "";
  // Interface text from Django's JavaScript catalogue (gettext), loaded before this script.
  var T = {
    download: gettext("Download a layer"), layer: gettext("Layer"), format: gettext("Format"),
    crs: gettext("Coordinate system (EPSG code; empty: the city's)"), view: gettext("Only the current map view"),
    district: gettext("District code (optional)"), go: gettext("Download"), close: gettext("Close"),
    done: gettext("Done"), failed: gettext("Error: %s")
  };
  var FORMATS = [["gpkg", "GeoPackage (QGIS)"], ["shp", "Shapefile (zip)"], ["geojson", "GeoJSON"], ["csv", "CSV"],
                 ["fgb", "FlatGeobuf"]];

  function addRasters(portal) {
    var pick = portal.helpers.pick;
    fetch(ROOT + "/api/rasters").then(function (r) { return r.json(); }).then(function (data) {
      data.rasters.forEach(function (raster) {
        if (raster.kind === "dem") { return; }  // the hillshade made from it is what people look at
        var layer = L.tileLayer(raster.tiles, {
          opacity: raster.kind === "hillshade" ? 0.35 : 1, zIndex: 0, maxNativeZoom: 18, maxZoom: 21,
          attribution: raster.is_demo ? gettext("Demo data") : ""
        });
        layer.on("tileload", function () {
          document.body.dataset.rasterTiles = String(Number(document.body.dataset.rasterTiles || 0) + 1);
        });
        if (raster.kind === "hillshade") { layer.addTo(portal.map); }
        portal.layersControl.addOverlay(layer, pick(raster, "title"));
      });
      document.body.dataset.rastersReady = "1";
    });
  }

  function field(label, control) {
    return "<label>" + label + " " + control + "</label>";
  }

  function buildDialog(portal, layers) {
    var dialog = document.createElement("dialog");
    dialog.className = "layer-download";
    dialog.setAttribute("aria-label", T.download);
    var options = layers.map(function (l) {
      return '<option value="' + l.name + '">' + portal.helpers.esc(portal.helpers.pick(l, "title")) + "</option>";
    }).join("");
    dialog.innerHTML = "<style>.layer-download{width:min(24rem,90vw);border:1px solid #123c52;border-radius:6px}" +
      ".layer-download h2{margin:0 0 .6em;font-size:1.1rem}.layer-download label{display:block;margin:.5em 0}" +
      ".layer-download select,.layer-download input:not([type=checkbox]){display:block;width:100%;margin-top:.2em}" +
      "</style>" +
      "<form method=\"dialog\"><h2>" + T.download + "</h2>" +
      field(T.layer, '<select name="layers">' + options + "</select>") +
      field(T.format, '<select name="format">' + FORMATS.map(function (f) {
        return '<option value="' + f[0] + '">' + f[1] + "</option>"; }).join("") + "</select>") +
      field(T.crs, '<input name="srid" inputmode="numeric" dir="ltr">') +
      field(T.district, '<input name="district" dir="ltr">') +
      '<label><input type="checkbox" name="view"> ' + T.view + "</label>" +
      '<div class="job"></div><output role="status"></output>' +
      '<p><button type="submit" value="go">' + T.go + '</button> <button type="button" class="close">' + T.close +
      "</button></p></form>";
    document.body.appendChild(dialog);
    var form = dialog.querySelector("form");
    var box = dialog.querySelector(".job");
    var out = dialog.querySelector("output");
    dialog.querySelector(".close").onclick = function () { dialog.close(); };
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = { layers: form.layers.value, format: form.format.value };
      if (form.srid.value.trim()) { body.srid = form.srid.value.trim(); }
      if (form.district.value.trim()) { body.district = form.district.value.trim(); }
      if (form.view.checked) {
        var b = portal.map.getBounds();
        body.bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) {
          return v.toFixed(6); }).join(",");
      }
      download(body, box, out, form.querySelector("button[type=submit]"));
    });
    return dialog;
  }

  // jobs/static/jobs/jobs.js (window.Jobs), loaded from beside this script when the page did not load it.
  function withJobs(callback) {
    if (window.Jobs) { callback(window.Jobs); return; }
    var me = document.querySelector('script[src*="layers/layers.js"]');
    var script = document.createElement("script");
    script.src = me.src.replace(/layers\/layers\.js.*$/, "jobs/jobs.js");
    script.onload = function () { callback(window.Jobs); };
    document.head.appendChild(script);
  }

  // Every export is a job (POST /api/layers/export/jobs): a worker writes the file while the dialog shows its
  // progress; when it is done the file is downloaded and a link to it stays in the dialog.
  function download(body, box, out, button) {
    out.textContent = "";
    box.textContent = "";
    button.disabled = true;
    withJobs(function (Jobs) {
      Jobs.start(ROOT + "/api/layers/export/jobs", body, { container: box }).then(function (job) {
        box.textContent = "";
        var link = Jobs.resultLink(job);
        box.appendChild(link);
        out.textContent = T.done + " (" + job.result_name + ")";
        document.body.dataset.lastDownload = job.result_name;
        link.click();
      }).catch(function (err) {
        box.textContent = "";
        out.textContent = interpolate(T.failed, [err.message]);
      }).then(function () { button.disabled = false; });
    });
  }

  function addDownload(portal) {
    fetch(ROOT + "/api/layers").then(function (r) { return r.json(); }).then(function (data) {
      var dialog = buildDialog(portal, data.layers);
      var control = L.control({ position: "topleft" });
      control.onAdd = function () {
        var div = L.DomUtil.create("div", "leaflet-bar tools");
        div.innerHTML = '<a href="#" role="button" class="download" title="' + T.download + '" aria-label="' +
          T.download + '">⤓</a>';
        L.DomEvent.disableClickPropagation(div);
        div.querySelector("a").onclick = function (e) { e.preventDefault(); dialog.showModal(); };
        return div;
      };
      control.addTo(portal.map);
      document.body.dataset.downloadReady = "1";
    });
  }

  function start(portal) { addRasters(portal); addDownload(portal); withJobs(function () {}); }
  if (window.Portal && window.Portal.layersControl) { start(window.Portal); }
  else { document.addEventListener("portal:layers", function (e) { start(e.detail); }, { once: true }); }
})();
