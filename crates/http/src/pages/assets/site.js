// Small conveniences on top of pages that work without JavaScript.
(function () {
  "use strict";

  // Filter forms apply as soon as a choice changes; the Apply button stays for keyboards and
  // for browsers without scripts.
  document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.submit();
    });
  });

  // A copy button beside each command line.
  document.querySelectorAll("[data-copy]").forEach(function (block) {
    if (!navigator.clipboard) {
      return;
    }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary copy";
    button.textContent = "Copy";
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(block.getAttribute("data-copy")).then(function () {
        button.textContent = "Copied";
      });
    });
    block.insertAdjacentElement("afterend", button);
  });
})();
