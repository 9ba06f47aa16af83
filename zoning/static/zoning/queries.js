/* The planners' query page: the filter form -> /api/zoning/parcels (one page with geometry) on the map and in a
   table; the count and the CSV / GeoJSON downloads use the same filters. Interface text from Django's JavaScript
   catalogue (ngettext); land uses by the name the API gives in the page's language; figures in Persian digits on a
   Persian page. */
(function () {
  "use strict";
  // the municipality's path prefix ("" at the root; README, "Many municipalities"), set on <html> by base.html
  var ROOT = document.documentElement.getAttribute("data-root") || "";
  var form = document.getElementById("query-form");
  // The map opens on the loaded city's extent (the server's, from the parcels), before any results are drawn.
  var start = JSON.parse(document.getElementById("map-start").textContent);
  var map = L.map("results-map", { attributionControl: false, zoomControl: false });
  if (start.bbox) {
    map.fitBounds([[start.bbox[1], start.bbox[0]], [start.bbox[3], start.bbox[2]]]);
  } else {
    map.setView(start.center, start.zoom);
  }
  L.control.zoom({ zoomInTitle: gettext("Zoom in"), zoomOutTitle: gettext("Zoom out") }).addTo(map);
  var fa = document.documentElement.lang === "fa";
  var layer = L.geoJSON(null, { style: { color: "#6a1b9a", weight: 1, fillOpacity: 0.35 } }).addTo(map);
  var page = 1;
  function num(t) {
    if (t === null || t === undefined || !fa) { return t; }
    return String(t).replace(/[0-9]/g, function (d) { return "۰۱۲۳۴۵۶۷۸۹"[+d]; });
  }
  function esc(t) { return String(t === null || t === undefined ? "—" : t).replace(/[&<>"]/g, function (c) {
    return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }
  function params() {
    var p = new URLSearchParams();
    new FormData(form).forEach(function (v, k) { if (v !== "") { p.set(k, v); } });
    return p;
  }
  function run() {
    var p = params();
    document.getElementById("csv").href = ROOT + "/api/zoning/parcels?" + p + "&format=csv";
    document.getElementById("geojson").href = ROOT + "/api/zoning/parcels?" + p + "&format=geojson";
    p.set("page", page); p.set("geometry", "true"); p.set("page_size", "200");
    fetch(ROOT + "/api/zoning/parcels?" + p).then(function (r) { return r.json(); }).then(function (res) {
      var count = document.querySelector("[data-testid=query-count]");
      if (res.error) { count.textContent = res.message; return; }
      count.textContent = interpolate(ngettext("%s parcel", "%s parcels", res.count),
                                      [num(res.count.toLocaleString("en-US"))]);
      count.dataset.count = res.count;
      layer.clearLayers();
      document.getElementById("results").innerHTML = res.results.map(function (r) {
        layer.addData({ type: "Feature", geometry: r.geometry, properties: {} });
        return "<tr><td><a href=\"" + ROOT + "/zoning/parcels/" + r.id + "/\">" + num(r.id) + "</a></td><td dir=ltr>" +
          esc(num(r.renewal_code)) + "</td><td dir=ltr>" + esc(r.zone_code) + "</td><td>" +
          esc(r.land_use_name || r.land_use) + "</td><td>" + esc(num(r.area)) + "</td><td>" +
          esc(num(r.widening_area)) + "</td></tr>";
      }).join("");
      if (res.results.length) { map.fitBounds(layer.getBounds(), { maxZoom: 18 }); }
      document.getElementById("page").textContent = num(page + " / " + Math.max(1, Math.ceil(res.count / 200)));
    });
  }
  form.addEventListener("submit", function (e) { e.preventDefault(); page = 1; run(); });
  document.getElementById("prev").addEventListener("click", function () { if (page > 1) { page -= 1; run(); } });
  document.getElementById("next").addEventListener("click", function () { page += 1; run(); });
  run();
}());
