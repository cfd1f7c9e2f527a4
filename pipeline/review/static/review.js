// Keyboard review and filter auto-submit. Loaded as a file: the page allows no inline script.
(function () {
  "use strict";

  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.submit();
    });
  });

  var reasons = document.getElementById("reasons");
  var hint = null;

  function openReasons() {
    if (!reasons) return false;
    reasons.hidden = false;
    return true;
  }

  function anyReason() {
    return reasons && reasons.querySelector("input[name=reason]:checked") !== null;
  }

  function showHint() {
    if (!reasons) return;
    if (!hint) {
      hint = document.createElement("p");
      hint.id = "reason-hint";
      hint.className = "hint";
      hint.textContent = "Pick at least one reason (keys 1 to 8) first.";
      reasons.appendChild(hint);
    }
  }

  function click(id) {
    var element = document.getElementById(id);
    if (element) element.click();
    return element !== null;
  }

  function follow(id) {
    var link = document.getElementById(id);
    if (link && link.href) window.location.href = link.href;
  }

  var opener = document.getElementById("incorrect-open");
  if (opener) {
    opener.addEventListener("click", function () {
      openReasons();
      var first = reasons.querySelector("input[name=reason]");
      if (first) first.focus();
    });
  }

  var form = document.getElementById("verdict-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      if (submitter && submitter.value === "incorrect" && !anyReason()) {
        event.preventDefault();
        showHint();
      }
    });
  }

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable) return true;
    return tag === "INPUT" && target.type !== "checkbox";
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && target.id === "comment") {
      event.preventDefault();
      if (anyReason()) click("incorrect");
      else showHint();
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
    if (typing(target)) {
      if (event.key === "Escape") target.blur();
      return;
    }
    var key = event.key;
    if (key >= "1" && key <= "9" && reasons) {
      var box = reasons.querySelector('input[data-key="' + key + '"]');
      if (box) {
        openReasons();
        box.checked = !box.checked;
        event.preventDefault();
      }
      return;
    }
    switch (key) {
      case "c":
        click("correct");
        break;
      case "i":
      case "x":
        openReasons();
        break;
      case "Enter":
        if (reasons && !reasons.hidden) {
          event.preventDefault();
          if (anyReason()) click("incorrect");
          else showHint();
        }
        break;
      case "n":
      case "j":
      case "ArrowRight":
        follow("next");
        break;
      case "p":
      case "k":
      case "ArrowLeft":
        follow("prev");
        break;
      case "u":
        if (document.getElementById("next-todo")) follow("next-todo");
        else follow("start");
        break;
      case "l":
        follow("back");
        break;
      case "Escape":
        if (reasons) reasons.hidden = true;
        break;
      case "/":
        var search = document.getElementById("search");
        if (search) {
          event.preventDefault();
          search.focus();
        }
        break;
      case "?":
        var help = document.getElementById("shortcuts");
        if (help) help.scrollIntoView();
        break;
      default:
        return;
    }
  });
})();
