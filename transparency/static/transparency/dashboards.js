// The dashboards' charts (Chart.js from npm, served by the app). Everything people read comes from the page: the
// labels, the series' names and the numbers are in #dashboard-charts (made by transparency/dashboards.py in the
// page's language); numbers are written by the browser's Intl for the page's language, and the x axis runs the
// way the page does (right to left on a Persian page). Each chart's figures are also in the table under it.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-charts");
  if (!source || typeof Chart === "undefined") { return; }
  var panels = JSON.parse(source.textContent);
  var root = document.documentElement;
  var rtl = root.dir === "rtl";
  var numbers = new Intl.NumberFormat(root.lang || undefined, { maximumFractionDigits: 1 });
  var COLOURS = ["#123c52", "#2e7d32", "#e65100", "#6a1b9a", "#00838f", "#c62828", "#5d4037"];

  function num(value) { return typeof value === "number" ? numbers.format(value) : String(value); }

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  function draw(canvas) {
    var panel = panels[canvas.getAttribute("data-panel")];
    var spec = panel && panel.charts[Number(canvas.getAttribute("data-chart"))];
    if (!spec) { return; }
    var line = panel.chart === "line";
    var twoAxes = spec.datasets.some(function (d) { return d.axis === "y2"; });
    var datasets = spec.datasets.map(function (d, i) {
      var colour = COLOURS[i % COLOURS.length];
      return { label: d.label, data: d.data, yAxisID: d.axis, borderColor: colour, tension: 0,
               backgroundColor: line ? colour + "33" : colour, type: line || d.axis === "y2" ? "line" : "bar" };
    });
    var scales = {
      x: { reverse: rtl, stacked: panel.stacked },
      y: { beginAtZero: true, stacked: panel.stacked, position: rtl ? "right" : "left",
           ticks: { callback: function (v) { return num(v); } } }
    };
    if (twoAxes) {
      scales.y2 = { beginAtZero: true, position: rtl ? "left" : "right", grid: { drawOnChartArea: false },
                    ticks: { callback: function (v) { return num(v); } } };
    }
    return new Chart(canvas, {
      type: line ? "line" : "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        scales: scales,
        plugins: {
          legend: { display: datasets.length > 1, rtl: rtl, textDirection: root.dir || "ltr" },
          tooltip: { rtl: rtl, textDirection: root.dir || "ltr", callbacks: { label: function (c) {
            return c.dataset.label + ": " + num(c.parsed.y);
          } } }
        }
      }
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("canvas[data-panel]"), draw);
})();
