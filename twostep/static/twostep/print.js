/* The recovery codes page's "Print" button (mfa/recovery_codes_show.html): shown only when
 * scripts run, since without them the page tells the person to use the browser's Print
 * command. No inline script: runs under the site's CSP (script-src 'self').
 */
(function () {
  "use strict";
  var buttons = document.querySelectorAll("[data-print]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].hidden = false;
    buttons[i].addEventListener("click", function () {
      window.print();
    });
  }
})();
