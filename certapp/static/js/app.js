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
  // <input type="checkbox" data-check-all="ids">: mark or unmark every "ids" checkbox of the page;
  // <form data-bulk="ids"> shows how many are marked in its [data-bulk-count].
  function countMarked() {
    var forms = document.querySelectorAll("form[data-bulk]");
    for (var i = 0; i < forms.length; i++) {
      var name = forms[i].getAttribute("data-bulk");
      var marked = document.querySelectorAll('input[type=checkbox][name="' + name + '"]:checked').length;
      var counter = forms[i].querySelector("[data-bulk-count]");
      if (counter) { counter.textContent = String(marked); }
    }
  }
  document.addEventListener("change", function (event) {
    var box = event.target;
    var name = box.getAttribute && box.getAttribute("data-check-all");
    if (name) {
      var boxes = document.querySelectorAll('input[type=checkbox][name="' + name + '"]');
      for (var i = 0; i < boxes.length; i++) { boxes[i].checked = box.checked; }
    }
    countMarked();
  });
  countMarked();
})();
