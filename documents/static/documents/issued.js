// An issued document's page while its PDF is printed: asks the verification API until it says `ready`, then shows
// the links the page already holds (every word is in the page, in its language). Waits longer between asks as time
// passes and gives up after two minutes, saying so.
(function () {
  "use strict";
  var main = document.querySelector("[data-testid=issued]");
  if (!main || main.dataset.ready) { return; }
  var started = Date.now();
  var delay = 1000;

  function show(testid, visible) {
    var el = main.querySelector("[data-testid=" + testid + "]");
    if (el) { el.hidden = !visible; }
  }

  function ask() {
    fetch(main.dataset.api, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { ready: false }; })
      .catch(function () { return { ready: false }; })
      .then(function (body) {
        if (body.ready) {
          show("issued-waiting", false);
          show("issued-slow", false);
          show("issued-ready", true);
          main.dataset.ready = "1";
          return;
        }
        if (Date.now() - started > 120000) {
          show("issued-waiting", false);
          show("issued-slow", true);
          return;
        }
        delay = Math.min(delay * 1.5, 5000);
        setTimeout(ask, delay);
      });
  }
  setTimeout(ask, delay);
})();
