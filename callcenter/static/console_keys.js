// The console's keyboard: "/" jumps to the header's search box; Enter in a customer search
// box opens what it names (data-enter-opens: a document number, or the one customer found);
// Ctrl+Enter (Cmd+Enter on a Mac) clicks the page's button marked data-shortcut="ctrl-enter"
// (order entry: Place order; the card page: Authorise card). The shortcut only clicks a real
// button, so the same form works without JavaScript and for screen readers.
(function () {
  "use strict";

  function editable(element) {
    if (!element || element === document.body) { return false; }
    var tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) { return; }
    // "/" focuses the search box in the header, unless the agent is typing somewhere.
    if (event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey &&
        !editable(document.activeElement)) {
      var find = document.getElementById("console-find");
      if (find) {
        event.preventDefault();
        find.focus();
        find.select();
      }
      return;
    }
    if (event.key !== "Enter") { return; }
    if (event.ctrlKey || event.metaKey) {
      var button = document.querySelector('button[data-shortcut="ctrl-enter"]');
      if (button && !button.disabled) {
        event.preventDefault();
        button.click();
      }
      return;
    }
    var box = event.target;
    if (box && box.dataset && box.dataset.enterOpens && !event.shiftKey && !event.altKey) {
      event.preventDefault();
      var q = box.value.trim();
      window.location.assign(box.dataset.enterOpens + (q ? "?q=" + encodeURIComponent(q) : ""));
    }
  }, true);
})();
