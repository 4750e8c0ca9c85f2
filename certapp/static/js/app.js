/* certapp's only script: behaviour declared by data attributes, so that the pages carry no
   inline script and the Content-Security-Policy can forbid it (script-src 'self'). */
(function () {
  "use strict";
  // <form data-confirm="Вопрос?">: ask before sending.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  // <button data-print>: print the page.
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-print]") : null;
    if (target) {
      event.preventDefault();
      window.print();
    }
  });
})();
