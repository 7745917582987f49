/* Show / hide password: reveals the "Show" buttons the page rendered hidden next to password
   fields (macros.html, password_toggle) and makes them switch the field between hidden and
   plain text. Without this script the fields are ordinary password fields. Before a form is
   sent its fields go back to hidden, so the browser never keeps the password as plain text. */
(function () {
  "use strict";

  function setShown(button, input, shown) {
    input.type = shown ? "text" : "password";
    button.querySelector(".password-toggle-show").hidden = shown;
    button.querySelector(".password-toggle-hide").hidden = !shown;
  }

  function enhance(button) {
    var input = document.getElementById(button.getAttribute("aria-controls"));
    if (!input) {
      return;
    }
    button.hidden = false;
    if (input.parentNode && input.parentNode.classList) {
      input.parentNode.classList.add("password-input--toggle");
    }
    button.addEventListener("click", function () {
      setShown(button, input, input.type === "password");
    });
    if (input.form) {
      input.form.addEventListener("submit", function () {
        setShown(button, input, false);
      });
    }
  }

  function start() {
    var buttons = document.querySelectorAll("button.password-toggle[aria-controls]");
    for (var i = 0; i < buttons.length; i += 1) {
      enhance(buttons[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
