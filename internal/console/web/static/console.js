// berth console: live updates over server-sent events. Every page reads
// without this script; with it, the element marked data-stream follows its
// stream. Fragments come from the server's html/template (escaped there);
// log lines are set as text, never as markup.
"use strict";
(function () {
  function live(el) {
    var es = new EventSource(el.dataset.stream);
    es.addEventListener("update", function (ev) {
      el.innerHTML = ev.data;
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
