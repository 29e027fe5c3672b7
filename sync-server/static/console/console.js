// gridwork console: small progressive enhancements (every page works without them).
(function () {
  "use strict";
  function wire(root) {
    // Select all rows of the page for a bulk action.
    var all = root.querySelector ? root.querySelector("#select-all") : null;
    if (all && !all.dataset.wired) {
      all.dataset.wired = "1";
      all.addEventListener("change", function () {
        document.querySelectorAll("input.pick").forEach(function (c) { c.checked = all.checked; });
      });
    }
    // A reply template fills the reply text (which stays editable).
    document.querySelectorAll("select[data-fills]").forEach(function (sel) {
      if (sel.dataset.wired) { return; }
      sel.dataset.wired = "1";
      sel.addEventListener("change", function () {
        var target = document.getElementById(sel.dataset.fills);
        if (target && sel.value) { target.value = sel.value; target.focus(); }
      });
    });
    // A new 大类 clears the 小类 chosen under the old one.
    var cat = document.getElementById("f-cat");
    var sub = document.getElementById("f-sub");
    if (cat && sub && !cat.dataset.wired) {
      cat.dataset.wired = "1";
      cat.addEventListener("change", function () {
        if (sub.value && cat.value && sub.value.indexOf(cat.value) !== 0) { sub.value = ""; }
      });
    }
    // Dangerous buttons ask first.
    document.querySelectorAll("button.danger").forEach(function (b) {
      if (b.dataset.wired) { return; }
      b.dataset.wired = "1";
      b.addEventListener("click", function (e) {
        if (!window.confirm("确定要作废吗？此操作不能撤销。")) { e.preventDefault(); }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  document.addEventListener("htmx:afterSwap", function () { wire(document); });
})();
