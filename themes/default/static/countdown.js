/* Counts down [data-countdown] hints and enables their button at zero.
   <p data-countdown="30" data-countdown-button="resend-button"
      data-countdown-one="{n} second" data-countdown-other="{n} seconds">
     ... <span data-countdown-value>30 seconds</span> ...</p>
   The page renders both plural forms in its own language; "one" is used where the
   language's plural rules say so (English: 1; French: 0 and 1), "other" everywhere else.
   The server enforces the wait; this only saves a page reload. */
(function () {
  "use strict";

  var pluralRules = null;
  try {
    pluralRules = new Intl.PluralRules(document.documentElement.lang || undefined);
  } catch (e) {
    pluralRules = null;
  }

  function isOne(n) {
    return pluralRules ? pluralRules.select(n) === "one" : n === 1;
  }

  function secondsText(hint, n) {
    var one = isOne(n);
    var form = hint.getAttribute(one ? "data-countdown-one" : "data-countdown-other") ||
      (one ? "{n} second" : "{n} seconds");
    return form.split("{n}").join(String(n));
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
        value.textContent = secondsText(hint, left);
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
