// Progressive enhancement for the portal (no inline scripts: the CSP forbids them).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("DOMContentLoaded", function () {
    // Selects that submit their form on change (language switch, filters).
    document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.submit(); });
    });

    // Forms that ask before they are sent.
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        var submitter = ev.submitter;
        if (submitter && submitter.value === "save") { return; }
        if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
      });
    });

    // Item table of the catalog editor: add, reorder and remove rows.
    var table = document.getElementById("items-table");
    if (table) {
      var body = table.tBodies[0];
      var total = document.getElementById("id_items-TOTAL_FORMS");
      var tpl = document.getElementById("item-template");
      var renumber = function () {
        Array.prototype.forEach.call(body.rows, function (row, i) {
          var order = row.querySelector('input[name$="-ORDER"]');
          if (order) { order.value = i + 1; }
        });
      };
      var addBtn = document.querySelector("[data-add-item]");
      if (addBtn && tpl && total) {
        addBtn.addEventListener("click", function () {
          var n = parseInt(total.value, 10);
          var html = tpl.innerHTML.replace(/__prefix__/g, String(n));
          body.insertAdjacentHTML("beforeend", html);
          total.value = n + 1;
          renumber();
          var first = body.rows[body.rows.length - 1].querySelector('input[name$="-code"]');
          if (first) { first.focus(); }
        });
      }
      body.addEventListener("click", function (ev) {
        var btn = ev.target.closest("[data-move]");
        if (!btn) { return; }
        var row = btn.closest("tr");
        if (btn.getAttribute("data-move") === "up" && row.previousElementSibling) {
          body.insertBefore(row, row.previousElementSibling);
        } else if (btn.getAttribute("data-move") === "down" && row.nextElementSibling) {
          body.insertBefore(row.nextElementSibling, row);
        }
        renumber();
        btn.focus();
      });
      body.addEventListener("change", function (ev) {
        if (ev.target.name && /-DELETE$/.test(ev.target.name)) {
          ev.target.closest("tr").classList.toggle("removed", ev.target.checked);
        }
      });
      renumber();
      var form = table.closest("form");
      if (form) { form.addEventListener("submit", renumber); }
    }

    // An import job's page: poll its progress, show it on the bar, reload once it is done.
    var job = document.querySelector("[data-import-job]");
    if (job && window.fetch) {
      var bar = job.querySelector("progress");
      var put = function (sel, value) { var el = job.querySelector(sel); if (el) { el.textContent = value; } };
      var poll = function () {
        fetch(job.getAttribute("data-import-job"), { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (p) {
            if (!p) { return; }
            if (p.done) { window.location.reload(); return; }
            put("[data-import-rows]", p.rows_read);
            put("[data-import-written]", p.entries_done);
            put("[data-import-total]", p.entries_total);
            if (bar && p.entries_total) { bar.max = p.entries_total; bar.value = p.entries_done; }
            window.setTimeout(poll, 2000);
          })
          .catch(function () { window.setTimeout(poll, 5000); });
      };
      window.setTimeout(poll, 1000);
    }

    // Approver's desk: j/k move, Enter/o open, a approves the selected request as requested.
    var list = document.querySelector("[data-keyboard-list]");
    if (list) {
      var rows = Array.prototype.slice.call(list.querySelectorAll("tbody tr[data-request]"));
      var current = -1;
      var select = function (i) {
        if (!rows.length) { return; }
        current = Math.max(0, Math.min(rows.length - 1, i));
        rows.forEach(function (r) { r.classList.remove("selected"); });
        rows[current].classList.add("selected");
        rows[current].focus();
      };
      document.addEventListener("keydown", function (ev) {
        var tag = (ev.target.tagName || "").toLowerCase();
        if (tag === "input" || tag === "textarea" || tag === "select" || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
        if (ev.key === "j") { select(current + 1); ev.preventDefault(); }
        else if (ev.key === "k") { select(current - 1); ev.preventDefault(); }
        else if ((ev.key === "Enter" || ev.key === "o") && current >= 0 && ev.target.tagName !== "A" && ev.target.tagName !== "BUTTON") {
          var link = rows[current].querySelector("[data-open]");
          if (link) { window.location.href = link.href; ev.preventDefault(); }
        } else if (ev.key === "a" && current >= 0) {
          var quick = rows[current].querySelector("form[data-quick-approve]");
          if (quick) { quick.submit(); ev.preventDefault(); }
        }
      });
    }
  });
})();

// Issue 19: forms. An error summary takes the focus when the page opens, and its links focus
// the field they name; fields required only for some choices (data-required-when="field:a,b")
// show their marker and aria-required as the choice changes.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (ev) {
      var link = ev.target.closest("a[data-error-link]");
      if (!link) { return; }
      var target = document.getElementById(link.getAttribute("href").slice(1));
      if (!target) { return; }
      var control = target.matches("input, select, textarea") ? target : target.querySelector("input, select, textarea");
      if (control) { ev.preventDefault(); control.focus(); control.scrollIntoView({ block: "center" }); }
    });
  }
  document.querySelectorAll("[data-required-when]").forEach(function (box) {
    var rule = box.getAttribute("data-required-when").split(":");
    var form = box.closest("form");
    var source = form && form.elements.namedItem(rule[0]);
    if (!source) { return; }
    var values = rule[1].split(",");
    var update = function () {
      var on = values.indexOf(source.value) !== -1;
      var marker = box.querySelector("[data-required-marker]");
      if (marker) { marker.hidden = !on; }
      box.querySelectorAll("input, select, textarea").forEach(function (el) {
        if (on) { el.setAttribute("aria-required", "true"); } else { el.removeAttribute("aria-required"); }
      });
    };
    source.addEventListener("change", update);
    update();
  });
});
