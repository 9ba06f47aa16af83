// The staff side of reports (reports/staff_views.py): the inbox's map beside its list, markers and rows coloured by
// the SLA (on time / due within a day / overdue), "only what the map shows" through the inbox JSON
// (/api/reports/staff/inbox), and on a report's page its place on a map and the workflow's actions, each a POST to
// /api/reports/<code>/status (a photo of the fix first to /api/reports/<code>/resolution-photo).
// Interface text comes from Django's JavaScript catalogue (gettext, loaded before this script).
(function () {
  "use strict";
  var PERSIAN = "۰۱۲۳۴۵۶۷۸۹";
  var fa = (document.documentElement.lang || "fa").indexOf("fa") === 0;
  var COLOURS = { on_time: "#2e7d32", due_soon: "#f9a825", overdue: "#c62828", finished: "#757575" };

  function num(value) {
    var text = String(value === null || value === undefined ? "" : value);
    if (!fa) { return text; }
    return text.replace(/[0-9]/g, function (d) { return PERSIAN[+d]; });
  }
  function esc(text) {
    return String(text === null || text === undefined ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) { return decodeURIComponent(match[1]); }
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function baseMap(el, config) {
    var map = L.map(el, { minZoom: 3, maxZoom: 21 });
    if (config && config.basemap_url) {
      L.tileLayer(config.basemap_url, { attribution: config.basemap_attribution || "", maxZoom: 21 }).addTo(map);
    }
    window.addReportsBaseLayers(map, config, 21);  // the city's own layers under the reports
    return map;
  }
  function marker(lat, lon, sla) {
    var colour = COLOURS[sla] || COLOURS.finished;
    return L.circleMarker([lat, lon], { radius: 8, weight: 2, color: "#222", fillColor: colour, fillOpacity: 0.9,
                                        className: "sla-marker sla-" + sla });
  }

  // --- the inbox -------------------------------------------------------------------------------------------------
  function inbox() {
    var mapEl = document.getElementById("staff-map");
    var config = JSON.parse(document.getElementById("staff-map-config").textContent);
    var data = JSON.parse(document.getElementById("inbox-data").textContent);
    var map = baseMap(mapEl, config);
    var layer = L.featureGroup().addTo(map);
    var tbody = document.querySelector("[data-testid=inbox] tbody");
    var total = document.querySelector(".inbox-total");
    var markers = {};

    function select(code) {
      Array.prototype.forEach.call(tbody.querySelectorAll("tr.selected"), function (tr) {
        tr.classList.remove("selected");
      });
      var row = tbody.querySelector('tr[data-code="' + code + '"]');
      if (row) { row.classList.add("selected"); row.scrollIntoView({ block: "nearest" }); }
    }
    function popup(r) {
      return '<a href="' + esc(r.url) + '"><bdi dir="ltr">' + esc(num(r.tracking_code)) + "</bdi></a><br>" +
        esc(r.category.name) + "<br>" + esc(r.status_label);
    }
    function draw(results, fit) {
      layer.clearLayers();
      markers = {};
      results.forEach(function (r) {
        var m = marker(r.lat, r.lon, r.sla).bindPopup(popup(r));
        m.on("click", function () { select(r.tracking_code); });
        m.addTo(layer);
        markers[r.tracking_code] = m;
      });
      if (fit && results.length) {
        map.fitBounds(layer.getBounds().pad(0.2), { maxZoom: 17 });
      } else if (fit) {
        map.setView(config.center, 14);
      }
      document.body.dataset.inboxMarkers = String(results.length);
    }
    function rows(results) {
      tbody.textContent = "";
      if (!results.length) {
        tbody.innerHTML = '<tr><td colspan="6">' + esc(gettext("No reports.")) + "</td></tr>";
      }
      results.forEach(function (r) {
        var tr = document.createElement("tr");
        tr.className = "sla-" + r.sla;
        tr.dataset.code = r.tracking_code;
        tr.dataset.sla = r.sla;
        tr.innerHTML = '<td><span class="sla-dot sla-' + esc(r.sla) + '"></span><a href="' + esc(r.url) +
          '"><bdi dir="ltr">' + esc(num(r.tracking_code)) + "</bdi></a></td><td>" + esc(r.category.name) +
          "</td><td>" + esc(r.status_label) + "</td><td><bdi>" + esc(num(r.due_at.slice(0, 16).replace("T", " "))) +
          "</bdi></td><td>" + esc(r.district || "—") + '</td><td><bdi dir="ltr">' +
          esc(num(r.reporter_phone || "—")) + "</bdi></td>";
        tbody.appendChild(tr);
      });
    }
    tbody.addEventListener("mouseover", function (event) {
      var tr = event.target.closest("tr[data-code]");
      if (tr && markers[tr.dataset.code]) { markers[tr.dataset.code].setStyle({ weight: 4 }); }
    });
    tbody.addEventListener("mouseout", function (event) {
      var tr = event.target.closest("tr[data-code]");
      if (tr && markers[tr.dataset.code]) { markers[tr.dataset.code].setStyle({ weight: 2 }); }
    });
    draw(data.results, true);

    // Only what the map shows: the same filters and the map's box, through the JSON API.
    var inView = document.querySelector(".staff-filters .in-view");
    inView.hidden = false;
    inView.addEventListener("click", function () {
      var form = inView.form;
      var query = new URLSearchParams(new FormData(form));
      Array.from(query.keys()).forEach(function (key) { if (!query.get(key)) { query.delete(key); } });
      var b = map.getBounds();
      var clamp = function (v, lim) { return Math.max(-lim, Math.min(lim, v)); };
      query.set("bbox", [clamp(b.getWest(), 180), clamp(b.getSouth(), 90), clamp(b.getEast(), 180),
                         clamp(b.getNorth(), 90)].map(function (v) { return v.toFixed(6); }).join(","));
      fetch(config.api + "?" + query.toString(),
            { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (answer) {
          if (!answer.ok) { total.textContent = answer.body.message || gettext("Could not load the reports."); return; }
          rows(answer.body.results);
          draw(answer.body.results, false);
          total.textContent = interpolate(ngettext("%s report", "%s reports", answer.body.count),
                                          [num(answer.body.count)]);
        });
    });
    document.body.dataset.inboxReady = "1";
  }

  // --- a report's page ---------------------------------------------------------------------------------------------
  function reportPage() {
    var mapEl = document.getElementById("staff-map");
    if (mapEl) {
      var lat = Number(mapEl.dataset.lat), lon = Number(mapEl.dataset.lon);
      var configEl = document.getElementById("staff-map-config");
      var map = baseMap(mapEl, configEl ? JSON.parse(configEl.textContent) : null).setView([lat, lon], 17);
      marker(lat, lon, mapEl.dataset.sla).addTo(map);
    }
    var message = document.querySelector(".action-message");

    function say(text, ok) {
      message.textContent = text;
      message.classList.toggle("ok", !!ok);
    }
    function post(url, body, isJson) {
      var headers = { "X-CSRFToken": csrfToken(), Accept: "application/json" };
      if (isJson) { headers["Content-Type"] = "application/json"; }
      return fetch(url, { method: "POST", credentials: "same-origin", headers: headers,
                          body: isJson ? JSON.stringify(body) : body })
        .then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (answer) {
            if (!r.ok) {
              throw new Error(answer.message || (gettext("The change was refused.") + " (" + r.status + ")"));
            }
            return answer;
          });
        });
    }
    function photoFirst(form) {
      var input = form.querySelector("input[type=file][name=photo]");
      if (!input || !input.files.length) { return Promise.resolve(null); }
      var body = new FormData();
      body.append("photo", input.files[0]);
      return post(form.dataset.photoUrl, body, false);
    }

    Array.prototype.forEach.call(document.querySelectorAll("form.report-action"), function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var data = {};
        new FormData(form).forEach(function (value, key) {
          if (typeof value === "string" && value !== "") { data[key] = value; }
        });
        if (data.into_code) { data.into = data.into_code; }
        delete data.into_code;
        if (data.status === "merged" && !data.into) {
          say(gettext("Pick the report to merge into, or type its tracking code."));
          return;
        }
        if (data.status === "rejected" && !(data.note || "").trim()) {
          say(gettext("Say why the report is rejected."));
          return;
        }
        Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = true; });
        say(gettext("Saving…"), true);
        photoFirst(form)
          .then(function () { return post(form.action, data, true); })
          .then(function (answer) {
            say(interpolate(gettext("Done: %s."), [answer.status_label]), true);
            window.location.reload();
          })
          .catch(function (error) {
            say(error.message);
            Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = false; });
          });
      });
    });
    var photoForm = document.querySelector("form.report-photo");
    if (photoForm) {
      photoForm.addEventListener("submit", function (event) {
        event.preventDefault();
        post(photoForm.action, new FormData(photoForm), false)
          .then(function () { window.location.reload(); })
          .catch(function (error) { say(error.message); });
      });
    }
    document.body.dataset.reportReady = "1";
  }

  if (document.getElementById("inbox-data")) { inbox(); }
  if (document.querySelector("[data-testid=staff-report]")) { reportPage(); }
})();
