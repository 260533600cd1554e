/* superbatch js (cdnprobe lab): a tiny AJS-like runtime. Page code registers with AJS.toInit in
   the context and module batches; it runs on DOMContentLoaded and calls REST like the real UI. */
(function (w, d) {
  "use strict";
  function meta(name) {
    var m = d.querySelector('meta[name="ajs-' + name + '"]');
    return m ? m.getAttribute("content") || "" : "";
  }
  var ctx = meta("context-path");
  var inits = [];
  var pending = 0;
  function url(path) {
    return /^https?:/.test(path) ? path : ctx + path;
  }
  function done() {
    pending -= 1;
    if (pending === 0) {
      d.documentElement.setAttribute("data-lab-idle", "true");
    }
  }
  function request(method, path, body, cb) {
    pending += 1;
    var x = new XMLHttpRequest();
    x.open(method, url(path), true);
    x.setRequestHeader("Accept", "application/json, text/javascript, */*; q=0.01");
    x.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    if (body !== null) {
      x.setRequestHeader("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8");
      x.setRequestHeader("X-Atlassian-Token", "no-check");
    }
    x.onload = function () {
      var data = null;
      try { data = JSON.parse(x.responseText); } catch (e) { data = null; }
      try { cb(x.status, data, x.responseText); } finally { done(); }
    };
    x.onerror = function () {
      try { cb(0, null, ""); } finally { done(); }
    };
    x.send(body);
  }
  function escapeHtml(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  w.AJS = {
    contextPath: function () { return ctx; },
    meta: meta,
    escapeHtml: escapeHtml,
    $: function (sel) { return d.querySelector(sel); },
    get: function (path, cb) { request("GET", path, null, cb); },
    post: function (path, form, cb) { request("POST", path, form, cb); },
    /* fetch() as the newer front ends use it; same-origin credentials. */
    fetchJson: function (path, cb) {
      pending += 1;
      w.fetch(url(path), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (j) { return [r.status, j]; }); })
        .then(function (res) { try { cb(res[0], res[1]); } finally { done(); } },
              function () { try { cb(0, null); } finally { done(); } });
    },
    toInit: function (f) { inits.push(f); },
    loggedIn: function () { return meta("remote-user") !== ""; }
  };
  d.addEventListener("DOMContentLoaded", function () {
    for (var i = 0; i < inits.length; i++) {
      try { inits[i](); } catch (e) { if (w.console) { w.console.error(e); } }
    }
    if (pending === 0) {
      d.documentElement.setAttribute("data-lab-idle", "true");
    }
  });
})(window, document);
