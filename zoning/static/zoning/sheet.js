/* The parcel sheet's "what can be built here?" section: the buildable envelope drawn on the map, the headline
   rules with their clauses, and a link to the engineer's page for a rule-by-rule decision. Interface text from
   Django's JavaScript catalogue (gettext); data in two languages picked by the portal's h.pick; a rule's value as
   the server worded it in the page's language (value_text). */
(function () {
  "use strict";
  // the municipality's path prefix ("" at the root; README, "Many municipalities"), set on <html> by base.html
  var ROOT = document.documentElement.getAttribute("data-root") || "";
  window.PortalSections = window.PortalSections || {};
  window.PortalSections.eligibility = function (data, h, el) {
    if (data.unavailable) { el.innerHTML = '<p class="muted">' + h.esc(data.unavailable) + "</p>"; return; }
    var env = data.envelope;
    if (env.footprint) {
      L.geoJSON(env.footprint, { style: { color: "#1b7f3b", weight: 2, dashArray: "4 3", fillOpacity: 0.25 },
                                 interactive: false }).addTo(h.layer);
    }
    var rows = [
      h.row(gettext("Zone"), h.ltr(data.zone_code)),
      h.row(gettext("Max floors"), h.fmt(env.max_floors, 0)),
      h.row(gettext("Max height (m)"), h.fmt(env.max_height)),
      h.row(gettext("Max gross floor area (m²)"), h.fmt(env.max_gross_floor_area, 0)),
      h.row(gettext("Max footprint (m²)"), h.fmt(env.max_footprint_area, 0)),
      h.row(gettext("Remaining floor area (m²)"), h.fmt(env.remaining_floor_area, 0))
    ];
    var cites = data.headline.filter(function (r) { return r.key === "max_far" || r.key === "max_coverage"; })
      .map(function (r) {
        return "<li>" + h.esc(h.pick(r, "title")) + ": " + h.esc(r.value_text) + " — <cite>" +
          h.esc(r.citation.document + h.listSeparator + r.citation.article) + "</cite></li>";
      }).join("");
    el.innerHTML = (data.notice ? '<p class="demo-tag" data-testid="rulebook-notice">' +
        h.esc(h.pick(data.notice)) + "</p>" : "") +
      "<dl>" + rows.join("") + "</dl><ul class=\"citations\">" + cites + "</ul>" +
      '<p><a href="' + ROOT + '/zoning/parcels/' + data.parcel_id + '/">' +
      gettext("Check a proposal (engineers)") + "</a> · " +
      '<a href="' + ROOT + '/api/parcels/' + data.parcel_id + '/envelope.dxf">DXF</a> · ' +
      '<a href="' + ROOT + '/api/parcels/' + data.parcel_id + '/envelope.geojson">GeoJSON</a></p>';
    el.dataset.envelope = env.footprint ? "drawn" : "none";
  };
}());
