/* Shows the "Copy" button of the recovery codes page and copies the codes,
   one per line. Without JavaScript the button stays hidden; the codes can
   still be selected by hand or downloaded. The words come from the button,
   in the page's language:
   <button data-copy-target="recovery-codes" data-copy-status="copy-status"
     data-copied-label="Copied" data-copied-message="Recovery codes copied to the clipboard."
     data-copy-failed-message="Couldn't copy. ..." hidden>Copy</button> */
(function () {
  "use strict";

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () {
        return fallbackCopy(text);
      });
    }
    return fallbackCopy(text);
  }

  function setUp(button) {
    var list = document.getElementById(button.getAttribute("data-copy-target"));
    var status = document.getElementById(button.getAttribute("data-copy-status"));
    if (!list) {
      return;
    }
    var label = button.textContent;
    var copiedLabel = button.getAttribute("data-copied-label") || "Copied";
    var copiedMessage = button.getAttribute("data-copied-message") || "Recovery codes copied to the clipboard.";
    var failedMessage = button.getAttribute("data-copy-failed-message") ||
      "Couldn't copy. Select the codes and copy them, or download them.";
    var timer = null;

    function report(buttonText, message, failed) {
      button.textContent = buttonText;
      if (status) {
        status.textContent = message;
        status.classList.toggle("copy-status--error", !!failed);
      }
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        button.textContent = label;
        if (status) {
          status.textContent = "";
        }
      }, 4000);
    }

    button.addEventListener("click", function () {
      var codes = [];
      var items = list.querySelectorAll("li");
      for (var i = 0; i < items.length; i++) {
        codes.push(items[i].textContent.trim());
      }
      copy(codes.join("\n") + "\n").then(
        function () {
          report(copiedLabel, copiedMessage);
        },
        function () {
          report(label, failedMessage, true);
        }
      );
    });
    button.hidden = false;
  }

  var buttons = document.querySelectorAll("[data-copy-target]");
  for (var i = 0; i < buttons.length; i++) {
    setUp(buttons[i]);
  }
})();
