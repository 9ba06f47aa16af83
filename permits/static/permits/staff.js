// The permit office's pages (permits/staff_views.py): the inbox's map of cases coloured by their SLA (the inbox's
// GeoJSON, same filters as the list), and a case's page: the parcel with its envelope on a small map, the document
// viewer (PDF in a frame, images inline), the step's actions, assignment, comments and the site-visit form (the
// phone's position or a click on the map, findings, photos). Every change is a POST naming the case's revision; a 409
// (a colleague acted first, or the step moved on) shows the conflict box and keeps what was typed.
// Interface text comes from Django's JavaScript catalogue (gettext, loaded before this script).
(function () {
  "use strict";

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) { return decodeURIComponent(match[1]); }
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function esc(text) {
    return String(text === null || text === undefined ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function json(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function baseMap(el, config) {
    var map = L.map(el, { minZoom: 3, maxZoom: 21 });
    if (config && config.basemap_url) {
      L.tileLayer(config.basemap_url, { attribution: config.basemap_attribution || "", maxZoom: 21 }).addTo(map);
    }
    return map;
  }

  // --- the inbox's map ---------------------------------------------------------------------------------------------
  function inboxMap() {
    var el = document.getElementById("inbox-map");
    var config = json("inbox-map-config");
    if (!el) { document.body.dataset.inboxReady = "1"; return; }
    var map = baseMap(el, config).setView(config.center, 13);
    var query = new URLSearchParams(window.location.search);
    query.delete("after");
    query.delete("view");
    fetch(config.api + "?" + query.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var layer = L.geoJSON(data, {
          pointToLayer: function (feature, latlng) {
            var sla = feature.properties.sla;
            return L.circleMarker(latlng, { radius: 8, weight: 2, color: "#222",
                                            fillColor: config.colours[sla] || "#757575", fillOpacity: 0.9,
                                            className: "sla-marker sla-" + sla });
          },
          onEachFeature: function (feature, marker) {
            var p = feature.properties;
            marker.bindPopup('<a href="' + esc(p.url) + '"><bdi dir="ltr">' + esc(p.tracking_code) + "</bdi></a><br>" +
                             esc(p.case_type) + "<br>" + esc(p.step));
          }
        }).addTo(map);
        if (data.features && data.features.length) { map.fitBounds(layer.getBounds().pad(0.2), { maxZoom: 17 }); }
        document.body.dataset.inboxMarkers = String((data.features || []).length);
        document.body.dataset.inboxReady = "1";
      });
  }

  // --- a case's page -----------------------------------------------------------------------------------------------
  function casePage(main) {
    var state = json("case-state");
    var urls = json("case-urls");
    var message = document.querySelector(".action-message");
    var conflict = document.querySelector(".conflict");
    var visitMarker = null;

    var map = baseMap(document.getElementById("case-map"), json("case-map-config"));
    var STYLES = {
      parcel: { color: "#5d4037", weight: 2, fillColor: "#d7ccc8", fillOpacity: 0.4 },
      envelope: { color: "#1565c0", weight: 2, dashArray: "5 4", fillColor: "#90caf9", fillOpacity: 0.3 },
      road_widening: { color: "#d50000", weight: 1, fillColor: "#d50000", fillOpacity: 0.4 }
    };
    var shapes = L.geoJSON(json("parcel-features"), {
      style: function (feature) { return STYLES[feature.properties.kind] || STYLES.parcel; }
    }).addTo(map);
    if (shapes.getLayers().length) { map.fitBounds(shapes.getBounds().pad(0.4), { maxZoom: 19 }); }

    function say(text, ok) {
      message.textContent = text;
      message.classList.toggle("ok", !!ok);
    }
    function buttons(form, disabled) {
      Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = disabled; });
    }
    function post(url, body, isJson) {
      var headers = { "X-CSRFToken": csrfToken(), Accept: "application/json" };
      if (isJson) { headers["Content-Type"] = "application/json"; }
      return fetch(url, { method: "POST", credentials: "same-origin", headers: headers,
                          body: isJson ? JSON.stringify(body) : body })
        .then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (answer) {
            if (!r.ok) {
              var error = new Error(answer.message || (gettext("The change was refused.") + " (" + r.status + ")"));
              error.status = r.status;
              throw error;
            }
            return answer;
          });
        });
    }
    function failed(form, error) {
      buttons(form, false);
      if (error.status === 409) {
        conflict.hidden = false;
        conflict.querySelector(".conflict-detail").textContent = error.message;
        conflict.scrollIntoView({ block: "center" });
        document.body.dataset.conflict = "1";
        say(error.message);
      } else {
        say(error.message);
      }
    }
    function done(text) {
      say(text, true);
      window.location.reload();
    }
    conflict.querySelector(".reload").addEventListener("click", function () { window.location.reload(); });

    Array.prototype.forEach.call(document.querySelectorAll("form.case-action"), function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var body = { action: form.dataset.action, revision: state.revision, fields: {} };
        new FormData(form).forEach(function (value, key) {
          if (key.indexOf("field_") === 0) { if (value !== "") { body.fields[key.slice(6)] = value; } }
          else { body[key] = value; }
        });
        buttons(form, true);
        say(gettext("Saving…"), true);
        post(urls.act, body, true)
          .then(function (answer) { done(interpolate(gettext("Done: the case is now at %s."), [answer.step_name])); })
          .catch(function (error) { failed(form, error); });
      });
    });
    var assign = document.querySelector("form.case-assign");
    if (assign) {
      assign.addEventListener("submit", function (event) {
        event.preventDefault();
        buttons(assign, true);
        post(urls.assign, { assignee: assign.elements.assignee.value || null, revision: state.revision }, true)
          .then(function () { done(gettext("Assigned.")); })
          .catch(function (error) { failed(assign, error); });
      });
    }
    var commentForm = document.querySelector("form.case-comment");
    commentForm.addEventListener("submit", function (event) {
      event.preventDefault();
      buttons(commentForm, true);
      var body = { note: commentForm.elements.note.value, internal: commentForm.elements.internal.checked };
      post(urls.comment, body, true)
        .then(function () { done(gettext("Comment added.")); })
        .catch(function (error) { failed(commentForm, error); });
    });

    // the document viewer: a PDF in a frame, an image inline
    var viewer = document.querySelector(".document-viewer");
    Array.prototype.forEach.call(document.querySelectorAll("button.view-document"), function (button) {
      button.addEventListener("click", function () {
        viewer.textContent = "";
        var el;
        if (button.dataset.viewer === "pdf") {
          el = document.createElement("iframe");
          el.title = gettext("Document");
        } else {
          el = document.createElement("img");
          el.alt = gettext("Document");
        }
        el.src = button.dataset.url;
        viewer.appendChild(el);
        viewer.hidden = false;
        viewer.scrollIntoView({ block: "nearest" });
      });
    });

    // the site visit: the phone's position, or a click on the map
    var visit = document.querySelector("form.visit-form");
    if (visit) {
      var where = visit.querySelector(".visit-position");
      var place = function (lat, lon, how) {
        visit.elements.lat.value = lat.toFixed(7);
        visit.elements.lon.value = lon.toFixed(7);
        if (visitMarker) { map.removeLayer(visitMarker); }
        visitMarker = L.circleMarker([lat, lon], { radius: 7, color: "#1b5e20", fillColor: "#66bb6a",
                                                   fillOpacity: 0.9, className: "visit-marker" }).addTo(map);
        where.textContent = how;
      };
      map.on("click", function (e) { place(e.latlng.lat, e.latlng.lng, gettext("Position set on the map.")); });
      visit.querySelector(".locate").addEventListener("click", function () {
        if (!navigator.geolocation) { where.textContent = gettext("This browser cannot give its position."); return; }
        where.textContent = gettext("Finding your position…");
        navigator.geolocation.getCurrentPosition(function (pos) {
          place(pos.coords.latitude, pos.coords.longitude,
                interpolate(gettext("Your position (within %s m)."), [Math.round(pos.coords.accuracy)]));
        }, function () { where.textContent = gettext("The position could not be found: click the map instead."); },
        { enableHighAccuracy: true, timeout: 15000 });
      });
      visit.addEventListener("submit", function (event) {
        event.preventDefault();
        buttons(visit, true);
        say(gettext("Saving…"), true);
        post(urls.visit, new FormData(visit), false)
          .then(function () { done(gettext("The visit is recorded.")); })
          .catch(function (error) { failed(visit, error); });
      });
    }
    document.body.dataset.caseReady = "1";
  }

  var main = document.querySelector("main.permit-case");
  if (main) { casePage(main); } else if (document.querySelector("main.permit-inbox")) { inboxMap(); }
}());
