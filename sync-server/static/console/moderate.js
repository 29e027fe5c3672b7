// gridwork console: drawing the rectangles to black out on a photo (faces, number plates)
// before its public version is made. Every form works without this script (one rectangle
// typed into x/y/w/h); with it, rectangles are dragged on the full-size photo or typed with
// the keyboard (as fractions or pixels), listed with a remove button, and posted as
// `rect=x,y,w,h` fractions of the photo (`unit=fraction`).
(function () {
  "use strict";
  var FIELDS = ["x", "y", "w", "h"];
  var MIN_DRAG = 0.005; // a click is not a rectangle

  function round(v) { return Math.round(v * 1e6) / 1e6; }
  function clamp01(v) { return Math.min(1, Math.max(0, v)); }

  function init(form) {
    if (form.dataset.wired) { return; }
    form.dataset.wired = "1";
    var stage = form.querySelector("[data-moderate-stage]");
    var img = form.querySelector("[data-moderate-image]");
    var list = form.querySelector("[data-moderate-list]");
    var unit = form.querySelector("[data-moderate-unit]");
    var add = form.querySelector("[data-moderate-add]");
    var error = form.querySelector("[data-moderate-error]");
    var max = 20;
    var fields = {};
    FIELDS.forEach(function (k) { fields[k] = form.querySelector('[data-moderate-field="' + k + '"]'); });
    if (!stage || !img || !list || !unit || !add) { return; }

    // The typed fields only feed the list now; the list is what is posted, as fractions.
    FIELDS.forEach(function (k) { fields[k].removeAttribute("name"); });
    unit.removeAttribute("name");
    var unitPosted = document.createElement("input");
    unitPosted.type = "hidden";
    unitPosted.name = "unit";
    unitPosted.value = "fraction";
    form.appendChild(unitPosted);
    add.hidden = false;

    var rects = []; // {x, y, w, h} as fractions of the photo
    var drawing = null;
    var ghost = null;

    function say(message) {
      if (!error) { return; }
      error.textContent = message || "";
      error.hidden = !message;
    }

    function size() {
      return { w: img.naturalWidth || 0, h: img.naturalHeight || 0 };
    }

    function box(r, cls, label) {
      var b = document.createElement("div");
      b.className = "box" + (cls ? " " + cls : "");
      b.style.left = (r.x * 100) + "%";
      b.style.top = (r.y * 100) + "%";
      b.style.width = (r.w * 100) + "%";
      b.style.height = (r.h * 100) + "%";
      if (label) {
        var s = document.createElement("span");
        s.textContent = label;
        b.appendChild(s);
      }
      return b;
    }

    function describe(r) {
      var px = size();
      var text = "x " + round(r.x) + "，y " + round(r.y) + "，宽 " + round(r.w) + "，高 " + round(r.h);
      if (px.w && px.h) {
        text += "（约 " + Math.round(r.x * px.w) + "," + Math.round(r.y * px.h) + " 起 " +
          Math.round(r.w * px.w) + "×" + Math.round(r.h * px.h) + " 像素）";
      }
      return text;
    }

    function render() {
      stage.querySelectorAll(".box").forEach(function (b) { b.remove(); });
      form.querySelectorAll('input[name="rect"]').forEach(function (i) { i.remove(); });
      list.textContent = "";
      rects.forEach(function (r, i) {
        stage.appendChild(box(r, "", String(i + 1)));
        var li = document.createElement("li");
        li.textContent = "第 " + (i + 1) + " 处：" + describe(r) + " ";
        var rm = document.createElement("button");
        rm.type = "button";
        rm.className = "link";
        rm.textContent = "删除";
        rm.setAttribute("aria-label", "删除第 " + (i + 1) + " 处遮挡区域");
        rm.addEventListener("click", function () {
          rects.splice(i, 1);
          render();
          (list.querySelector("button") || add).focus();
        });
        li.appendChild(rm);
        list.appendChild(li);
        var hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = "rect";
        hidden.value = [round(r.x), round(r.y), round(r.w), round(r.h)].join(",");
        form.appendChild(hidden);
      });
      if (ghost) { stage.appendChild(ghost); }
    }

    function push(r) {
      if (rects.length >= max) {
        say("一张照片最多遮挡 " + max + " 处");
        return false;
      }
      rects.push(r);
      say("");
      render();
      return true;
    }

    // The rectangle typed into the fields, as fractions; null (with a message) if it is not one.
    function typed() {
      var v = {};
      var any = false;
      var all = true;
      FIELDS.forEach(function (k) {
        var t = fields[k].value.trim();
        if (t !== "") { any = true; } else { all = false; }
        v[k] = Number(t);
      });
      if (!any) { return null; }
      if (!all || FIELDS.some(function (k) { return !isFinite(v[k]); })) {
        say("请填写完整的 x、y、宽、高（数字）");
        return false;
      }
      if (unit.value === "px") {
        var px = size();
        if (!px.w || !px.h) { say("照片尚未加载，无法按像素换算"); return false; }
        v = { x: v.x / px.w, y: v.y / px.h, w: v.w / px.w, h: v.h / px.h };
      }
      if (v.x < 0 || v.y < 0 || v.w <= 0 || v.h <= 0 || v.x + v.w > 1 + 1e-9 || v.y + v.h > 1 + 1e-9) {
        say("遮挡区域须在照片范围内，宽和高须大于 0");
        return false;
      }
      return v;
    }

    function clearFields() { FIELDS.forEach(function (k) { fields[k].value = ""; }); }

    add.addEventListener("click", function () {
      var r = typed();
      if (r === null) { say("请先填写 x、y、宽、高"); return; }
      if (r && push(r)) { clearFields(); fields.x.focus(); }
    });
    FIELDS.forEach(function (k) {
      fields[k].addEventListener("keydown", function (e) {
        if (e.key === "Enter") { e.preventDefault(); add.click(); }
      });
    });

    function at(e) {
      var b = img.getBoundingClientRect();
      return { x: clamp01((e.clientX - b.left) / b.width), y: clamp01((e.clientY - b.top) / b.height) };
    }
    function spanOf(a, b) {
      return { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(a.x - b.x), h: Math.abs(a.y - b.y) };
    }
    stage.addEventListener("pointerdown", function (e) {
      if (e.button !== 0) { return; }
      e.preventDefault();
      drawing = at(e);
      stage.setPointerCapture(e.pointerId);
    });
    stage.addEventListener("pointermove", function (e) {
      if (!drawing) { return; }
      if (ghost) { ghost.remove(); }
      ghost = box(spanOf(drawing, at(e)), "drawing");
      stage.appendChild(ghost);
    });
    function finish(e) {
      if (!drawing) { return; }
      var r = spanOf(drawing, at(e));
      drawing = null;
      if (ghost) { ghost.remove(); ghost = null; }
      if (r.w >= MIN_DRAG && r.h >= MIN_DRAG) { push(r); }
    }
    stage.addEventListener("pointerup", finish);
    stage.addEventListener("pointercancel", function () {
      drawing = null;
      if (ghost) { ghost.remove(); ghost = null; }
    });

    form.addEventListener("submit", function (e) {
      // A rectangle typed but not added yet is added now.
      var r = typed();
      if (r === false) { e.preventDefault(); return; }
      if (r && !push(r)) { e.preventDefault(); return; }
      if (r) { clearFields(); }
      if (!rects.length) {
        e.preventDefault();
        say("请至少画出或填写一个遮挡区域");
      }
    });
    if (img.complete) { render(); } else { img.addEventListener("load", render); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-moderate]").forEach(init);
  });
})();
