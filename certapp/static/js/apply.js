/* The certificate application: the period list follows the chosen child (its municipality's open
   periods), the category list follows the chosen period (its own categories). The server renders
   every list and checks the choice; this only shows the lists that apply. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-apply-form]");
  if (!form) { return; }
  var childSelect = form.querySelector("select[name=child_id]");
  var periodSelect = form.querySelector("select[data-period-select]");
  var categorySelect = form.querySelector("select[data-category-select]");
  var childPeriods = JSON.parse(form.getAttribute("data-child-periods") || "{}");

  function show(element, visible) {
    element.hidden = !visible;
    element.disabled = !visible;
  }

  function showPeriods() {
    var allowed = childSelect ? (childPeriods[childSelect.value] || []).map(String) : null;
    var firstAllowed = null;
    for (var i = 0; i < periodSelect.options.length; i++) {
      var option = periodSelect.options[i];
      var visible = allowed === null || allowed.indexOf(option.value) !== -1;
      show(option, visible);
      if (visible && firstAllowed === null) { firstAllowed = option; }
    }
    var chosen = periodSelect.options[periodSelect.selectedIndex];
    if ((!chosen || chosen.disabled) && firstAllowed) { firstAllowed.selected = true; }
    showCategories();
  }

  function showCategories() {
    var groups = categorySelect.querySelectorAll("optgroup[data-period]");
    for (var i = 0; i < groups.length; i++) {
      show(groups[i], groups[i].getAttribute("data-period") === periodSelect.value);
    }
    var chosen = categorySelect.options[categorySelect.selectedIndex];
    if (!chosen || chosen.parentNode.disabled) { categorySelect.value = "0"; }
  }

  if (childSelect) { childSelect.addEventListener("change", showPeriods); }
  periodSelect.addEventListener("change", showCategories);
  showPeriods();
})();
