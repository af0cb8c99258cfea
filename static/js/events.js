// Live events of a page (recruiters: /ws/events/, the My Page: /ws/my/events/): incident banners, progress,
// offers. Every event is re-dispatched as a "saas:<type>" DOM event; banners are drawn here, as
// templates/_banners.html draws them on load. Reconnects with back-off.
(function () {
  "use strict";
  var box = document.getElementById("banners");
  if (!box || !box.dataset.events) return;
  // The djangojs catalogue (/i18n/js/, loaded by base.html) defines gettext; without it the Japanese stays.
  var gettext = window.gettext || function (text) { return text; };
  var STORE = "saas.dismissed-banners";
  var delay = 1000;

  // A dismissal is kept per banner and version: the next update of the same incident shows it again.
  function dismissed() {
    try { return JSON.parse(window.localStorage.getItem(STORE) || "{}") || {}; } catch (error) { return {}; }
  }
  function dismiss(key, version) {
    var all = dismissed();
    all[key] = version;
    var keys = Object.keys(all);
    if (keys.length > 200) { delete all[keys[0]]; }
    try { window.localStorage.setItem(STORE, JSON.stringify(all)); } catch (error) { /* private mode */ }
  }
  function wire(div) {
    var button = div.querySelector(".banner-close");
    if (!button) return;
    button.addEventListener("click", function () {
      if (div.dataset.banner) { dismiss(div.dataset.banner, div.dataset.version || ""); }
      if (div.parentNode) { div.parentNode.removeChild(div); }
    });
  }
  function safeUrl(url) {
    if (typeof url !== "string" || !url) return null;
    if (url.charAt(0) === "/" && url.charAt(1) !== "/") return url;  // same origin
    if (/^https?:\/\/[^\s"'<>]+$/.test(url)) return url;  // the public status page
    return null;
  }
  function add(parent, tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text) el.textContent = text;
    parent.appendChild(el);
    return el;
  }
  function timeEl(parent, label, iso) {
    var el = add(parent, "time", "", label);
    if (iso) el.setAttribute("datetime", iso);
  }
  function draw(event) {
    var key = event.key ? String(event.key) : (event.maintenance_id ? "maintenance-" + Number(event.maintenance_id) : "");
    var version = event.version ? String(event.version) : "";
    var old = key ? box.querySelector('[data-banner="' + key.replace(/[^a-z0-9-]/gi, "") + '"]') : null;
    if (old) { old.parentNode.removeChild(old); }
    if (key && version && dismissed()[key] === version) return;
    var div = document.createElement("div");
    div.className = "banner" + (event.over ? " over" : "");
    div.setAttribute("role", "status");
    if (key) { div.dataset.banner = key; div.dataset.version = version; }
    add(div, "p", "banner-text", event.text || "");
    var meta = add(div, "p", "banner-meta", "");
    if (event.started) {
      meta.appendChild(document.createTextNode(gettext("発生") + " "));
      timeEl(meta, event.started, event.started_iso);
      meta.appendChild(document.createTextNode(" " + gettext("・") + " " + gettext("最終更新") + " "));
      timeEl(meta, event.updated || event.started, event.updated_iso);
    }
    var url = safeUrl(event.url);
    if (url) {
      if (event.started) { meta.appendChild(document.createTextNode(" " + gettext("・") + " ")); }
      var link = add(meta, "a", "", event.link_text || gettext("詳細"));
      link.href = url;
    }
    var close = add(div, "button", "banner-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", gettext("このお知らせを閉じる（新しい更新があれば再表示されます）"));
    wire(div);
    box.insertBefore(div, box.firstChild);
  }

  Array.prototype.forEach.call(box.querySelectorAll(".banner[data-banner]"), function (div) {
    if (dismissed()[div.dataset.banner] === div.dataset.version) { div.parentNode.removeChild(div); }
    else { wire(div); }
  });

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + box.dataset.events);
    socket.onopen = function () { delay = 1000; box.dataset.live = "1"; };
    socket.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (error) { return; }
      if (event.type === "banner") { draw(event); }
      document.dispatchEvent(new CustomEvent("saas:" + event.type, { detail: event }));
    };
    socket.onclose = function (event) {
      delete box.dataset.live;
      if (event.code === 4401) { return; }
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
