// Keyboard help for the queue: j/k move, o opens. Every action also works without this script.
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
  document.addEventListener("keydown", function (event) {
    var tag = (event.target && event.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "j") { select(index + 1); }
    else if (event.key === "k") { select(index - 1); }
    else if (event.key === "o" && index >= 0) {
      var link = rows()[index].querySelector("a");
      if (link) { window.location.href = link.getAttribute("href"); }
    }
  });
}());
