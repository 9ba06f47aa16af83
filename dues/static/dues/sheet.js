// The renewal-dues section of the parcel sheet: what is owed today, year by year (arrears with their penalty,
// the current year with its good-payer discount), and a link to the bill and online payment.
(function () {
  "use strict";
  window.PortalSections = window.PortalSections || {};
  window.PortalSections.dues = function (data, h, el) {
    var fa = h.fa;
    var T = fa ? { year: "سال", due: "قابل پرداخت", penalty: "جریمه", discount: "جایزه", arrears: "بدهی سال‌های قبل",
                   payable: "قابل پرداخت (ریال)", bill: "قبض و پرداخت", none: "بدهی ندارد", asOf: "تا تاریخ" }
                 : { year: "Year", due: "Due", penalty: "Penalty", discount: "Discount", arrears: "Arrears",
                     payable: "Payable (rials)", bill: "Bill and payment", none: "Nothing owed", asOf: "As of" };
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
      html += data.owed.payable > 0
        ? '<p><a data-testid="dues-bill-link" href="' + h.esc(data.bill_url) + '">' + T.bill + "</a></p>"
        : "<p>" + T.none + "</p>";
    }
    el.innerHTML = html;
  };
})();
