/* Date inputs marked data-jalali-date. On Persian pages: a Jalali date picker (@majidh1/jalalidatepicker, served from
   node_modules like Leaflet, loaded before this script) and the field holds 1403/05/12 in Persian digits. On English
   pages: the browser's own date input (ISO 2024-08-02). The server reads either (common.params.date). */
(function () {
  "use strict";
  var inputs = Array.prototype.slice.call(document.querySelectorAll("input[data-jalali-date]"));
  if (!inputs.length) { return; }

  if (document.documentElement.lang !== "fa") {
    inputs.forEach(function (input) {
      // a Jalali date already there (the page was Persian a moment ago) stays text: a date input would drop it
      if (!input.value || /^\d{4}-\d{2}-\d{2}$/.test(input.value)) { input.type = "date"; }
    });
    return;
  }

  var ZERO = { persian: 0x06F0, arabic: 0x0660 };
  function toPersian(text) {
    return text.replace(/[0-9]/g, function (d) { return String.fromCharCode(ZERO.persian + Number(d)); });
  }
  function toAscii(text) {
    return text.replace(/[\u06F0-\u06F9\u0660-\u0669]/g, function (c) {
      var code = c.charCodeAt(0);
      return String(code - (code >= ZERO.persian ? ZERO.persian : ZERO.arabic));
    });
  }
  // The picker reads and writes ASCII digits; the field shows (and the form submits) Persian ones. The input's own
  // value property translates between the two, so neither the picker nor the form has to know.
  var native = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value");
  inputs.forEach(function (input) {
    input.type = "text";  // a Jalali date is not what a browser's date input holds
    input.autocomplete = "off";
    Object.defineProperty(input, "value", {
      configurable: true,
      get: function () { return toAscii(native.get.call(this)); },
      set: function (value) { native.set.call(this, toPersian(String(value))); }
    });
    input.value = input.value;  // what the server put there, in Persian digits
    // digits typed on a Latin keyboard turn Persian when the field is left
    input.addEventListener("change", function () { input.value = input.value; });
  });
  window.jalaliDatepicker.startWatch({
    selector: "input[data-jalali-date]",
    persianDigits: true,
    autoReadOnlyInput: false,  // typing a date stays possible, on phones too
    zIndex: 2000  // above Leaflet's panes and controls
  });
  document.body.dataset.datePicker = "1";  // bound (tests wait for this)
}());
