/* Counts down [data-countdown] hints and enables their button at zero.
   <p data-countdown="30" data-countdown-button="resend-button">
     ... <span data-countdown-value>30 seconds</span> ...</p>
   The server enforces the wait; this only saves a page reload. */
(function () {
  "use strict";

  function plural(n) {
    return n + (n === 1 ? " second" : " seconds");
  }

  function start(hint) {
    var seconds = parseInt(hint.getAttribute("data-countdown"), 10);
    var button = document.getElementById(hint.getAttribute("data-countdown-button"));
    var value = hint.querySelector("[data-countdown-value]");
    if (!button || !(seconds > 0)) {
      return;
    }
    var endsAt = Date.now() + seconds * 1000;

    function tick() {
      var left = Math.ceil((endsAt - Date.now()) / 1000);
      if (left <= 0) {
        button.disabled = false;
        hint.hidden = true;
        return;
      }
      if (value) {
        value.textContent = plural(left);
      }
      window.setTimeout(tick, 250);
    }
    tick();
  }

  var hints = document.querySelectorAll("[data-countdown]");
  for (var i = 0; i < hints.length; i++) {
    start(hints[i]);
  }
})();
