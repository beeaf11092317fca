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
    var boxes = $$("#message-list input[name=uid]");
    boxes.forEach(function (box) {  /* shift-click: everything between the last box clicked and this one */
      box.addEventListener("click", function (e) {
        var from = boxes.indexOf(lastBox), to = boxes.indexOf(box);
        if (e.shiftKey && from >= 0 && to >= 0) {
          boxes.slice(Math.min(from, to), Math.max(from, to) + 1).forEach(function (b) { b.checked = box.checked; });
        }
        lastBox = box;
      });
    });
    rows().forEach(function (row) {  /* drag the row (or the selection it is in) onto a folder */
      row.setAttribute("draggable", "true");
      row.addEventListener("dragstart", function (e) {
        var own = $("input[name=uid]", row);
        if (!own) { e.preventDefault(); return; }
        var picked = own.checked ? $$("#message-list input[name=uid]:checked") : [own];
        e.dataTransfer.setData(DRAG_TYPE, picked.map(function (b) { return b.value; }).join(","));
        e.dataTransfer.effectAllowed = "move";
      });
    });
    var all = $("#select-all");
    if (all) {
      all.checked = false;
      all.onchange = function () { $$("#message-list input[name=uid]").forEach(function (c) { c.checked = all.checked; }); };
    }
  }

  /* --- moving by drag and drop, with Undo (the reverse move) --------------- */
  var DRAG_TYPE = "application/x-mailhost-uids";
  var lastBox = null, undoTimer = null;
  function actUrl(folderId) { return $("#bulk").getAttribute("action").replace(/\/f\/\d+\/act$/, "/f/" + folderId + "/act"); }
  function currentFolder() { return /\/f\/(\d+)\/act$/.exec($("#bulk").getAttribute("action"))[1]; }
  function moveUids(from, uids, to) {
    var data = new FormData();
    data.append("csrfmiddlewaretoken", $("#bulk input[name=csrfmiddlewaretoken]").value);
    data.append("action", "move");
    data.append("dest", to);
    data.append("uid", uids);
    return fetch(actUrl(from), {method: "POST", body: data, credentials: "same-origin",
                                headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); });
  }
  function offerUndo(text, undo) {
    var bar = $("#undo");
    $("#undo-text").textContent = text;
    $("#undo-button").hidden = !undo;
    $("#undo-button").onclick = function () { bar.hidden = true; undo(); };
    bar.hidden = false;
    /* the outcome of the action takes the keyboard (and a screen reader), as a page's flash does */
    bar.setAttribute("tabindex", "-1");
    bar.focus();
    window.clearTimeout(undoTimer);
    undoTimer = window.setTimeout(function () { bar.hidden = true; }, 10000);
  }
  function wireFolderDrops() {
    $$("#folder-list a[data-folder]").forEach(function (link) {
      var to = link.getAttribute("data-folder");
      link.addEventListener("dragover", function (e) {
        if (e.dataTransfer.types.indexOf(DRAG_TYPE) >= 0 && to !== currentFolder()) {
          e.preventDefault();
          link.classList.add("drop-target");
        }
      });
      link.addEventListener("dragleave", function () { link.classList.remove("drop-target"); });
      link.addEventListener("drop", function (e) {
        e.preventDefault();
        link.classList.remove("drop-target");
        var here = currentFolder();
        moveUids(here, e.dataTransfer.getData(DRAG_TYPE), to).then(moved).catch(function () { window.location.reload(); });
      });
    });
  }
  /* After a move (or a delete to Trash): the list again, and Undo as the reverse move. */
  function moved(done) {
    var here = currentFolder();
    offerUndo(done.text, done.uids ? function () {
      moveUids(done.folder, done.uids.join(","), here).then(refreshList, function () { window.location.reload(); });
    } : null);
    return refreshList();
  }
  /* The toolbar's move, delete and spam buttons work in place too, with Undo. */
  var bulk = $("#bulk");
  if (bulk) {
    bulk.addEventListener("submit", function (e) {
      var button = e.submitter;
      if (!button || ["move", "delete", "spam", "notspam"].indexOf(button.value) < 0) { return; }
      e.preventDefault();
      fetch(bulk.getAttribute("action"), {method: "POST", body: new FormData(bulk, button), credentials: "same-origin",
                                          headers: {"Accept": "application/json"}})
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(moved)
        .catch(function () { window.location.reload(); });  /* nothing selected, an error: the page says */
    });
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
        wireFolderDrops();
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
    wireFolderDrops();
    rememberUnseen();
    window.setInterval(poll, POLL_MS);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) { poll(); } });
  }

  /* --- message page ------------------------------------------------------ */
  $$("iframe.html").forEach(function (frame) {  /* the message page's, and each of a conversation's */
    var fit = function () {
      try {
        var doc = frame.contentDocument;
        if (doc && doc.body) {  /* the body's height, not the frame's: shrink to the content */
          frame.style.height = Math.max(doc.body.scrollHeight, 80) + 30 + "px";
        }
      } catch (err) { /* not same-origin: keep the default height */ }
    };
    frame.addEventListener("load", function () { fit(); window.setTimeout(fit, 500); });
    var folded = frame.closest("details");
    if (folded) { folded.addEventListener("toggle", fit); }  /* a folded message measures when opened */
  });

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
    } else if (page === "message" || page === "conversation") {
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
    /* items: {label, insert, group}; a group's label names it, choosing it writes its members' addresses */
    var show = function (items) {
      box.innerHTML = "";
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.textContent = item.label;
        li.setAttribute("data-insert", item.insert);
        li.setAttribute("role", "option");
        if (item.group) { li.className = "group"; }
        li.addEventListener("mousedown", function (e) { e.preventDefault(); pick(item.insert); });
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
            .then(function (data) {
              if (target !== input) { return; }
              var groups = (data.groups || []).map(function (g) { return {label: g.label, insert: g.insert, group: true}; });
              show(groups.concat((data.suggestions || []).map(function (text) { return {label: text, insert: text}; })));
            });
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
          pick(items[chosen].getAttribute("data-insert"));
        } else if (e.key === "Escape") { close(); }
      });
      input.addEventListener("blur", function () { window.setTimeout(close, 150); });
    });
  }
})();
