// The company's notices on a page rendered once for everyone (the rush page, booking/templates/booking/mypage/
// rush.html): fetched after load from /my/status.json, the My Page's cached banners, and drawn as
// templates/_banners.html draws them. The first fetch waits up to a few seconds (at the opening second it must
// not join the booking requests), then every few minutes; the browser keeps each answer as the server's cache.
(function () {
  "use strict";
  var box = document.getElementById("banners");
  if (!box || !box.dataset.notices) return;
  var gettext = window.gettext || function (text) { return text; };
  var FIRST_WAIT_MS = 3000;
  var EVERY_MS = 180000;

  function add(parent, tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text) el.textContent = text;
    parent.appendChild(el);
    return el;
  }
  function sameOrigin(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" ? url : null;
  }
  function draw(banners) {
    while (box.firstChild) box.removeChild(box.firstChild);
    banners.forEach(function (banner) {
      if (banner.over) return;
      var div = add(box, "div", "banner", "");
      div.setAttribute("role", "status");
      div.dataset.banner = String(banner.key || "");
      add(div, "p", "banner-text", banner.text || "");
      var meta = add(div, "p", "banner-meta", gettext("発生") + " ");
      var started = add(meta, "time", "", banner.started || "");
      if (banner.started_iso) started.setAttribute("datetime", banner.started_iso);
      meta.appendChild(document.createTextNode(" " + gettext("・") + " " + gettext("最終更新") + " "));
      var updated = add(meta, "time", "", banner.updated || banner.started || "");
      if (banner.updated_iso) updated.setAttribute("datetime", banner.updated_iso);
      var url = sameOrigin(banner.url);
      if (url) {
        meta.appendChild(document.createTextNode(" " + gettext("・") + " "));
        add(meta, "a", "", banner.link_text || gettext("詳細")).href = url;
      }
    });
  }
  function load() {
    fetch(box.dataset.notices, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body && body.banners) draw(body.banners); })
      .catch(function () { /* the notices are a courtesy: the booking goes on without them */ });
  }
  setTimeout(function () { load(); setInterval(load, EVERY_MS); }, Math.random() * FIRST_WAIT_MS);
})();
