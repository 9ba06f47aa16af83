// The renewal-dues section of the parcel sheet: what is owed today, year by year (arrears with their penalty,
// the current year with its good-payer discount), and a link to the bill and online payment. Interface text from
// Django's JavaScript catalogue (gettext).
(function () {
  "use strict";
  window.PortalSections = window.PortalSections || {};

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) { return input.value; }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  window.PortalSections.dues = function (data, h, el) {
    var T = { year: gettext("Year"), due: gettext("Due"), penalty: gettext("Penalty"), discount: gettext("Discount"),
              arrears: gettext("Arrears"), payable: gettext("Payable (rials)"), bill: gettext("Bill and payment"),
              none: gettext("Nothing owed"), asOf: gettext("As of") };
    var html = "";
    if (data.error) { html += '<p class="muted">' + h.esc(data.error) + "</p>"; }
    if (data.owed) {
      html += "<dl>" + h.row(T.asOf, h.ltr(data.as_of)) + "</dl>";
      if (data.owed.items.length) {
        html += '<table class="dues-years"><thead><tr><th>' + T.year + "</th><th>" + T.penalty + "</th><th>" +
          T.discount + "</th><th>" + T.due + "</th></tr></thead><tbody>";
        data.owed.items.forEach(function (i) {
          html += "<tr><td>" + h.num(i.year) + "</td><td>" + h.fmt(i.penalty, 0) + "</td><td>" + h.fmt(i.discount, 0) +
            "</td><td>" + h.fmt(i.due, 0) + "</td></tr>";
        });
        html += "</tbody></table>";
      }
      html += "<dl>" + h.row(T.arrears, h.fmt(data.owed.arrears, 0)) +
        h.row(T.payable, '<strong data-testid="dues-payable">' + h.fmt(data.owed.payable, 0) + "</strong>") + "</dl>";
      // Issuing a bill writes one, so it is a POST with the page's CSRF token (the map page has one).
      html += data.owed.payable > 0
        ? '<form method="post" action="' + h.esc(data.bill_url) + '"><input type="hidden" name="csrfmiddlewaretoken" value="' +
          h.esc(csrfToken()) + '"><button type="submit" data-testid="dues-bill-link">' + T.bill + "</button></form>"
        : "<p>" + T.none + "</p>";
    }
    el.innerHTML = html;
  };
})();
