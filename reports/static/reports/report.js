// The citizen's report pages (reports/templates/reports/citizen_*.html), phone first:
// - report a problem: pick the place on a Leaflet map (tap, drag the marker, "use my location", or the search box),
//   a category, a description and up to N photos (previewed, and uploaded while the citizen types: the report then
//   carries their tokens, not their bytes); reports of the same category already open nearby are
//   offered ("add my voice" instead); a citizen not signed in signs in with an SMS code on the page itself
//   (/api/accounts/signin/code and /verify), then the report is sent; the tracking code is shown.
// - a report's tracking page: its place on a small map; the reporter rates the fix or reopens it.
// Interface text from Django's JavaScript catalogue (gettext; English msgids). POSTs carry the CSRF token.
(function () {
  "use strict";
  // the municipality's path prefix ("" at the root; README, "Many municipalities"), set on <html> by base.html
  var ROOT = document.documentElement.getAttribute("data-root") || "";
  var cfgEl = document.getElementById("report-config");
  if (!cfgEl) { return; }
  var cfg = JSON.parse(cfgEl.textContent);
  var fa = cfg.lang === "fa";
  var PERSIAN = "۰۱۲۳۴۵۶۷۸۹";

  function num(value) {
    var text = String(value);
    if (!fa) { return text; }
    return text.replace(/[0-9]/g, function (d) { return PERSIAN[+d]; });
  }
  function esc(text) {
    return String(text === null || text === undefined ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function pick(obj, field) { return (!fa && obj[field + "_en"]) || obj[field]; }
  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  function call(method, url, body) {
    var headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
    var payload = body;
    if (body && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    return fetch(url, { method: method, headers: headers, body: payload, credentials: "same-origin" })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) {
          return { ok: r.ok, status: r.status, body: data, retryAfter: r.headers.get("Retry-After") };
        });
      }, function () {
        var text = gettext("The server cannot be reached. Check your connection and try again.");
        return { ok: false, status: 0, body: { message: text } };
      });
  }

  // The city's own layers as vector tiles (or the configured online base map) under a map.
  function baseMap(map) {
    if (cfg.basemapUrl) {
      L.tileLayer(cfg.basemapUrl, { attribution: cfg.basemapAttribution, maxZoom: 21 }).addTo(map);
    }
    window.addReportsBaseLayers(map, cfg, 21);
  }
  function newMap(el, center, zoom) {
    var map = L.map(el, { zoomControl: false, minZoom: 10, maxZoom: 21, tap: true }).setView(center, zoom);
    L.control.zoom({ zoomInTitle: gettext("Zoom in"), zoomOutTitle: gettext("Zoom out") }).addTo(map);
    map.attributionControl.setPrefix('<a href="https://leafletjs.com" translate="no">Leaflet</a>');
    baseMap(map);
    return map;
  }

  if (document.getElementById("report-form")) { reportForm(); }
  if (document.getElementById("place-map")) { trackingPage(); }

  // --- Report a problem ---------------------------------------------------------------------------------------------
  function reportForm() {
    var form = document.getElementById("report-form");
    var state = document.getElementById("place-state");
    var errorBox = document.getElementById("form-error");
    var category = document.getElementById("category");
    var nearbyBox = document.getElementById("nearby");
    var nearbyList = document.getElementById("nearby-list");
    var signinBox = document.getElementById("signin");
    var submitButton = document.getElementById("submit");
    var photoInput = document.getElementById("photos");
    var previews = document.getElementById("previews");
    var place = null;          // {lat, lng}
    var parcelId = null;       // from a search result, for reports about a parcel
    var photos = [];           // {file, fig, bar, token, failed, pending}: the photos picked, uploaded or not yet
    var nearbyShown = [];      // the open reports nearby, while the citizen has not chosen
    var nearbyDismissed = "";  // "category|lat|lng" the citizen said "submit anyway" for
    var signedIn = !!cfg.signedIn;
    var afterSignin = null;    // what to do once signed in (send the report, or add a voice)
    var sending = false;

    // Start where the link says (?lat=&lon=, e.g. from the portal's map), else the city's centre.
    var query = new URLSearchParams(location.search);
    var qlat = parseFloat(query.get("lat")), qlon = parseFloat(query.get("lon"));
    var start = isFinite(qlat) && isFinite(qlon) ? [qlat, qlon] : cfg.center;
    var map = newMap("pick-map", start, isFinite(qlat) ? 18 : 15);
    var marker = null;

    function showError(message) {
      errorBox.textContent = message || "";
      errorBox.hidden = !message;
    }
    function setPlace(latlng, fromSearch) {
      place = { lat: latlng.lat, lng: latlng.lng };
      if (!fromSearch) { parcelId = null; }
      if (!marker) {
        marker = L.marker(latlng, { draggable: true, keyboard: true, title: gettext("The place of the problem") })
          .addTo(map);
        marker.on("dragend", function () { setPlace(marker.getLatLng(), false); });
      } else {
        marker.setLatLng(latlng);
      }
      state.textContent = gettext("Place picked. Drag the marker to correct it.");
      form.dataset.place = place.lat.toFixed(6) + "," + place.lng.toFixed(6);
      checkNearby();
    }
    map.on("click", function (e) { setPlace(e.latlng, false); });

    document.getElementById("locate").addEventListener("click", function () {
      if (!navigator.geolocation) { state.textContent = gettext("Your location is not available"); return; }
      state.textContent = gettext("Finding your location…");
      navigator.geolocation.getCurrentPosition(function (pos) {
        var ll = L.latLng(pos.coords.latitude, pos.coords.longitude);
        map.setView(ll, 18);
        setPlace(ll, false);
      }, function () {
        state.textContent = gettext("Your location is not available");
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });

    // Search: a parcel, a postal code, a plate or a street (the portal's /api/search).
    var q = document.getElementById("place-q");
    var list = document.getElementById("place-results");
    var results = [], pendingSearch = null;
    function resultLabel(r) {
      if (r.type === "street") { return esc(r.name); }
      var main = r.type === "postal_code" ? r.postal_code : r.type === "plate" ? r.plate :
        (r.renewal_code || r.source_id || "");
      return '<bdi dir="ltr">' + esc(num(main)) + "</bdi>";
    }
    function chooseResult(r) {
      list.hidden = true;
      q.setAttribute("aria-expanded", "false");
      var ll = L.latLng(r.lat, r.lon);
      map.setView(ll, 18);
      parcelId = r.parcel_id || null;
      setPlace(ll, true);
    }
    q.addEventListener("input", function () {
      clearTimeout(pendingSearch);
      var text = q.value.trim();
      if (!text) { list.hidden = true; return; }
      pendingSearch = setTimeout(function () {
        call("GET", cfg.urls.search + "?q=" + encodeURIComponent(text)).then(function (res) {
          if (!res.ok || q.value.trim() !== text) { return; }
          results = res.body.results || [];
          list.innerHTML = results.length ? results.map(function (r, i) {
            return '<li role="option" tabindex="-1" data-index="' + i + '">' + resultLabel(r) + "</li>";
          }).join("") : '<li class="note">' + esc(gettext("No results")) + "</li>";
          list.hidden = false;
          q.setAttribute("aria-expanded", "true");
        });
      }, 200);
    });
    q.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); if (results[0]) { chooseResult(results[0]); } }
      else if (e.key === "Escape") { list.hidden = true; }
    });
    list.addEventListener("click", function (e) {
      var li = e.target.closest("li[data-index]");
      if (li) { chooseResult(results[+li.dataset.index]); }
    });

    category.addEventListener("change", function () {
      var c = cfg.categories[category.value];
      document.getElementById("parcel-note").hidden = !(c && c.needs_parcel);
      checkNearby();
    });

    // Photos: at most cfg.photosMax, previewed (a blob: URL), and uploaded as soon as they are picked when the citizen
    // is signed in (POST cfg.urls.photos, its progress under the preview): the report then carries only their tokens,
    // so the big upload happens while the citizen types. Not signed in yet: uploaded after the sign-in, on sending.
    photoInput.addEventListener("change", function () {
      var chosen = Array.prototype.slice.call(photoInput.files || []);
      showError("");
      if (chosen.length > cfg.photosMax) {
        showError(interpolate(gettext("At most %s photos may be attached."), [num(cfg.photosMax)]));
        chosen = chosen.slice(0, cfg.photosMax);
      }
      var big = chosen.filter(function (f) { return f.size > cfg.photoMaxBytes; });
      if (big.length) {
        var megabytes = num(Math.round(cfg.photoMaxBytes / 1048576));
        showError(interpolate(gettext("A photo is larger than %s MB."), [megabytes]));
        chosen = chosen.filter(function (f) { return f.size <= cfg.photoMaxBytes; });
      }
      photos.forEach(function (p) { if (p.xhr) { p.xhr.abort(); } });
      photos = [];
      previews.innerHTML = "";
      chosen.forEach(function (f, i) {
        var entry = { file: f, token: "", failed: "", pending: null, xhr: null };
        var fig = document.createElement("figure");
        var img = document.createElement("img");
        img.src = URL.createObjectURL(f);
        img.alt = interpolate(gettext("Photo %s"), [num(i + 1)]);
        fig.appendChild(img);
        var bar = document.createElement("progress");
        bar.max = 1;
        bar.value = 0;
        bar.setAttribute("aria-label", interpolate(gettext("Uploading photo %s"), [num(i + 1)]));
        fig.appendChild(bar);
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "link";
        remove.textContent = gettext("Remove");
        remove.addEventListener("click", function () {
          if (entry.xhr) { entry.xhr.abort(); }
          photos.splice(photos.indexOf(entry), 1);
          fig.remove();
          previews.dataset.count = String(photos.length);
        });
        fig.appendChild(remove);
        previews.appendChild(fig);
        entry.fig = fig;
        entry.bar = bar;
        photos.push(entry);
        if (signedIn) { upload(entry); }
      });
      previews.dataset.count = String(photos.length);
    });

    // One photo to the server: a promise of the entry, with its token or why it failed.
    function upload(entry) {
      if (entry.pending) { return entry.pending; }
      entry.failed = "";
      entry.fig.dataset.state = "uploading";
      entry.pending = new Promise(function (resolve) {
        var xhr = new XMLHttpRequest();
        var data = new FormData();
        data.append("photo", entry.file, entry.file.name);
        entry.xhr = xhr;
        xhr.open("POST", cfg.urls.photos);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.setRequestHeader("X-CSRFToken", csrfToken());
        xhr.upload.addEventListener("progress", function (e) {
          if (e.lengthComputable) { entry.bar.value = e.loaded / e.total; }
        });
        function finish(res) {
          entry.xhr = null;
          entry.pending = null;
          if (res.status === 201) {
            entry.token = res.body.token;
            entry.bar.value = 1;
            entry.fig.dataset.state = "uploaded";
            offerPlace(res.body.location);
          } else {
            if (res.status === 401) { signedIn = false; }
            entry.failed = message(res);
            entry.fig.dataset.state = "failed";
          }
          resolve(entry);
        }
        xhr.addEventListener("load", function () {
          var body = {};
          try { body = JSON.parse(xhr.responseText); } catch (err) { body = {}; }
          finish({ status: xhr.status, body: body, retryAfter: xhr.getResponseHeader("Retry-After") });
        });
        xhr.addEventListener("error", function () {
          var text = gettext("The server cannot be reached. Check your connection and try again.");
          finish({ status: 0, body: { message: text } });
        });
        xhr.addEventListener("abort", function () { entry.xhr = null; entry.pending = null; resolve(entry); });
        xhr.send(data);
      });
      return entry.pending;
    }
    // The place a photo carries, offered when none is picked yet (the marker can be dragged to correct it).
    function offerPlace(where) {
      if (place || !where) { return; }
      var ll = L.latLng(where.lat, where.lon);
      map.setView(ll, 18);
      setPlace(ll, false);
      state.textContent = gettext("The place was read from the photo. Drag the marker to correct it.");
    }

    // Already reported nearby: shown as soon as the category and the place are set.
    function nearbyKey() {
      return place ? category.value + "|" + place.lat.toFixed(5) + "|" + place.lng.toFixed(5) : "";
    }
    function checkNearby() {
      if (!place || !category.value) { return; }
      var key = nearbyKey();
      var url = cfg.urls.nearby + "?category=" + encodeURIComponent(category.value) + "&lon=" +
        place.lng.toFixed(7) + "&lat=" + place.lat.toFixed(7);
      call("GET", url).then(function (res) {
        if (key !== nearbyKey()) { return; }
        nearbyShown = res.ok ? res.body.results : [];
        renderNearby();
      });
    }
    function renderNearby() {
      var show = nearbyShown.length > 0 && nearbyDismissed !== nearbyKey();
      nearbyBox.hidden = !show;
      submitButton.hidden = show;
      form.dataset.nearby = String(nearbyShown.length);
      nearbyList.innerHTML = nearbyShown.map(function (r, i) {
        return '<li class="near" data-testid="nearby-item" data-code="' + esc(r.tracking_code) + '">' +
          '<span class="swatch" style="background:' + esc(r.category.colour) + '"></span> ' +
          "<strong>" + esc(pick(r.category, "name")) + "</strong> — " + esc(r.status_label) + "<br>" +
          (r.description ? '<span class="note">' + esc(r.description.slice(0, 140)) + "</span><br>" : "") +
          '<span class="note">' + esc(facts(r)) + "</span> " +
          '<div class="actions"><button type="button" data-voice="' + i + '" data-testid="add-voice">' +
          esc(gettext("Add my voice")) + '</button> <a href="' + esc(r.url) + '" target="_blank" rel="noopener">' +
          esc(gettext("See it")) + "</a></div></li>";
      }).join("");
    }
    function facts(r) {
      var parts = [interpolate(gettext("%(metres)s m away"), { metres: num(r.distance) }, true),
                   interpolate(gettext("reported on %(date)s"), { date: day(r.created_at) }, true)];
      if (r.voices) {
        parts.push(interpolate(ngettext("%(count)s more person reported it", "%(count)s more people reported it",
                                        r.voices), { count: num(r.voices) }, true));
      }
      return parts.join(pgettext("list separator", ", "));
    }
    function day(iso) {
      var d = new Date(iso);
      try {
        return d.toLocaleDateString(cfg.dateLocale, { year: "numeric", month: "2-digit", day: "2-digit" });
      } catch (e) { return iso.slice(0, 10); }
    }
    nearbyList.addEventListener("click", function (e) {
      var button = e.target.closest("button[data-voice]");
      if (!button) { return; }
      var report = nearbyShown[+button.dataset.voice];
      addVoice(report);
    });
    document.getElementById("submit-anyway").addEventListener("click", function () {
      nearbyDismissed = nearbyKey();
      renderNearby();
      send();
    });

    function addVoice(report) {
      if (!signedIn) { askSignin(function () { addVoice(report); }); return; }
      call("POST", cfg.urls.voice.replace("CODE", report.tracking_code)).then(function (res) {
        if (res.status === 401) { signedIn = false; askSignin(function () { addVoice(report); }); return; }
        if (!res.ok) { showError(message(res)); return; }
        done(res.body.tracking_code, res.body.url, true);
      });
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      send();
    });

    function validate() {
      if (!place && !photos.length) { return gettext("Tap the map where the problem is."); }
      if (!category.value) { return gettext("Choose a category."); }
      if (!document.getElementById("description").value.trim()) { return gettext("Describe the problem."); }
      return "";
    }

    function send() {
      var problem = validate();
      showError(problem);
      if (problem || sending) { return; }
      if (nearbyShown.length && nearbyDismissed !== nearbyKey()) { renderNearby(); nearbyBox.scrollIntoView(); return; }
      if (!signedIn) { askSignin(send); return; }
      sending = true;
      submitButton.disabled = true;
      form.setAttribute("aria-busy", "true");
      // the photos not uploaded yet (picked before signing in, or failed) first; then the report with their tokens
      Promise.all(photos.map(function (p) { return p.token ? p : upload(p); })).then(function (done) {
        var failed = done.filter(function (p) { return !p.token; });
        if (failed.length) {
          sending = false;
          submitButton.disabled = false;
          form.removeAttribute("aria-busy");
          if (!signedIn) { askSignin(send); return; }
          showError(failed[0].failed || gettext("Something went wrong; please try again."));
          return;
        }
        submit();
      });
    }

    function submit() {
      var data = new FormData();
      data.append("category", category.value);
      data.append("description", document.getElementById("description").value);
      data.append("address", document.getElementById("address").value);
      if (place) { data.append("lon", place.lng.toFixed(7)); data.append("lat", place.lat.toFixed(7)); }
      if (parcelId) { data.append("parcel_id", String(parcelId)); }
      photos.forEach(function (p) { data.append("photo_tokens", p.token); });
      call("POST", cfg.urls.submit, data).then(function (res) {
        sending = false;
        submitButton.disabled = false;
        form.removeAttribute("aria-busy");
        if (res.status === 401) { signedIn = false; askSignin(send); return; }
        if (!res.ok) { showError(message(res)); return; }
        done(res.body.tracking_code, res.body.url, false);
      });
    }

    function message(res) {
      var text = (res.body && res.body.message) || gettext("Something went wrong; please try again.");
      if (res.status === 429 && res.retryAfter) {
        var minutes = num(Math.max(1, Math.round(res.retryAfter / 60)));
        text += " " + interpolate(gettext("Try again in %s minutes."), [minutes]);
      }
      return text;
    }

    // Inline sign-in with the mobile number and the SMS code.
    function askSignin(then) {
      afterSignin = then;
      signinBox.hidden = false;
      submitButton.hidden = true;
      document.getElementById("signin-phone").focus();
      signinBox.scrollIntoView();
    }
    document.getElementById("signin-send").addEventListener("click", function () {
      var phone = document.getElementById("signin-phone").value;
      showError("");
      call("POST", cfg.urls.signinCode, { phone: phone }).then(function (res) {
        if (!res.ok) { showError(message(res)); return; }
        document.getElementById("signin-code-step").hidden = false;
        document.getElementById("signin-code").focus();
      });
    });
    document.getElementById("signin-verify").addEventListener("click", function () {
      var phone = document.getElementById("signin-phone").value;
      var code = document.getElementById("signin-code").value;
      showError("");
      call("POST", cfg.urls.signinVerify, { phone: phone, code: code }).then(function (res) {
        if (!res.ok) { showError(message(res)); return; }
        signedIn = true;
        signinBox.hidden = true;
        submitButton.hidden = false;
        document.body.dataset.signedIn = "1";
        var then = afterSignin;
        afterSignin = null;
        if (then) { then(); }
      });
    });

    function done(code, url, joined) {
      form.hidden = true;
      var box = document.getElementById("done");
      if (joined) {
        box.querySelector("h2").textContent = gettext("Thank you: your voice is added to this report");
      }
      document.getElementById("done-code").textContent = num(code);
      document.getElementById("done-link").href = url;
      box.hidden = false;
      box.dataset.code = code;
      box.focus();
      window.scrollTo(0, 0);
    }
  }

  // --- A report's tracking page --------------------------------------------------------------------------------------
  function trackingPage() {
    var map = newMap("place-map", [cfg.lat, cfg.lon], 17);
    if (cfg.approximate) {
      L.circle([cfg.lat, cfg.lon], { radius: 60, color: "#e65100" }).addTo(map);
    } else {
      L.marker([cfg.lat, cfg.lon], { keyboard: false }).addTo(map);
    }
    var okBox = document.getElementById("action-message");
    var errBox = document.getElementById("action-error");
    function show(ok, text) {
      okBox.hidden = !ok; errBox.hidden = ok;
      (ok ? okBox : errBox).textContent = text;
    }
    function after(res, text) {
      if (!res.ok) {
        show(false, (res.body && res.body.message) || gettext("Something went wrong; please try again."));
        return;
      }
      show(true, text);
      setTimeout(function () { location.reload(); }, 800);
    }
    var rateForm = document.getElementById("rate-form");
    if (rateForm) {
      rateForm.addEventListener("submit", function (e) {
        e.preventDefault();
        var chosen = rateForm.querySelector("input[name=rating]:checked");
        if (!chosen) { show(false, gettext("Choose from one to five stars.")); return; }
        call("POST", cfg.urls.rate, { rating: +chosen.value, comment: rateForm.comment.value }).then(function (res) {
          after(res, gettext("Thank you for your rating."));
        });
      });
    }
    var reopenForm = document.getElementById("reopen-form");
    if (reopenForm) {
      reopenForm.addEventListener("submit", function (e) {
        e.preventDefault();
        call("POST", cfg.urls.reopen, { note: reopenForm.note.value }).then(function (res) {
          after(res, gettext("The report is open again."));
        });
      });
    }
    var voice = document.getElementById("voice");
    if (voice) {
      voice.addEventListener("click", function () {
        call("POST", cfg.urls.voice).then(function (res) {
          if (res.status === 401) {
            location.href = ROOT + "/accounts/signin/?next=" + encodeURIComponent(location.pathname);
            return;
          }
          after(res, gettext("Your voice is added."));
        });
      });
    }
  }
}());
