// No one-tap destruction: a form (or its submit button) with data-confirm asks first and says what will happen.
document.addEventListener("submit", function (event) {
  "use strict";
  var form = event.target;
  var button = event.submitter;
  var message = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
}, true);
