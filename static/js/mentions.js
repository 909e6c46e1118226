/* @mention suggestions for comment boxes (templates/collaboration/thread.html).
 *
 * In a textarea with `data-mentions`, typing "@" and the start of a name or handle lists the matching
 * members (from the JSON in the closest `[data-mention-scope]`); ↑/↓ choose, Enter or Tab inserts
 * "@handle ", Escape closes, a click inserts too. Without JavaScript the textarea works as it is and
 * the "Who can I mention?" list says which handles exist. The script may be loaded by several threads
 * on one page (htmx runs the script tag each time a thread arrives): it installs itself once, with
 * listeners on the document, so threads loaded later are covered too. */
(function () {
  "use strict";
  if (window.atlasMentions) return;
  window.atlasMentions = true;

  var MAX_SHOWN = 6;
  var TOKEN = /(^|[^\w@.+-])@([\w.+-]*)$/;
  var state = null; // {textarea, list, options, active, start}
  var counter = 0;

  function membersFor(textarea) {
    var scope = textarea.closest("[data-mention-scope]");
    var data = scope && scope.querySelector('script[type="application/json"]');
    if (!data) return [];
    try { return JSON.parse(data.textContent); } catch (e) { return []; }
  }

  function matches(members, query) {
    query = query.toLowerCase();
    var starts = [], contains = [];
    members.forEach(function (m) {
      var name = m.name.toLowerCase();
      var words = name.split(/\s+/);
      if (m.handle.indexOf(query) === 0 || words.some(function (w) { return w.indexOf(query) === 0; })) {
        starts.push(m);
      } else if (name.indexOf(query) >= 0 || m.handle.indexOf(query) >= 0) {
        contains.push(m);
      }
    });
    return starts.concat(contains).slice(0, MAX_SHOWN);
  }

  function close() {
    if (!state) return;
    state.list.remove();
    state.textarea.removeAttribute("aria-activedescendant");
    state = null;
  }

  function setActive(index) {
    state.active = (index + state.options.length) % state.options.length;
    state.list.querySelectorAll("[role=option]").forEach(function (li, i) {
      li.setAttribute("aria-selected", i === state.active ? "true" : "false");
    });
    state.textarea.setAttribute("aria-activedescendant", state.list.children[state.active].id);
  }

  function insert(member) {
    var textarea = state.textarea;
    var before = textarea.value.slice(0, state.start);
    var after = textarea.value.slice(textarea.selectionStart);
    var text = "@" + member.handle + " ";
    textarea.value = before + text + after.replace(/^\s/, "");
    var caret = before.length + text.length;
    textarea.setSelectionRange(caret, caret);
    close();
    textarea.focus();
  }

  function open(textarea, found, start) {
    close();
    var list = document.createElement("ul");
    list.className = "mention-suggestions";
    list.id = "mention-suggestions-" + (++counter);
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Members to mention");
    found.forEach(function (m, i) {
      var li = document.createElement("li");
      li.id = list.id + "-" + i;
      li.setAttribute("role", "option");
      var name = document.createElement("span");
      name.textContent = m.name;
      var handle = document.createElement("span");
      handle.className = "mention-handle";
      handle.textContent = "@" + m.handle;
      li.append(name, handle);
      li.addEventListener("mousedown", function (event) { event.preventDefault(); });
      li.addEventListener("click", function () { insert(m); });
      list.appendChild(li);
    });
    textarea.parentNode.appendChild(list);
    textarea.setAttribute("aria-controls", list.id);
    state = { textarea: textarea, list: list, options: found, active: 0, start: start };
    setActive(0);
  }

  document.addEventListener("input", function (event) {
    var textarea = event.target;
    if (!(textarea instanceof HTMLTextAreaElement) || !textarea.hasAttribute("data-mentions")) return;
    var upToCaret = textarea.value.slice(0, textarea.selectionStart);
    var token = TOKEN.exec(upToCaret);
    if (!token) return close();
    var found = matches(membersFor(textarea), token[2]);
    if (!found.length) return close();
    open(textarea, found, upToCaret.length - token[2].length - 1);
  });

  document.addEventListener("keydown", function (event) {
    if (!state || event.target !== state.textarea) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      setActive(state.active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" || event.key === "Tab") {
      insert(state.options[state.active]);
    } else if (event.key === "Escape") {
      close();
    } else {
      return;
    }
    event.preventDefault();
  });

  document.addEventListener("focusout", function (event) {
    if (state && event.target === state.textarea) close();
  });

  document.addEventListener("htmx:beforeSwap", close);

  // A posted comment swaps the whole thread, form included: the keyboard goes back to the (now empty)
  // comment box instead of falling to the top of the page.
  document.addEventListener("htmx:afterSettle", function (event) {
    var thread = event.target;
    if (!thread.matches || !thread.matches(".thread") || !thread.querySelector("[data-posted]")) return;
    var lost = document.activeElement === document.body || !document.body.contains(document.activeElement);
    var box = thread.querySelector(".comment-new textarea");
    if (lost && box) box.focus({ preventScroll: true });
  });

  // The textareas get their combobox semantics here: without this script they are plain text boxes.
  function prepare(root) {
    root.querySelectorAll("textarea[data-mentions]").forEach(function (textarea) {
      textarea.setAttribute("aria-autocomplete", "list");
    });
  }
  prepare(document);
  document.addEventListener("htmx:load", function (event) { prepare(event.target); });
})();
