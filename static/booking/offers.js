// A waiting-list offer reaches the open My Page live (pushed over /ws/my/events/, re-dispatched by events.js as
// "saas:offer"): drawn as home.html draws it on load, with the page's CSRF token for its two buttons.
(function () {
  "use strict";
  // The djangojs catalogue (/i18n/js/, loaded by the page) defines gettext and interpolate; without it Japanese stays.
  var gettext = window.gettext || function (text) { return text; };
  var interpolate = window.interpolate || function (fmt, obj) {
    return fmt.replace(/%\(\w+\)s/g, function (match) { return String(obj[match.slice(2, -2)]); });
  };
  function csrf() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function safePath(path) {
    return typeof path === "string" && /^\/my\/waitlist\/\d+\/(accept|leave)\/$/.test(path) ? path : null;
  }
  function form(action, label, className) {
    var f = document.createElement("form");
    f.method = "post";
    f.action = action;
    var token = document.createElement("input");
    token.type = "hidden"; token.name = "csrfmiddlewaretoken"; token.value = csrf();
    var button = document.createElement("button");
    button.type = "submit"; button.textContent = label;
    if (className) button.className = className;
    f.appendChild(token); f.appendChild(button);
    return f;
  }
  document.addEventListener("saas:offer", function (event) {
    var offer = event.detail || {};
    var accept = safePath(offer.accept), leave = safePath(offer.leave);
    var main = document.querySelector("main");
    if (!accept || !leave || !main || document.getElementById("offer-" + Number(offer.entry))) return;
    var section = document.createElement("section");
    section.className = "card offer";
    section.id = "offer-" + Number(offer.entry);
    section.setAttribute("role", "alert");
    var h2 = document.createElement("h2"); h2.textContent = gettext("空席のご案内");
    var p = document.createElement("p");
    p.textContent = interpolate(gettext("「%(title)s」%(when)s に空席が出ました。"), { title: offer.title, when: offer.when }, true);
    // The deadline stands in bold inside a sentence whose word order is the language's.
    var sentence = gettext("%(deadline)s までに確定してください。").split("%(deadline)s");
    var strong = document.createElement("strong"); strong.textContent = offer.deadline;
    p.appendChild(document.createTextNode(sentence[0]));
    p.appendChild(strong);
    p.appendChild(document.createTextNode(sentence.slice(1).join("")));
    section.appendChild(h2); section.appendChild(p);
    section.appendChild(form(accept, gettext("予約を確定する")));
    section.appendChild(form(leave, gettext("辞退する"), "secondary"));
    var heading = main.querySelector("h1");
    if (heading && heading.nextSibling) { main.insertBefore(section, heading.nextSibling); } else { main.insertBefore(section, main.firstChild); }
  });
})();
