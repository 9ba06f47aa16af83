// Long jobs started from a page (an export, a reassessment): start one with a POST, then poll its status every
// second with an accessible progress bar until it ends; the promise resolves with the finished job's status
// ({id, status, progress, message, result_url, result_name, error}) when it is done, and rejects with an Error
// carrying the job's (or the server's) message otherwise.
//   Jobs.start(url, body, {container: element, onProgress: fn(job)}) -> Promise(job)
//   Jobs.watch(statusUrl, options) -> Promise(job);  Jobs.cancel(id);  Jobs.resultLink(job) -> <a download>
//   startJob(url, body, onDone(result_url, job), options)   (the short form)
// Interface text from Django's JavaScript catalogue (gettext), loaded before this script.
(function () {
  "use strict";
  // the municipality's path prefix ("" at the root; README, "Many municipalities"), set on <html> by base.html
  var ROOT = document.documentElement.getAttribute("data-root") || "";
  var T = {
    queued: gettext("Waiting for a worker…"), running: gettext("Working…"), done: gettext("Done"),
    failed: gettext("Failed: %s"), cancelled: gettext("Cancelled"), progress: gettext("Progress of the job"),
    download: gettext("Download %s"), cancel: gettext("Cancel"), lost: gettext("Lost contact with the server; retrying…")
  };
  var POLL_MS = 1000;

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) { return input.value; }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), "Accept": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.message || String(response.status)); }
        return data;
      });
    });
  }

  // <div role=progressbar> with a filled bar and a live status line below it.
  function progressBar(container) {
    var box = document.createElement("div");
    box.className = "job-progress-box";
    box.innerHTML =
      '<div role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0" tabindex="-1" ' +
      'style="height:.8em;border:1px solid #123c52;border-radius:3px;background:#fff;overflow:hidden;margin:.3em 0">' +
      '<div class="job-bar" style="height:100%;width:0;background:#1b6e8f;transition:width .3s"></div></div>' +
      '<div role="status" class="job-status"></div>';
    box.firstChild.setAttribute("aria-label", T.progress);
    if (container) { container.appendChild(box); }
    return {
      element: box,
      show: function (job) {
        var pct = Math.round((job.progress || 0) * 100);
        var bar = box.firstChild;
        bar.setAttribute("aria-valuenow", String(pct));
        bar.setAttribute("aria-valuetext", pct + "%" + (job.message ? " — " + job.message : ""));
        bar.firstChild.style.width = pct + "%";
        var text = job.status === "failed" ? interpolate(T.failed, [job.error || ""]) :
          (T[job.status] || job.status) + (job.status === "running" ? " " + pct + "%" : "");
        if (job.message && job.status !== "failed") { text += " — " + job.message; }
        box.lastChild.textContent = text;
      },
      remove: function () { box.remove(); }
    };
  }

  function watch(statusUrl, options) {
    options = options || {};
    var bar = options.bar || progressBar(options.container);
    var failures = 0;
    return new Promise(function (resolve, reject) {
      function poll() {
        fetch(statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (response) {
            return response.json().then(function (data) {
              if (!response.ok) { var e = new Error(data.message || String(response.status)); e.fatal = true; throw e; }
              return data;
            });
          })
          .then(function (job) {
            failures = 0;
            bar.show(job);
            if (options.onProgress) { options.onProgress(job); }
            if (job.status === "done") { resolve(job); return; }
            if (job.status === "failed" || job.status === "cancelled") {
              var err = new Error(job.status === "failed" ? (job.error || "") : T.cancelled);
              err.job = job;
              reject(err);
              return;
            }
            setTimeout(poll, POLL_MS);
          })
          .catch(function (err) {
            if (err.fatal || ++failures > 30) { reject(err); return; }
            bar.element.lastChild.textContent = T.lost;  // a restart of the server: keep polling a while
            setTimeout(poll, POLL_MS * 2);
          });
      }
      poll();
    });
  }

  function start(url, body, options) {
    options = options || {};
    var bar = options.bar || progressBar(options.container);
    bar.show({ status: "queued", progress: 0 });
    return post(url, body).then(function (started) {
      if (options.onStart) { options.onStart(started); }
      return watch(started.status_url, Object.assign({}, options, { bar: bar }));
    }, function (err) { bar.remove(); throw err; });
  }

  function cancel(id) { return post(ROOT + "/api/jobs/" + id + "/cancel", {}); }

  function resultLink(job) {
    var a = document.createElement("a");
    a.href = job.result_url;
    a.setAttribute("download", job.result_name || "");
    a.className = "job-result";
    a.textContent = interpolate(T.download, [job.result_name || ""]);
    return a;
  }

  window.Jobs = { start: start, watch: watch, cancel: cancel, resultLink: resultLink, progressBar: progressBar,
                  csrfToken: csrfToken };
  window.startJob = function (url, body, onDone, options) {
    return start(url, body, options).then(function (job) { if (onDone) { onDone(job.result_url, job); } return job; });
  };
})();
