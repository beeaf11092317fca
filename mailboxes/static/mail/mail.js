/* Mailhost webmail: a few progressive enhancements. Everything works without
   this file except live updates, keyboard shortcuts and address suggestions. */
(function () {
  "use strict";
  var body = document.body;
  var POLL_MS = 5000;

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function typing(e) {
    var t = e.target;
    return t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName);
  }
  function go(url) { if (url) { window.location.href = url; } }

  /* Folder list toggle on narrow screens. */
  var toggle = $("#menu-toggle");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var open = body.classList.toggle("show-folders");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  /* Forms that ask first. */
  $$("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { e.preventDefault(); }
    });
  });

  /* --- message list ---------------------------------------------------- */
  var cursor = -1;
  function rows() { return $$("#message-list tr.msg"); }
  function setCursor(i) {
    var list = rows();
    if (!list.length) { return; }
    cursor = Math.max(0, Math.min(i, list.length - 1));
    list.forEach(function (r, n) { r.classList.toggle("cursor", n === cursor); });
    list[cursor].scrollIntoView({block: "nearest"});
  }
  function currentRow() { var list = rows(); return cursor >= 0 ? list[cursor] : null; }

  function wireRows() {
    rows().forEach(function (row) {
      row.addEventListener("click", function (e) {
        if (e.target.closest("a, input, button, label")) { return; }
        go(row.getAttribute("data-href"));
      });
    });
    var all = $("#select-all");
    if (all) {
      all.checked = false;
      all.onchange = function () { $$("#message-list input[name=uid]").forEach(function (c) { c.checked = all.checked; }); };
    }
  }

  function anySelected() { return $$("#message-list input[name=uid]:checked").length > 0; }

  function refreshList() {
    return fetch(window.location.href, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        /* The rows are replaced: keep the keyboard where it was (the same message's checkbox or link). */
        var had = document.activeElement, row = had && had.closest ? had.closest("#rows tr.msg") : null;
        var again = row ? {uid: row.getAttribute("data-uid"), sel: had.tagName === "INPUT" ? "input[name=uid]" : ".subj a"} : null;
        ["#rows", "#folder-list", ".listhead h1", ".pager"].forEach(function (sel) {
          var mine = $(sel), theirs = $(sel, doc);
          if (mine && theirs) { mine.innerHTML = theirs.innerHTML; }
        });
        var fresh = doc.body.getAttribute("data-modseq");
        if (fresh) { body.setAttribute("data-modseq", fresh); }
        document.title = doc.title;  /* carries the unread count */
        notify(doc);
        cursor = -1;
        wireRows();
        if (again) {
          var back = $("#rows tr.msg[data-uid='" + again.uid + "'] " + again.sel);
          if (back) { back.focus(); }
        }
      });
  }

  /* Desktop notifications: asked for once, on the user's own click (browsers
     ignore or penalise a request made without a gesture); a notice for each
     unseen message that was not in the list before. */
  var seenUids = {};
  function unseenRows(root) { return $$("#message-list tr.msg.unseen", root); }
  function rememberUnseen() { unseenRows().forEach(function (r) { seenUids[r.getAttribute("data-uid")] = true; }); }
  function notify(doc) {
    var fresh = unseenRows(doc).filter(function (r) { return !seenUids[r.getAttribute("data-uid")]; });
    rememberUnseen();
    if (!fresh.length || !("Notification" in window) || window.Notification.permission !== "granted") { return; }
    var first = $(".subj a", fresh[0]), who = $(".who", fresh[0]);
    var text = (who ? who.textContent.trim() + ": " : "") + (first ? first.textContent.trim() : "");
    var note = new window.Notification(body.getAttribute("data-notify-title") || document.title,
                                       {body: text, tag: "mailhost-new-mail"});
    note.onclick = function () { window.focus(); note.close(); };
  }
  var ask = $("#notify-ask");
  if (ask && "Notification" in window && window.Notification.permission === "default") {
    ask.hidden = false;
    ask.addEventListener("click", function () {
      window.Notification.requestPermission().then(function () { ask.hidden = true; });
    });
  }

  function poll() {
    var url = body.getAttribute("data-state-url");
    if (!url || document.hidden) { return; }
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) {
        if (r.status === 401) { window.location.reload(); }
        return r.ok ? r.json() : null;
      })
      .then(function (state) {
        if (!state || String(state.modseq) === body.getAttribute("data-modseq")) { return; }
        if (anySelected()) {  /* do not pull rows from under the user's selection */
          $("#new-mail").hidden = false;
          return;
        }
        return refreshList();
      })
      .catch(function () { /* the next poll tries again */ });
  }

  if (body.getAttribute("data-page") === "list") {
    wireRows();
    rememberUnseen();
    window.setInterval(poll, POLL_MS);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) { poll(); } });
  }

  /* --- message page ------------------------------------------------------ */
  var frame = $("#html-body");
  if (frame) {
    var fit = function () {
      try {
        var doc = frame.contentDocument;
        if (doc && doc.body) {  /* the body's height, not the frame's: shrink to the content */
          frame.style.height = Math.max(doc.body.scrollHeight, 80) + 30 + "px";
        }
      } catch (err) { /* not same-origin: keep the default height */ }
    };
    frame.addEventListener("load", function () { fit(); window.setTimeout(fit, 500); });
  }

  /* --- keyboard shortcuts --------------------------------------------------- */
  var beforeHelp = null;
  function help() {
    var h = $("#shortcut-help");
    if (!h) { return; }
    h.hidden = !h.hidden;
    if (!h.hidden) { beforeHelp = document.activeElement; h.setAttribute("tabindex", "-1"); h.focus(); }
    else if (beforeHelp && beforeHelp.focus) { beforeHelp.focus(); }
  }

  /* After an action the page comes back with what happened: take the keyboard
     (and a screen reader) there, unless a field already asked for it. */
  var flashList = $(".flash");
  if (flashList && !document.querySelector("[autofocus]")) {
    flashList.setAttribute("tabindex", "-1");
    flashList.focus();
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e)) { return; }
    var page = body.getAttribute("data-page");
    var k = e.key;
    if (k === "?" || (k === "Escape" && $("#shortcut-help") && !$("#shortcut-help").hidden)) { help(); return; }
    if (k === "/") { var s = $("#search-box"); if (s) { e.preventDefault(); s.focus(); } return; }
    if (k === "c") { go($("#compose-link") && $("#compose-link").href); return; }
    if (page === "list") {
      var row = currentRow();
      if (k === "j") { setCursor(cursor + 1); }
      else if (k === "k") { setCursor(cursor < 0 ? 0 : cursor - 1); }
      else if ((k === "o" || k === "Enter") && row) { go(row.getAttribute("data-href")); }
      else if (k === "r" && row) { go(row.getAttribute("data-reply")); }
      else if (k === "x" && row) { var c = $("input[name=uid]", row); if (c) { c.checked = !c.checked; } }
      else if (k === "#") {
        if (!anySelected() && row) { var box = $("input[name=uid]", row); if (box) { box.checked = true; } }
        if (anySelected()) { $("#bulk-delete").click(); }
      }
    } else if (page === "message") {
      if (k === "j") { go(body.getAttribute("data-older")); }
      else if (k === "k") { go(body.getAttribute("data-newer")); }
      else if (k === "r") { go(body.getAttribute("data-reply")); }
      else if (k === "a") { go(body.getAttribute("data-reply-all")); }
      else if (k === "f") { go(body.getAttribute("data-forward")); }
      else if (k === "u") { go(body.getAttribute("data-list")); }
      else if (k === "#") { $("#delete").click(); }
    }
  });

  /* --- address suggestions --------------------------------------------------- */
  var suggestUrl = body.getAttribute("data-suggest-url");
  var box = $("#suggestions");
  if (suggestUrl && box) {
    var target = null, timer = null, chosen = -1;
    var lastToken = function (value) { var i = value.lastIndexOf(","); return value.slice(i + 1).trim(); };
    var close = function () { box.hidden = true; box.innerHTML = ""; chosen = -1; };
    var pick = function (text) {
      var v = target.value, i = v.lastIndexOf(",");
      target.value = (i >= 0 ? v.slice(0, i + 1) + " " : "") + text + ", ";
      close();
      target.focus();
    };
    var show = function (items) {
      box.innerHTML = "";
      items.forEach(function (text) {
        var li = document.createElement("li");
        li.textContent = text;
        li.addEventListener("mousedown", function (e) { e.preventDefault(); pick(text); });
        box.appendChild(li);
      });
      if (!items.length) { close(); return; }
      target.insertAdjacentElement("afterend", box);
      box.hidden = false;
    };
    $$("input.addresses").forEach(function (input) {
      input.addEventListener("input", function () {
        target = input;
        var q = lastToken(input.value);
        window.clearTimeout(timer);
        if (q.length < 2) { close(); return; }
        timer = window.setTimeout(function () {
          fetch(suggestUrl + "?q=" + encodeURIComponent(q), {credentials: "same-origin", headers: {"Accept": "application/json"}})
            .then(function (r) { return r.ok ? r.json() : {suggestions: []}; })
            .then(function (data) { if (target === input) { show(data.suggestions || []); } });
        }, 150);
      });
      input.addEventListener("keydown", function (e) {
        var items = $$("li", box);
        if (box.hidden || !items.length) { return; }
        if (e.key === "ArrowDown" || e.key === "ArrowUp") {
          e.preventDefault();
          chosen = (chosen + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
          items.forEach(function (li, n) { li.classList.toggle("chosen", n === chosen); });
        } else if ((e.key === "Enter" || e.key === "Tab") && chosen >= 0) {
          e.preventDefault();
          pick(items[chosen].textContent);
        } else if (e.key === "Escape") { close(); }
      });
      input.addEventListener("blur", function () { window.setTimeout(close, 150); });
    });
  }
})();
