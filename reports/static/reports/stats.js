// The statistics page's charts (Chart.js from npm, served by the app): month by month reported vs resolved, the
// median days to fix by month and by category, reports by category and by district. The numbers are the page's own
// (#stats-data, the same tables as /api/reports/stats); text from Django's JavaScript catalogue (gettext).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("stats-data").textContent);
  var fa = window.REPORTS_LANG === "fa";
  var PERSIAN = "۰۱۲۳۴۵۶۷۸۹";
  function num(value) {
    var text = typeof value === "number" ? value.toLocaleString("en-US", { maximumFractionDigits: 1 }) : String(value);
    if (!fa) { return text; }
    return text.replace(/[0-9]/g, function (d) { return PERSIAN[+d]; });
  }
  // Data in two languages is picked by the page's language (the Persian value stands in for a missing English one).
  function name(row) { return (!fa && row.name_en) || row.name; }

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  var axis = { ticks: { callback: function (v) { return num(v); } }, beginAtZero: true };
  var rtl = { rtl: fa, textDirection: document.documentElement.dir || "ltr" };

  function chart(id, type, labels, datasets, horizontal) {
    var canvas = document.getElementById(id);
    if (!canvas) { return null; }
    var scales = horizontal ? { x: axis, y: { reverse: false } } : { y: axis, x: { reverse: fa } };
    return new Chart(canvas, {
      type: type,
      data: { labels: labels, datasets: datasets },
      options: {
        indexAxis: horizontal ? "y" : "x",
        scales: scales,
        plugins: {
          legend: Object.assign({ display: datasets.length > 1 }, rtl),
          tooltip: Object.assign({ callbacks: { label: function (c) {
            return (c.dataset.label ? c.dataset.label + ": " : "") + num(c.parsed[horizontal ? "x" : "y"]);
          } } }, rtl)
        }
      }
    });
  }

  var months = data.by_month;
  var monthLabels = months.map(function (m) { return (!fa && m.label_en) || m.label; });
  chart("chart-trend", "line", monthLabels, [
    { label: gettext("Reported"), data: months.map(function (m) { return m.reports; }), borderColor: "#e65100",
      backgroundColor: "#e6510033", tension: 0 },
    { label: gettext("Resolved"), data: months.map(function (m) { return m.resolved; }), borderColor: "#2e7d32",
      backgroundColor: "#2e7d3233", tension: 0 }
  ]);
  chart("chart-month-median", "bar", monthLabels, [
    { label: gettext("Median days to fix"), data: months.map(function (m) { return m.median_days; }),
      backgroundColor: "#546e7a" }
  ]);
  var cats = data.by_category;
  chart("chart-category", "bar", cats.map(name), [
    { label: gettext("Reports"), data: cats.map(function (c) { return c.reports; }),
      backgroundColor: cats.map(function (c) { return c.colour; }) }
  ], true);
  chart("chart-category-median", "bar", cats.map(name), [
    { label: gettext("Median days to fix"), data: cats.map(function (c) { return c.median_days; }),
      backgroundColor: cats.map(function (c) { return c.colour; }) },
    { label: gettext("Days to fix (SLA)"), data: cats.map(function (c) { return c.sla_days; }),
      backgroundColor: "#b0bec5" }
  ], true);
  var districts = data.by_district;
  chart("chart-district", "bar", districts.map(function (d) {
    return d.code ? name(d) : gettext("Outside the districts");
  }), [
    { label: gettext("Reports"), data: districts.map(function (d) { return d.reports; }), backgroundColor: "#123c52" },
    { label: gettext("Resolved"), data: districts.map(function (d) { return d.resolved; }), backgroundColor: "#2e7d32" }
  ]);
})();
