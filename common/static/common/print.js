/* Buttons marked data-print print the page (an inline onclick or a javascript: link would break the
   Content-Security-Policy, which allows no inline script without the page's nonce). */
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function (event) { event.preventDefault(); window.print(); });
  });
})();
