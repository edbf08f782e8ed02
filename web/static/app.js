// Touchpoint dashboard: what HTML alone cannot do. Every page works without
// this file; it adds copy buttons, confirmations and the live feed.
"use strict";

// decorate adds what the script adds to a page, or to a part of one
// fetched later.
function decorate(root) {
  // Copy buttons: beside every element marked data-copy (its text, or the
  // attribute's value when it has one) and every pre.copyable.
  root.querySelectorAll("[data-copy], pre.copyable").forEach(function (el) {
    if (!navigator.clipboard) return;
    var b = document.createElement("button");
    b.type = "button";
    b.className = "copy secondary";
    b.textContent = "Copy";
    var what = el.getAttribute("data-copy-label");
    b.setAttribute("aria-label", what ? "Copy " + what : "Copy");
    b.addEventListener("click", function () {
      var text = el.getAttribute("data-copy") || el.textContent;
      navigator.clipboard.writeText(text).then(function () {
        b.textContent = "Copied";
        setTimeout(function () { b.textContent = "Copy"; }, 1500);
      });
    });
    el.insertAdjacentElement("afterend", b);
  });
}

document.addEventListener("DOMContentLoaded", function () {
  decorate(document);

  // Parts of a page that take long to compute (a chart) come after it:
  // the page paints at once, and the part replaces its placeholder.
  document.querySelectorAll("[data-fragment]").forEach(function (el) {
    fetch(el.getAttribute("data-fragment"), {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { return r.text().then(function (t) { return {url: r.url, status: r.status, text: t}; }); })
      .then(function (r) {
        // The session ended meanwhile: the page itself asks to sign in.
        if (r.status === 401 || /\/signin/.test(r.url)) { location.reload(); return; }
        el.innerHTML = r.text;
        decorate(el);
      })
      .catch(function () {
        el.innerHTML = "";
        var p = document.createElement("p");
        p.className = "error";
        p.setAttribute("role", "alert");
        p.textContent = "The chart could not be loaded (the server did not answer): reload the page to try again.";
        el.appendChild(p);
      });
  });

  // Forms that undo something ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
    });
  });

  // Selects that change the page at once.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
    s.addEventListener("change", function () { s.form.submit(); });
  });

  // The live feed: server-sent events, newest first.
  var feed = document.querySelector("[data-live]");
  if (feed && window.EventSource) {
    var status = document.getElementById("live-status");
    var es = new EventSource(feed.getAttribute("data-live"));
    es.onopen = function () { if (status) status.textContent = "Connected: new touches, installs and conversions appear below as they arrive."; };
    es.onerror = function () { if (status) status.textContent = "Disconnected: reconnecting…"; };
    es.onmessage = function (e) {
      var item = JSON.parse(e.data);
      var li = document.createElement("li");
      li.className = "kind-" + item.kind;
      var badge = document.createElement("span");
      badge.className = "badge" + (item.ok === false ? " bad" : item.kind === "install" ? " ok" : "");
      badge.textContent = item.label;
      var time = document.createElement("small");
      time.textContent = " " + item.time + " ";
      li.appendChild(badge);
      li.appendChild(time);
      if (item.href) {
        var a = document.createElement("a");
        a.href = item.href;
        a.textContent = item.text;
        li.appendChild(a);
      } else {
        li.appendChild(document.createTextNode(item.text));
      }
      var empty = document.getElementById("live-empty");
      if (empty) empty.remove();
      feed.insertBefore(li, feed.firstChild);
      while (feed.children.length > 200) feed.removeChild(feed.lastChild);
    };
  }
});
