/* The atlas board: small enhancements on top of plain forms and htmx (everything works without this).
 * - buttons marked aria-disabled (a stage already first, …) stay focusable but do nothing;
 * - Escape cancels an inline form or closes a macro journey's menu; a click outside closes the menu;
 * - a menu's actions are fetched when it is about to open (its link leads to them without JavaScript);
 * - the board keeps its horizontal scroll position when htmx re-renders it;
 * - stages and macro journeys can be dragged by their handle (the arrow buttons and menus do the same
 *   from the keyboard). A drop posts to the same move endpoints as those buttons. */
(function () {
  "use strict";

  // --- aria-disabled controls --------------------------------------------------------------------------
  document.addEventListener(
    "click",
    function (event) {
      if (event.target.closest && event.target.closest('[aria-disabled="true"]')) {
        event.preventDefault();
        event.stopPropagation();
      }
    },
    true
  );

  // --- Escape and outside clicks -----------------------------------------------------------------------
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !event.target.closest) return;
    var editing = event.target.closest(".is-editing, .inline-card");
    if (editing) {
      var cancel = editing.querySelector("[data-cancel]");
      if (cancel) {
        event.preventDefault();
        cancel.click();
      }
      return;
    }
    var open = event.target.closest("details[open]");
    if (open && (open.classList.contains("macro-menu") || open.classList.contains("add-inline"))) {
      open.open = false;
      open.querySelector("summary").focus();
    }
  });

  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.macro-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });

  // One menu open at a time; a menu that would be cut off by the bottom of the board opens upwards.
  function placeMenu(menu) {
    var pop = menu.querySelector(".menu-pop");
    var board = document.getElementById("board");
    if (!pop || !board) return;
    pop.classList.remove("opens-up");
    var limit = Math.min(board.getBoundingClientRect().bottom, window.innerHeight);
    var box = pop.getBoundingClientRect();
    if (box.bottom > limit && box.top - box.height - 30 > board.getBoundingClientRect().top) {
      pop.classList.add("opens-up");
    }
  }

  document.addEventListener(
    "toggle",
    function (event) {
      var menu = event.target;
      if (!menu.classList || !menu.classList.contains("macro-menu") || !menu.open) return;
      document.querySelectorAll("details.macro-menu[open]").forEach(function (other) {
        if (other !== menu) other.open = false;
      });
      loadMenu(menu);
      placeMenu(menu);
    },
    true
  );

  // --- menus load their actions on demand ----------------------------------------------------------------
  // The page carries only each menu's button and a link to its actions: the forms come from that link
  // (htmx answers the bare actions) when the pointer or the focus reaches the button, or the menu opens.
  // The link has the id of the first action, so htmx keeps the focus on it when the actions arrive.
  function loadMenu(menu) {
    var link = menu.querySelector(".menu-load");
    if (!link || link.dataset.loading || !window.htmx) return;
    link.dataset.loading = "true";
    window.htmx.ajax("GET", link.getAttribute("href"), {
      source: link,
      target: menu.querySelector(".menu-pop"),
      swap: "innerHTML",
    });
  }

  function loadMenuOf(event) {
    var summary = event.target.closest && event.target.closest("details.macro-menu > summary");
    if (summary) loadMenu(summary.parentElement);
  }
  document.addEventListener("pointerover", loadMenuOf);
  document.addEventListener("focusin", loadMenuOf);

  document.addEventListener("htmx:afterSettle", function (event) {
    var menu = event.target.closest && event.target.closest("details.macro-menu[open]");
    if (menu && event.target.classList.contains("menu-pop")) placeMenu(menu);
  });

  // --- keep the board's scroll position across re-renders ---------------------------------------------
  var scrollLeft = 0;
  document.addEventListener("htmx:beforeSwap", function () {
    var board = document.getElementById("board");
    if (board) scrollLeft = board.scrollLeft;
  });
  document.addEventListener("htmx:afterSwap", function () {
    var board = document.getElementById("board");
    if (board) board.scrollLeft = scrollLeft;
  });

  // --- drag and drop -----------------------------------------------------------------------------------
  var dragged = null; // {kind: "stage" | "macro", el}

  function clearMarks() {
    document.querySelectorAll(".is-drop-target, .drop-before, .drop-at-end").forEach(function (el) {
      el.classList.remove("is-drop-target", "drop-before", "drop-at-end");
    });
  }

  function post(el, values) {
    if (!window.htmx) return;
    window.htmx.ajax("POST", el.dataset.moveUrl, {
      source: el,
      target: "#atlas-body",
      swap: "outerHTML",
      values: values,
    });
  }

  // Only the handle starts a drag, so text stays selectable and links stay clickable.
  document.addEventListener("pointerdown", function (event) {
    var handle = event.target.closest && event.target.closest(".drag-handle");
    if (!handle) return;
    var item = handle.closest(handle.dataset.drag === "stage" ? "[data-stage]" : "[data-macro]");
    if (item) item.setAttribute("draggable", "true");
  });

  document.addEventListener("dragstart", function (event) {
    var el = event.target;
    if (!el.getAttribute || el.getAttribute("draggable") !== "true") return;
    dragged = { kind: el.hasAttribute("data-stage") ? "stage" : "macro", el: el };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", el.id);
    window.requestAnimationFrame(function () {
      el.classList.add("is-dragging");
    });
  });

  document.addEventListener("dragend", function (event) {
    var el = event.target;
    if (el.removeAttribute) {
      el.removeAttribute("draggable");
      el.classList.remove("is-dragging");
    }
    clearMarks();
    dragged = null;
  });

  function nextMacro(el) {
    el = el.nextElementSibling;
    while (el && (!el.hasAttribute("data-macro") || el === dragged.el)) el = el.nextElementSibling;
    return el;
  }

  // Where a dragged macro journey would land: its list (a stage) and the card it would go before.
  function macroDropPlace(event) {
    var list = event.target.closest("[data-stage-list]");
    var stage = event.target.closest("[data-stage]");
    if (!list && stage) list = stage.querySelector("[data-stage-list]");
    if (!list) return null;
    var before = event.target.closest("[data-macro]");
    if (before && !list.contains(before)) before = null;
    if (before === dragged.el) {
      before = nextMacro(before); // over itself: stays where it is
    } else if (before) {
      var box = before.getBoundingClientRect();
      if (event.clientY > box.top + box.height / 2) before = nextMacro(before);
    }
    var others = Array.prototype.filter.call(list.querySelectorAll("[data-macro]"), function (el) {
      return el !== dragged.el;
    });
    return { list: list, before: before, index: before ? others.indexOf(before) : others.length };
  }

  document.addEventListener("dragover", function (event) {
    if (!dragged || !event.target.closest) return;
    if (dragged.kind === "stage") {
      var stage = event.target.closest("[data-stage]");
      if (!stage) return;
      event.preventDefault();
      clearMarks();
      if (stage !== dragged.el) stage.classList.add("is-drop-target");
      return;
    }
    var place = macroDropPlace(event);
    if (!place) return;
    event.preventDefault();
    clearMarks();
    if (place.before) place.before.classList.add("drop-before");
    else place.list.classList.add("drop-at-end");
  });

  document.addEventListener("drop", function (event) {
    if (!dragged || !event.target.closest) return;
    var item = dragged;
    if (item.kind === "stage") {
      var stage = event.target.closest("[data-stage]");
      if (!stage || stage === item.el) return;
      event.preventDefault();
      var stages = Array.prototype.slice.call(document.querySelectorAll("#board [data-stage]"));
      post(item.el, { position: stages.indexOf(stage) });
    } else {
      var place = macroDropPlace(event);
      if (!place) return;
      event.preventDefault();
      post(item.el, { stage: place.list.dataset.stageList, position: place.index });
    }
    clearMarks();
  });
})();
