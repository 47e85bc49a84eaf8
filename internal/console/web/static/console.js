// berth console: live updates over server-sent events. Every page reads
// without this script; with it, the element marked data-stream follows its
// stream, and a rollback link opens its confirmation in a dialog.
// Fragments come from the server's html/template (escaped there); log
// lines are set as text, never as markup.
"use strict";
(function () {
  function live(el) {
    var es = new EventSource(el.dataset.stream);
    es.addEventListener("update", function (ev) {
      // Keep keyboard focus across the swap: on the same link in the new
      // fragment.
      var had = el.contains(document.activeElement) && document.activeElement.getAttribute("href");
      el.innerHTML = ev.data;
      if (had) {
        var again = el.querySelector('[href="' + CSS.escape(had) + '"]');
        if (again) again.focus();
      }
      if (el.id !== "live") return;
      document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
    });
    if (el.id !== "live") return;
    es.onerror = function () { document.body.dataset.live = "reconnecting"; };
    es.onopen = function () { document.body.dataset.live = "open"; };
  }
  function logs(ol) {
    var es = new EventSource(ol.dataset.stream);
    es.addEventListener("log", function (ev) {
      var l = JSON.parse(ev.data);
      var li = document.createElement("li");
      li.className = l.stream === "stderr" ? "stderr" : "stdout";
      var t = document.createElement("time");
      t.textContent = l.time.replace("T", " ");
      var src = document.createElement("span");
      src.className = "src";
      src.textContent = l.source;
      var text = document.createElement("span");
      text.className = "text";
      text.textContent = l.text;
      li.append(t, " ", src, " ", text);
      var atEnd = ol.scrollTop + ol.clientHeight >= ol.scrollHeight - 4;
      ol.appendChild(li);
      while (ol.children.length > 1000) ol.removeChild(ol.firstChild);
      if (atEnd) ol.scrollTop = ol.scrollHeight;
    });
    es.addEventListener("failed", function (ev) {
      var li = document.createElement("li");
      li.className = "error";
      li.textContent = JSON.parse(ev.data).error;
      ol.appendChild(li);
      es.close();
    });
  }
  // The rollback confirmation as a modal dialog: a rollback link (click,
  // or Enter from the keyboard) fetches its confirmation page and shows
  // that page's content in a <dialog>, focus on Cancel; Escape or Cancel
  // closes it and gives focus back to the link. Its button posts the
  // page's own form. Without this script the link opens the page.
  function confirmDialog(ev) {
    var a = ev.target.closest && ev.target.closest("a.rollback");
    if (!a || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    var href = a.getAttribute("href");
    fetch(href, { credentials: "same-origin" }).then(function (res) {
      if (!res.ok || new URL(res.url).pathname !== new URL(a.href).pathname) throw new Error(res.status);
      return res.text();
    }).then(function (html) {
      var page = new DOMParser().parseFromString(html, "text/html").querySelector("main");
      var form = page && page.querySelector("form");
      if (!form) throw new Error("no confirmation form");
      var dlg = document.createElement("dialog");
      dlg.id = "confirm-dialog";
      dlg.setAttribute("aria-labelledby", "confirm-dialog-title");
      var h = document.createElement("h2");
      h.id = "confirm-dialog-title";
      h.textContent = page.querySelector("h1").textContent;
      dlg.appendChild(h);
      page.querySelectorAll("main > p").forEach(function (p) { dlg.appendChild(document.importNode(p, true)); });
      dlg.appendChild(document.importNode(form, true));
      var cancel = dlg.querySelector("form a");
      cancel.addEventListener("click", function (e) { e.preventDefault(); dlg.close(); });
      dlg.addEventListener("close", function () {
        dlg.remove();
        // The live part may have been swapped meanwhile: find the link again.
        var back = document.querySelector('a.rollback[href="' + CSS.escape(href) + '"]');
        if (back) back.focus();
      });
      document.body.appendChild(dlg);
      dlg.showModal();
      cancel.focus();
    }).catch(function () { location.href = href; });
  }
  document.addEventListener("click", confirmDialog);
  document.addEventListener("DOMContentLoaded", function () {
    ["live", "stats"].forEach(function (id) {
      var el = document.getElementById(id);
      if (el && el.dataset.stream) live(el);
    });
    var ol = document.getElementById("logs");
    if (ol && ol.dataset.stream) logs(ol);
    var sel = document.getElementById("replica");
    if (sel) sel.addEventListener("change", function () { sel.form.submit(); });
  });
})();
