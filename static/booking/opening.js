// The My Page seminar page before its opening time: counts down, and unlocks booking at the time without a
// reload. The server's clock decides (the page carries its time), not the device's.
(function () {
  "use strict";
  // The djangojs catalogue (/i18n/js/, loaded by the page) defines gettext and interpolate; without it Japanese stays.
  var gettext = window.gettext || function (text) { return text; };
  var interpolate = window.interpolate || function (fmt, obj) {
    return fmt.replace(/%\(\w+\)s/g, function (match) { return String(obj[match.slice(2, -2)]); });
  };
  var notice = document.getElementById("opening");
  if (!notice) return;
  var opens = Number(notice.dataset.opens) || 0;
  var serverNow = Number(notice.dataset.now) || 0;
  if (!opens || !serverNow || opens <= serverNow) return;
  var countdown = document.getElementById("countdown");
  var started = Date.now();

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    var left = Math.ceil(opens - serverNow - (Date.now() - started) / 1000);
    if (left > 0) {
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      countdown.textContent = interpolate(gettext("（開始まで %(left)s）"), { left: (h ? h + ":" + pad(m) : m) + ":" + pad(s) }, true);
      window.setTimeout(tick, 250);
      return;
    }
    notice.textContent = gettext("予約受付を開始しました。");
    document.querySelectorAll("[data-when-open]").forEach(function (el) { el.hidden = false; });
  }
  tick();
})();
