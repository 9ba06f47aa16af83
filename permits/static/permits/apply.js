// The citizen's permit pages (permits/templates/permits/citizen/apply.html and case.html), phone first:
// - choose the case type (and the kind of work): a draft case is made (POST /api/permits/cases) and its form opens;
// - the proposal: the eligibility engine runs as one types (debounced; each answer replaces the last, a late answer to
//   an earlier keystroke is dropped): the decision rule by rule with the rulebook and citations, or, for a
//   subdivision, the line drawn on a small map (or pasted as GeoJSON) checked part by part;
// - the documents: each file is uploaded when picked (POST /api/permits/cases/<id>/documents, the documents API);
// - the fee estimate, refreshed with the proposal; submit → the tracking code (also sent by SMS);
// - a returned case: re-upload, then send it back (resubmit); withdraw a case.
// Interface text from Django's JavaScript catalogue (gettext; English msgids). POSTs carry the CSRF token.
(function () {
  "use strict";
  var cfgEl = document.getElementById("permit-config");
  if (!cfgEl) { return; }
  var cfg = JSON.parse(cfgEl.textContent);
  var fa = cfg.lang === "fa";
  var PERSIAN = "۰۱۲۳۴۵۶۷۸۹";
  var DEBOUNCE_MS = 400;

  function num(value) {
    var text = String(value === null || value === undefined ? "" : value);
    if (!fa) { return text; }
    return text.replace(/[0-9]/g, function (d) { return PERSIAN[+d]; });
  }
  function money(value) { return num(Math.round(Number(value) || 0).toLocaleString("en-US")); }
  function esc(text) {
    return String(text === null || text === undefined ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  // a two-language value: its English text on English pages when there is one
  function pick(obj, field) { return (!fa && obj[field + "_en"]) || obj[field + "_fa"] || obj[field] || ""; }
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
          return { ok: r.ok, status: r.status, body: data };
        });
      }, function () {
        return { ok: false, status: 0,
                 body: { message: gettext("The server cannot be reached. Check your connection and try again.") } };
      });
  }

  var messageEl = document.getElementById("action-message");
  var errorEl = document.getElementById("action-error");
  function say(text, isError) {
    if (!messageEl || !errorEl) { return; }
    messageEl.hidden = true;
    errorEl.hidden = true;
    if (!text) { return; }
    var el = isError ? errorEl : messageEl;
    el.textContent = text;
    el.hidden = false;
    if (isError) { el.scrollIntoView({ block: "nearest" }); }
  }
  function failed(res) {
    return (res.body && res.body.message) || gettext("Something went wrong. Try again.");
  }

  // --- choose the case type ---------------------------------------------------------------------------------
  var startForm = document.querySelector("[data-permit-start]");
  if (startForm) {
    startForm.addEventListener("submit", function (e) {
      e.preventDefault();
      var chosen = startForm.querySelector("input[name=case_type]:checked");
      if (!chosen) { say(gettext("Choose what you ask for."), true); return; }
      var work = startForm.querySelector("select[name='work-" + chosen.value + "']");
      var button = startForm.querySelector("button[type=submit]");
      button.disabled = true;
      call("POST", cfg.urls.start, { case_type: chosen.value, parcel_id: cfg.parcelId, work: work ? work.value : "" })
        .then(function (res) {
          button.disabled = false;
          if (!res.ok) { say(failed(res), true); return; }
          window.location.assign(cfg.urls.apply + "?case=" + encodeURIComponent(res.body.id));
        });
    });
  }

  // --- the fee estimate -------------------------------------------------------------------------------------
  var feesBody = document.querySelector("[data-permit-fees] .fees-body");
  function showFees(estimate) {
    if (!feesBody || !estimate) { return; }
    if (estimate.error) { feesBody.innerHTML = '<p class="note">' + esc(estimate.error) + "</p>"; return; }
    if (!estimate.lines.length) { feesBody.innerHTML = '<p class="note">' + esc(gettext("No fees.")) + "</p>"; return; }
    feesBody.innerHTML = '<table class="facts">' + estimate.lines.map(function (line) {
      return "<tr><th>" + esc(pick(line, "label")) + "</th><td>" + money(line.amount) + "</td></tr>";
    }).join("") + "<tr><th>" + esc(gettext("Total (rials)")) + '</th><td data-testid="fee-total">' +
      money(estimate.total) + "</td></tr></table>";
  }

  // --- the proposal and the engine's answer -----------------------------------------------------------------
  var proposalEl = document.querySelector("[data-permit-proposal]");
  var box = proposalEl ? proposalEl.querySelector(".decision-box") : null;
  var sent = 0;

  var RESULT = { pass: gettext("passes"), fail: gettext("fails"), conditional: gettext("conditional") };
  var VERDICT = { eligible: gettext("eligible"), conditional: gettext("conditional"),
                  not_eligible: gettext("not eligible") };

  function decisionHtml(d) {
    var html = '<p data-testid="decision" data-status="' + esc(d.status) + '"><strong>' + esc(gettext("Decision")) +
      ":</strong> " + esc(VERDICT[d.status] || d.status) + " — " + esc(gettext("Rulebook")) + " <bdi>" +
      esc(d.rulebook) + "</bdi></p>";
    if (d.notice) { html += '<p class="demo-tag">' + esc((!fa && d.notice.en) || d.notice.fa) + "</p>"; }
    html += '<div class="table-wrap"><table class="decision"><thead><tr><th scope="col">' + esc(gettext("Rule")) +
      '</th><th scope="col">' + esc(gettext("Limit")) + '</th><th scope="col">' + esc(gettext("Proposed")) +
      '</th><th scope="col">' + esc(gettext("Result")) + '</th><th scope="col">' + esc(gettext("Citation")) +
      "</th></tr></thead><tbody>";
    d.checks.forEach(function (c) {
      html += '<tr class="status-' + esc(c.status) + '" data-rule="' + esc(c.key) + '"><th scope="row">' +
        esc(pick(c, "title")) + (c.note ? "<br><small>" + esc(c.note) + "</small>" : "") + "</th><td>" +
        esc(num(c.limit_text)) + "</td><td>" + esc(num(c.proposed_text)) + "</td><td>" +
        esc(RESULT[c.status] || gettext("not checked")) + "</td><td>" +
        (c.citation ? "<cite>" + esc(c.citation.document) + pgettext("list separator", ", ") +
          esc(c.citation.article) + "</cite>" : "") + "</td></tr>";
    });
    return html + "</tbody></table></div>";
  }

  function subdivisionHtml(d) {
    var html = '<p data-testid="decision" data-status="' + (d.ok ? "ok" : "fails") + '"><strong>' +
      esc(gettext("Subdivision check")) + ":</strong> " +
      esc(d.ok ? gettext("every part meets the minimums") : gettext("a part is below the minimums")) + " — " +
      esc(gettext("Rulebook")) + " <bdi>" + esc(d.rulebook) + "</bdi></p>";
    html += "<p>" + esc(interpolate(gettext("Minimum lot area %(area)s m², minimum frontage %(frontage)s m"),
      { area: num(d.min_lot_area), frontage: num(d.min_frontage) }, true)) + "</p><ul>";
    d.parts.forEach(function (p) {
      html += "<li>" + esc(interpolate(gettext("Part: %(area)s m², frontage %(frontage)s m"),
        { area: num(Math.round(p.area)), frontage: num(p.frontage.toFixed(1)) }, true)) + " " +
        (p.area_ok && p.frontage_ok ? "✓" : "✗") + "</li>";
    });
    return html + "</ul>";
  }

  function showFieldErrors(fields) {
    if (!proposalEl) { return; }
    proposalEl.querySelectorAll("[data-field-error]").forEach(function (el) {
      var problem = fields && fields[el.getAttribute("data-field-error")];
      el.textContent = problem || "";
      el.hidden = !problem;
    });
  }

  var inflight = Promise.resolve();
  function send(proposal) {
    var mine = ++sent;
    box.dataset.state = "checking";
    box.setAttribute("aria-busy", "true");
    inflight = call("POST", cfg.urls.proposal, { proposal: proposal }).then(function (res) {
      if (mine !== sent) { return; }                      // a later keystroke's answer is on its way
      box.setAttribute("aria-busy", "false");
      if (!res.ok) {
        box.dataset.state = "error";
        showFieldErrors(res.body.fields);
        box.innerHTML = '<p class="error" data-testid="decision-error">' + esc(failed(res)) + "</p>";
        return;
      }
      showFieldErrors(null);
      box.dataset.state = "ok";
      var a = res.body.answer;
      box.innerHTML = a ? (a.checks ? decisionHtml(a) : subdivisionHtml(a)) : "";
      box.dataset.status = a ? (a.status || (a.ok ? "ok" : "fails")) : "";
      showFees(res.body.fees);
    });
    return inflight;
  }

  // Typing is debounced; before submitting, what was typed last is saved first (flush), so the decision frozen
  // into the case is the one for the values on the screen.
  var timer = null;
  var pending = null;
  function later(fn) {
    clearTimeout(timer);
    pending = fn;
    timer = setTimeout(function () { pending = null; fn(); }, DEBOUNCE_MS);
  }
  function flush() {
    clearTimeout(timer);
    var fn = pending;
    pending = null;
    if (fn) { fn(); }
    return inflight;
  }

  if (proposalEl && cfg.check === "eligibility") {
    var eligibilityValues = function () {
      var values = {};
      proposalEl.querySelectorAll("input[name], select[name]").forEach(function (el) {
        if (el.value.trim() !== "") { values[el.name] = el.value.trim(); }
      });
      return values;
    };
    proposalEl.addEventListener("input", function () { later(function () { send(eligibilityValues()); }); });
    proposalEl.addEventListener("change", function () { later(function () { send(eligibilityValues()); }); });
    if (Object.keys(eligibilityValues()).length > 1) { send(eligibilityValues()); }
  }

  // --- subdivision: a line drawn on the parcel --------------------------------------------------------------
  if (proposalEl && cfg.check === "subdivision" && window.L) {
    var textarea = proposalEl.querySelector("textarea[name=lines]");
    var mapEl = document.getElementById("split-map");
    var map = L.map(mapEl, { zoomControl: true, tap: true });
    if (cfg.basemapUrl) {
      L.tileLayer(cfg.basemapUrl, { attribution: cfg.basemapAttribution, maxZoom: 21 }).addTo(map);
    }
    var outline = L.geoJSON(cfg.parcel, { style: { color: "#1f4e79", weight: 2, fillOpacity: 0.08 } }).addTo(map);
    map.fitBounds(outline.getBounds(), { padding: [20, 20] });
    var line = L.polyline([], { color: "#c62828", weight: 3 }).addTo(map);
    var sendLines = function () {
      var text = textarea.value.trim();
      if (!text) { return; }
      var lines;
      try { lines = JSON.parse(text); } catch (err) {
        box.dataset.state = "error";
        box.innerHTML = '<p class="error">' + esc(gettext("This is not GeoJSON.")) + "</p>";
        return;
      }
      send({ lines: lines });
    };
    var fromLine = function () {
      var points = line.getLatLngs();
      if (points.length < 2) { return; }
      textarea.value = JSON.stringify({ type: "LineString", coordinates: points.map(function (p) {
        return [Number(p.lng.toFixed(7)), Number(p.lat.toFixed(7))];
      }) });
      later(sendLines);
    };
    map.on("click", function (e) { line.addLatLng(e.latlng); fromLine(); });
    proposalEl.querySelector("[data-split-clear]").addEventListener("click", function () {
      line.setLatLngs([]);
      textarea.value = "";
      box.innerHTML = "";
      box.dataset.state = "idle";
    });
    textarea.addEventListener("input", function () { later(sendLines); });
    if (textarea.value.trim()) {
      try {
        var given = JSON.parse(textarea.value);
        if (given.type === "LineString") {
          line.setLatLngs(given.coordinates.map(function (c) { return [c[1], c[0]]; }));
        }
      } catch (err) { /* shown when sent */ }
      sendLines();
    }
  }

  // --- documents: uploaded when picked ------------------------------------------------------------------------
  document.querySelectorAll("[data-permit-docs] input[type=file]").forEach(function (input) {
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file) { return; }
      var kind = input.getAttribute("data-kind");
      var row = input.closest(".doc-type");
      var errorBox = row.querySelector(".error");
      var current = row.querySelector(".current");
      var form = new FormData();
      form.append("kind", kind);
      form.append("file", file, file.name);
      errorBox.hidden = true;
      row.setAttribute("aria-busy", "true");
      current.textContent = gettext("Uploading…");
      call("POST", cfg.urls.documents, form).then(function (res) {
        row.setAttribute("aria-busy", "false");
        input.value = "";
        if (!res.ok) {
          current.textContent = "";
          errorBox.textContent = res.status === 404 && !res.body.error
            ? gettext("Uploading documents is not available yet.") : failed(res);
          errorBox.hidden = false;
          return;
        }
        row.dataset.present = "1";
        row.dataset.version = String(res.body.version);
        current.textContent = "✓ " + res.body.name + " (" +
          interpolate(gettext("version %(v)s"), { v: num(res.body.version) }, true) + ")";
      });
    });
  });

  // --- submit -------------------------------------------------------------------------------------------------
  var submitCard = document.querySelector("[data-permit-submit]");
  if (submitCard) {
    var submitButton = submitCard.querySelector("button");
    submitButton.addEventListener("click", function () {
      var missing = Array.prototype.filter.call(document.querySelectorAll("[data-permit-docs] .doc-type"),
        function (row) { return row.dataset.required === "1" && row.dataset.present !== "1"; });
      if (missing.length) {
        say(gettext("Attach the required documents first."), true);
        missing[0].scrollIntoView({ block: "center" });
        return;
      }
      submitButton.disabled = true;
      say("");
      flush().then(function () { return call("POST", cfg.urls.submit); }).then(function (res) {
        submitButton.disabled = false;
        if (!res.ok) { say(failed(res), true); return; }
        document.querySelectorAll("main > .card, main > .demo-tag").forEach(function (el) { el.hidden = true; });
        var done = document.querySelector('[data-testid="done"]');
        done.hidden = false;
        done.dataset.code = res.body.tracking_code;
        done.querySelector('[data-testid="tracking-code"]').textContent = num(res.body.tracking_code);
        done.querySelector('[data-testid="case-link"]').href = res.body.url;
        done.scrollIntoView({ block: "start" });
      });
    });
  }

  // --- resubmit and withdraw: on the case as it stands now ------------------------------------------------------
  function withRevision(then) {
    return call("GET", cfg.urls.api).then(function (res) {
      if (!res.ok) { say(failed(res), true); return; }
      then(res.body.revision);
    });
  }
  document.querySelectorAll("[data-permit-resubmit]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var button = form.querySelector("button");
      button.disabled = true;
      withRevision(function (revision) {
        call("POST", cfg.urls.resubmit, { revision: revision, note: form.querySelector("textarea").value })
          .then(function (res) {
            button.disabled = false;
            if (!res.ok) { say(failed(res), true); return; }
            window.location.assign(cfg.urls.case);
          });
      });
    });
  });
  document.querySelectorAll("[data-permit-withdraw]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!window.confirm(form.dataset.confirm)) { return; }
      withRevision(function (revision) {
        call("POST", cfg.urls.withdraw, { revision: revision }).then(function (res) {
          if (!res.ok) { say(failed(res), true); return; }
          window.location.reload();
        });
      });
    });
  });
})();
