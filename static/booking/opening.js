// The My Page seminar page before its opening time: counts down, and unlocks booking at the time without a
// reload. The server's clock decides (the page carries its time), not the device's.
(function () {
  "use strict";
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
      countdown.textContent = "（開始まで " + (h ? h + ":" + pad(m) : m) + ":" + pad(s) + "）";
      window.setTimeout(tick, 250);
      return;
    }
    notice.textContent = "予約受付を開始しました。";
    document.querySelectorAll("[data-when-open]").forEach(function (el) { el.hidden = false; });
  }
  tick();
})();
