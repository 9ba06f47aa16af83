// The permits' section of the parcel sheet: the parcel's issued permits and certificates (anyone), the signed-in
// applicant's own cases, the open cases (staff who may see them), and "Apply" links per case type. Data from
// /api/permits/parcels/<id>/section (what the asking person may see); text from Django's JavaScript catalogue.
(function () {
  "use strict";
  window.PortalSections = window.PortalSections || {};

  // dates as on the pages: Jalali with Persian digits on Persian pages, ISO-like on English ones
  var LOCALES = { fa: "fa-IR-u-ca-persian", en: "en-CA" };
  var SEP = pgettext("list separator", ", ");   // the Persian comma on Persian pages (the catalogue)
  function day(iso) {
    var locale = LOCALES[document.documentElement.lang] || LOCALES.fa;
    return '<bdi dir="ltr">' + new Date(iso).toLocaleDateString(locale, { year: "numeric", month: "2-digit",
                                                                          day: "2-digit" }) + "</bdi>";
  }

  window.PortalSections.permits = function (data, h, el) {
    function link(url, text) { return url ? '<a href="' + h.esc(url) + '">' + text + "</a>" : text; }
    var html = "<h4>" + gettext("Issued permits and certificates") + '</h4><ul data-testid="permits-issued">';
    html += data.issued.length ? data.issued.map(function (i) {
      var approved = [];
      if (i.approved.floors) { approved.push(interpolate(gettext("%(n)s floors"), { n: h.num(i.approved.floors) }, true)); }
      if (i.approved.gross_floor_area) { approved.push(h.fmt(i.approved.gross_floor_area, 0) + " m²"); }
      return "<li>" + h.esc(i.kind_label) + " " + h.ltr(i.number) + " — " + h.esc(i.case_type) +
        (i.work ? " (" + h.esc(i.work) + ")" : "") + ": " + day(i.issued_at) +
        (i.valid_until ? SEP + gettext("valid until") + " " + day(i.valid_until) : "") +
        (i.revoked ? " — " + gettext("revoked") : "") +
        (approved.length ? " — " + approved.join(h.listSeparator) : "") +
        (i.verification_url ? " " + link(i.verification_url, gettext("Verify it")) : "") + "</li>";
    }).join("") : "<li>" + gettext("none") + "</li>";
    html += "</ul>";
    if (data.mine && data.mine.length) {
      html += "<h4>" + gettext("Your applications") + '</h4><ul data-testid="permits-mine">' + data.mine.map(function (c) {
        return "<li>" + link(c.url, h.esc(c.case_type)) + (c.tracking_code ? " " + h.ltr(c.tracking_code) : "") +
          " — " + h.esc(c.status_label) + SEP + h.esc(c.step) + "</li>";
      }).join("") + "</ul>";
    }
    if (data.open_cases) {
      html += "<h4>" + gettext("Open cases") + '</h4><ul data-testid="permits-open">';
      html += data.open_cases.length ? data.open_cases.map(function (c) {
        return "<li>" + link(c.url, h.ltr(c.tracking_code)) + " " + h.esc(c.case_type) + " — " + h.esc(c.step) +
          (c.holder ? SEP + h.esc(c.holder) : "") +
          (c.days_left !== null ? SEP + interpolate(gettext("%(n)s days left"), { n: h.num(c.days_left) }, true) : "") +
          "</li>";
      }).join("") : "<li>" + gettext("none") + "</li>";
      html += "</ul>";
    }
    html += "<h4>" + gettext("Apply") + "</h4>";
    if (data.demo) { html += '<p class="demo-tag">' + gettext("Demo case types: the municipality replaces them with its own.") + "</p>"; }
    html += '<ul data-testid="permits-apply">' + data.apply.map(function (a) {
      if (a.allowed) { return "<li>" + link(a.url, h.esc(a.name)) + "</li>"; }
      return "<li>" + h.esc(a.name) + " <small>(" + h.esc(a.reason) +
        (data.signed_in ? "" : " " + link(a.url, gettext("Sign in"))) + ")</small></li>";
    }).join("") + "</ul>";
    html += "<p>" + link(data.status_url, gettext("Follow a case")) +
      (data.is_engineer ? " · " + link(data.engineer_url, gettext("Ask the owner's consent")) : "") + "</p>";
    el.innerHTML = html;
  };
})();
