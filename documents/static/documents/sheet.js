// The parcel certificate's section of the parcel sheet: a button that asks for the certificate (a POST with the page's
// CSRF token: issuing writes a row), which opens the certificate's page. Text from Django's JavaScript catalogue.
(function () {
  "use strict";
  window.PortalSections = window.PortalSections || {};

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) { return input.value; }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  window.PortalSections.certificate = function (data, h, el) {
    var about = gettext("A signed report of this parcel's public facts (map, zoning rules, hazards, dues status) with a verification code. It names no owner.");
    el.innerHTML = "<p>" + h.esc(about) + "</p>" +
      '<form method="post" action="' + h.esc(data.request_url) + '"><input type="hidden" name="csrfmiddlewaretoken" value="' +
      h.esc(csrfToken()) + '"><button type="submit" data-testid="certificate-request">' +
      h.esc(gettext("Issue the parcel certificate")) + "</button></form>";
  };
})();
