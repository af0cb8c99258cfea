// エントリーシート: the draft is saved while the student types (a second after they stop), without a reload.
// Its words come from the form's data-saving / data-saved / data-failed attributes, in the page's language.
(function () {
  "use strict";
  var form = document.getElementById("entry-sheet");
  var status = document.getElementById("draft-status");
  if (!form || !status || !window.fetch || !window.FormData) return;
  var timer = null;
  var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  function save() {
    var data = new FormData();
    form.querySelectorAll("[name^=q_]").forEach(function (field) {
      if ((field.type === "radio" || field.type === "checkbox") && !field.checked) return;
      data.append(field.name, field.value);
    });
    status.textContent = form.dataset.saving;
    fetch(form.dataset.draftUrl, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-CSRFToken": token, "Accept": "application/json" }
    }).then(function (response) { return response.json(); }).then(function (answer) {
      status.textContent = answer.ok ? form.dataset.saved.replace("{time}", answer.saved_at) : answer.message;
    }).catch(function () { status.textContent = form.dataset.failed; });
  }
  form.addEventListener("input", function () {
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, 1000);
  });
  // Typed before this script ran (deferred; a slow phone shows the form first): saved all the same.
  function edited(field) {
    if (field.type === "radio" || field.type === "checkbox") return field.checked !== field.defaultChecked;
    if (field.tagName === "SELECT") {
      return Array.prototype.some.call(field.options, function (o) { return o.selected !== o.defaultSelected; });
    }
    return field.value !== field.defaultValue;
  }
  if (Array.prototype.some.call(form.querySelectorAll("[name^=q_]"), edited)) timer = setTimeout(save, 1000);
  form.querySelectorAll("textarea[maxlength]").forEach(function (area) {
    var counter = document.getElementById(area.id + "-count");
    if (!counter) return;
    var show = function () { counter.textContent = area.value.length + " / " + area.getAttribute("maxlength"); };
    area.addEventListener("input", show);
    show();
  });
})();
