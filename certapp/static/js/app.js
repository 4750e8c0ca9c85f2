/* certapp's only script: behaviour declared by data attributes, so that the pages carry no
   inline script and the Content-Security-Policy can forbid it (script-src 'self'). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  // The phone menu: a real button that says whether the menu is open (aria-expanded).
  var toggle = document.querySelector("[data-nav-toggle]");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var nav = document.getElementById(toggle.getAttribute("aria-controls"));
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("open", open);
    });
  }
  // Lists become cards on a phone (CSS, below 760 px): each cell is labelled with its column's title,
  // taken from the table's head. A table marked .keep-table (a grid of figures) stays a table.
  var tables = document.querySelectorAll("table.table:not(.keep-table)");
  for (var t = 0; t < tables.length; t++) {
    var head = tables[t].tHead;
    if (!head || !head.rows.length || head.rows.length > 1) { continue; }
    var titles = [];
    for (var h = 0; h < head.rows[0].cells.length; h++) {
      var span = head.rows[0].cells[h].colSpan || 1;
      for (var k = 0; k < span; k++) { titles.push(head.rows[0].cells[h].innerText.trim()); }
    }
    // the body's rows and the foot's (a totals row «Итого»): a row's own header (its first cell, a th)
    // names the card and takes no column title; a label the page gave a cell stays
    var sections = Array.prototype.slice.call(tables[t].tBodies);
    if (tables[t].tFoot) { sections.push(tables[t].tFoot); }
    for (var b = 0; b < sections.length; b++) {
      var rows = sections[b].rows;
      for (var r = 0; r < rows.length; r++) {
        var column = 0;
        for (var c = 0; c < rows[r].cells.length; c++) {
          var cell = rows[r].cells[c];
          var header = c === 0 && cell.tagName === "TH";
          if (titles[column] && (cell.colSpan || 1) === 1 && !header && !cell.hasAttribute("data-label")) {
            cell.setAttribute("data-label", titles[column]);
          }
          column += cell.colSpan || 1;
        }
      }
    }
    tables[t].classList.add("as-cards");
  }
  // The officials' sections: one open at a time; a click elsewhere or Escape closes it.
  var groups = document.querySelectorAll("[data-nav-group]");
  function closeGroups(except) {
    for (var i = 0; i < groups.length; i++) { if (groups[i] !== except) { groups[i].open = false; } }
  }
  for (var g = 0; g < groups.length; g++) {
    groups[g].addEventListener("toggle", function (event) { if (event.target.open) { closeGroups(event.target); } });
  }
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("[data-nav-group]")) { closeGroups(null); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { closeGroups(null); }
  });
  // <select data-refresh="button-id">: choosing another value sends the form as that button would, so
  // that the page is recomputed for the choice (the enrollment form's months follow its group).
  document.addEventListener("change", function (event) {
    var id = event.target.getAttribute && event.target.getAttribute("data-refresh");
    var button = id ? document.getElementById(id) : null;
    if (button && button.form && button.form.requestSubmit) { button.form.requestSubmit(button); }
  });
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
    // <select data-autosubmit>: a filter that applies as soon as it is chosen (a button does without JS)
    if (box.hasAttribute && box.hasAttribute("data-autosubmit") && box.form) { box.form.submit(); return; }
    var name = box.getAttribute && box.getAttribute("data-check-all");
    if (name) {
      var boxes = document.querySelectorAll('input[type=checkbox][name="' + name + '"]');
      for (var i = 0; i < boxes.length; i++) { boxes[i].checked = box.checked; }
    }
    countMarked();
  });
  countMarked();
  // <div data-job-url="…">: a job's progress, polled until it ends (no reload needed).
  var jobBox = document.querySelector("[data-job-url]");
  function showJob(job) {
    var set = function (selector, text) {
      var element = jobBox.querySelector(selector);
      if (element) { element.textContent = text; }
    };
    set("[data-job-state]", job.state_name);
    set("[data-job-done]", String(job.done));
    set("[data-job-total]", job.total === null ? "" : String(job.total));
    var bar = jobBox.querySelector("[data-job-progress]");
    if (bar) { bar.value = job.percent; bar.textContent = job.percent + " %"; }
    if (job.state === "done") { set("[data-job-message]", job.message || "Готово."); }
    if (job.state === "failed") { set("[data-job-message]", job.error || "Ошибка."); }
    var result = jobBox.querySelector("[data-job-result]");
    if (result && job.result_url) {
      result.hidden = false;
      result.querySelector("a").setAttribute("href", job.result_url);
    }
    return job.state === "done" || job.state === "failed";
  }
  function pollJob() {
    fetch(jobBox.getAttribute("data-job-url"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (job) { if (!showJob(job)) { window.setTimeout(pollJob, 700); } })
      .catch(function () { window.setTimeout(pollJob, 3000); });
  }
  if (jobBox) { pollJob(); }
})();
