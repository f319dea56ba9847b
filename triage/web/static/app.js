// Small helps for keyboard users and "also viewing". Every action also works without this script.
(function () {
  "use strict";
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tr.case-row")); }
  var index = -1;
  function select(next) {
    var all = rows();
    if (!all.length) { return; }
    if (index >= 0 && all[index]) { all[index].classList.remove("selected"); }
    index = Math.max(0, Math.min(all.length - 1, next));
    all[index].classList.add("selected");
    all[index].scrollIntoView({ block: "nearest" });
  }
  function click(selector) {
    var element = document.querySelector(selector);
    if (element) { element.click(); }
  }
  document.addEventListener("keydown", function (event) {
    var tag = (event.target && event.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "j") { select(index + 1); }
    else if (event.key === "k") { select(index - 1); }
    else if (event.key === "o" && index >= 0) {
      var link = rows()[index].querySelector("a");
      if (link) { window.location.href = link.getAttribute("href"); }
    }
    else if (event.key === "c") { click("#action-claim"); }
    else if (event.key === "r") {
      var note = document.querySelector("textarea[name=note]");
      if (note) { event.preventDefault(); note.focus(); }
    }
    else if (event.key === "n") { click("#next-case"); }
    else if (event.key === "?") {
      var keys = document.getElementById("keys");
      if (keys) { keys.hidden = !keys.hidden; }
    }
    else if (event.key === "Escape") {
      var overlay = document.getElementById("keys");
      if (overlay) { overlay.hidden = true; }
    }
  });
  // "Also viewing": tell the server this case is still open, show who else has it open.
  var head = document.getElementById("case");
  if (head && window.fetch) {
    var beat = function () {
      window.fetch("/cases/" + head.getAttribute("data-case") + "/viewing", {
        method: "POST",
        headers: { "X-CSRF-Token": head.getAttribute("data-csrf") },
        credentials: "same-origin"
      }).then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          var box = document.getElementById("viewers");
          if (!data || !box) { return; }
          box.textContent = data.text;
          box.hidden = !data.text;
        })
        .catch(function () { /* the next beat tries again */ });
    };
    window.setInterval(beat, 15000);
  }
}());
