/* The journey map editor: lets htmx show refused edits, opens dialogs, drag and drop of steps and
   phases with a keyboard alternative, and printing. No build step, no dependencies besides htmx.

   Refused edits: the server answers 409 (the journey or step changed since it was loaded: the fresh
   content and, for a cell, the editor's own text) or 422 (invalid input, errors inline). htmx does not
   swap 4xx responses by default; this page swaps those two, as it would a 200. */
(function () {
  "use strict";

  const SWAPPED_ERRORS = [409, 422];

  // The board as the page was loaded needs no after-swap handling (see onBoardSwapped).
  const initialBoard = document.getElementById("map-board");
  if (initialBoard) initialBoard.dataset.settled = "1";

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (SWAPPED_ERRORS.includes(event.detail.xhr.status)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // --- dialogs (pin an insight, confirm a deletion) -------------------------------------------------

  function dialogHost() {
    return document.getElementById("map-dialog");
  }

  function closeDialog() {
    const host = dialogHost();
    if (!host) return;
    const dialog = host.querySelector("dialog");
    if (dialog && dialog.open) dialog.close();
    host.innerHTML = "";
  }

  // --- focus: htmx swaps replace the element that had it; put the keyboard back where it was ---------

  // What identifies an element across a re-render of the board: its id, its link, or its form's
  // action with the button's value (emotion buttons, pins).
  function keyOf(el) {
    if (!el || el === document.body) return null;
    const form = el.closest("form");
    return {
      id: el.id || "",
      tag: el.tagName,
      href: el.getAttribute("href") || "",
      action: form ? form.getAttribute("action") || "" : "",
      name: el.getAttribute("name") || "",
      value: el.getAttribute("value") || "",
    };
  }

  function findByKey(root, key) {
    if (!key) return null;
    if (key.id) return document.getElementById(key.id);
    return Array.from(root.querySelectorAll(key.tag)).find(function (el) {
      const form = el.closest("form");
      return (el.getAttribute("href") || "") === key.href
        && (form ? form.getAttribute("action") || "" : "") === key.action
        && (el.getAttribute("name") || "") === key.name
        && (el.getAttribute("value") || "") === key.value;
    }) || null;
  }

  // An element inside a closed menu cannot take the focus: its menu button does.
  function focusable(el) {
    const menu = el && el.closest("details:not([open])");
    return menu ? menu.querySelector("summary") : el;
  }

  let opener = null; // the key of what opened the dialog
  let focusedInBoard = null; // the key of what had the focus when the board was swapped

  document.addEventListener("htmx:beforeRequest", function (event) {
    const target = event.detail.target;
    if (target && target.id === "map-dialog") opener = keyOf(event.detail.elt);
  });

  // A comment posted in a step's comments dialog: the board redraws when the dialog closes.
  // (on beforeSwap: the form that posted is still in the dialog then, not after the swap)
  document.addEventListener("htmx:beforeSwap", function (event) {
    const elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    const dialog = elt && elt.closest && elt.closest(".map-dialog-comments");
    if (dialog && event.detail.xhr.status < 300 && event.detail.requestConfig.verb === "post") {
      dialog.dataset.commented = "1";
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    const board = document.getElementById("map-board");
    const active = document.activeElement;
    if (board && event.detail.target === board && board.contains(active)) focusedInBoard = keyOf(active);
  });

  function restoreFocus(root, notice) {
    const remembered = focusedInBoard || opener;
    focusedInBoard = null;
    opener = null;
    const el = focusable(findByKey(root, remembered));
    if (el && document.body.contains(el)) {
      el.focus({ preventScroll: true });
      el.scrollIntoView({ block: "nearest", inline: "nearest" });
    } else if (notice) {
      // What was focused is gone (a deleted step, a pain point now an opportunity): the notice
      // saying what happened takes the keyboard, and a screen reader reads it.
      notice.setAttribute("tabindex", "-1");
      notice.focus({ preventScroll: true });
      notice.scrollIntoView({ block: "nearest" });
    }
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    const host = dialogHost();
    if (host && event.detail.target === host) {
      const dialog = host.querySelector("dialog");
      if (dialog && !dialog.open) {
        dialog.addEventListener("close", function () {
          const commented = dialog.dataset.commented === "1";
          host.innerHTML = "";
          const board = document.getElementById("map-board");
          if (commented && board && !board.querySelector(".cell-form, .tp-form, .phase-form, .pin-panel")) {
            // The step's comment count in its header is out of date: redraw the board (no open
            // editor in it to lose). Its swap puts the focus back on the comment button.
            focusedInBoard = opener;
            htmx.ajax("GET", window.location.pathname + window.location.search, {
              source: board, target: "#map-board", swap: "outerHTML",
            });
            return;
          }
          const back = focusable(findByKey(document, opener));
          opener = null;
          if (back) back.focus();
        }, { once: true });
        dialog.showModal();
      }
    }
    // A cell back from editing (saved or cancelled): the keyboard stays on it, at its edit link.
    const cell = event.target;
    if (cell.matches && cell.matches(".cell, .touchpoints") && !cell.querySelector(".cell-form")) {
      const lost = document.activeElement === document.body || !document.body.contains(document.activeElement);
      const link = cell.querySelector(".cell-edit, .cell-add");
      if (lost && link) link.focus({ preventScroll: true });
    }
    const board = document.getElementById("map-board");
    if (board && !board.dataset.settled) {
      board.dataset.settled = "1";
      onBoardSwapped(board);
    }
  });

  function onBoardSwapped(board) {
    closeDialog();
    // The notice says where the editor's attention goes next: the moved step's handle (to keep
    // moving it with the arrow keys), the add-step field (to add the next one), a new step to show.
    // Without such a target the focus goes back where it was (an emotion button, a "+ Insight" link).
    const notice = board.querySelector(".map-notice");
    if (!notice || !notice.dataset.focus) {
      restoreFocus(board, notice);
      return;
    }
    focusedInBoard = null;
    opener = null;
    const reveal = notice.dataset.reveal && document.getElementById(notice.dataset.reveal);
    if (reveal) reveal.scrollIntoView({ block: "nearest", inline: "nearest" });
    const target = notice.dataset.focus && document.getElementById(notice.dataset.focus);
    const focusable = target && (target.matches("input, select, textarea, button, a")
      ? target : target.querySelector(".drag-handle"));
    if (focusable) {
      focusable.focus({ preventScroll: !!reveal });
      if (!reveal) focusable.scrollIntoView({ block: "nearest", inline: "nearest" });
    } else if (notice.getAttribute("role") === "alert") {
      notice.scrollIntoView({ block: "nearest" });
    }
  }

  document.addEventListener("click", function (event) {
    const close = event.target.closest("[data-close-dialog]");
    if (close && close.closest("dialog")) {
      event.preventDefault();
      closeDialog();
      return;
    }
    if (event.target.closest("[data-print]")) {
      window.print();
    }
    // A menu closes once one of its actions is chosen (and when clicking elsewhere).
    document.querySelectorAll(".map-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target) || event.target.closest(".map-menu-panel a, .map-menu-panel button")) {
        menu.removeAttribute("open");
      }
    });
  });

  // --- keyboard: arrows move, Escape cancels, Ctrl/⌘+Enter saves ---------------------------------------

  document.addEventListener("keydown", function (event) {
    const handle = event.target.closest && event.target.closest(".drag-handle");
    if (handle && (event.key === "ArrowLeft" || event.key === "ArrowRight")) {
      const head = handle.closest("[data-move-url]");
      const button = head && head.querySelector(
        'button[data-move="' + (event.key === "ArrowLeft" ? "left" : "right") + '"]'
      );
      if (button) {
        event.preventDefault();
        button.click();
      }
      return;
    }
    const form = event.target.closest && event.target.closest(".cell-form, .phase-form");
    if (!form) return;
    if (event.key === "Escape") {
      const cancel = form.querySelector("[data-cancel]");
      if (cancel) {
        event.preventDefault();
        cancel.click();
      }
    } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  // --- drag and drop: steps between steps and phases, phases between phases -------------------------------

  let drag = null; // {kind: "step"|"phase", id, url, head}

  function clearMarks() {
    document.querySelectorAll(".drop-before, .drop-after, .drop-into, .is-dragging").forEach(function (el) {
      el.classList.remove("drop-before", "drop-after", "drop-into", "is-dragging");
    });
  }

  function dropTarget(event) {
    if (!drag) return null;
    const el = event.target.closest && event.target.closest("[data-kind]");
    if (!el || el === drag.head) return null;
    const kind = el.dataset.kind;
    if (drag.kind === "phase") return kind === "phase" ? el : null;
    return kind === "step" || kind === "slot" || kind === "phase" ? el : null;
  }

  function isAfter(el, event) {
    const box = el.getBoundingClientRect();
    return event.clientX > box.left + box.width / 2;
  }

  document.addEventListener("dragstart", function (event) {
    const handle = event.target.closest && event.target.closest(".drag-handle");
    const head = handle && handle.closest("[data-move-url]");
    if (!head) return;
    drag = { kind: head.dataset.kind, id: head.dataset.id, url: head.dataset.moveUrl, head: head };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", head.dataset.id);
    event.dataTransfer.setDragImage(head, 24, 18);
    head.classList.add("is-dragging");
  });

  document.addEventListener("dragover", function (event) {
    const el = dropTarget(event);
    if (!el) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    document.querySelectorAll(".drop-before, .drop-after, .drop-into").forEach(function (other) {
      if (other !== el) other.classList.remove("drop-before", "drop-after", "drop-into");
    });
    const into = el.dataset.kind === "slot" || (drag.kind === "step" && el.dataset.kind === "phase");
    el.classList.toggle("drop-into", into);
    el.classList.toggle("drop-after", !into && isAfter(el, event));
    el.classList.toggle("drop-before", !into && !isAfter(el, event));
  });

  document.addEventListener("dragend", function () {
    drag = null;
    clearMarks();
  });

  document.addEventListener("drop", function (event) {
    const el = dropTarget(event);
    if (!el) return;
    event.preventDefault();
    const values = { revision: document.getElementById("map-board").dataset.revision };
    const after = isAfter(el, event);
    if (drag.kind === "phase") {
      const others = Array.from(document.querySelectorAll('th[data-kind="phase"]')).filter(function (p) {
        return p !== drag.head;
      });
      values.index = others.indexOf(el) + (after ? 1 : 0);
    } else {
      const phase = el.dataset.phaseId || "";
      const siblings = Array.from(document.querySelectorAll('th[data-kind="step"]')).filter(function (s) {
        return s !== drag.head && (s.dataset.phaseId || "") === phase;
      });
      values.phase = phase;
      if (el.dataset.kind === "step") values.index = siblings.indexOf(el) + (after ? 1 : 0);
      else values.index = siblings.length; // onto a phase or an empty phase: last in it
    }
    const source = drag.head;
    drag = null;
    clearMarks();
    htmx.ajax("POST", source.dataset.moveUrl, {
      source: source, target: "#map-board", swap: "outerHTML", values: values,
    });
  });
})();
