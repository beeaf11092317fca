/* Mailhost webmail: the rich-text editor of the compose page. A contenteditable
   area with a small toolbar (bold, italic, lists, quote, link) written on the
   DOM Range API, without document.execCommand. On submit the HTML goes in the
   "html" field (the server sanitises it with the rules incoming mail is shown
   by and writes the text/plain part from it); without this script the plain
   textarea is what is sent. Pasted HTML is rebuilt from an allow-list: only
   the formatting the toolbar makes, and http(s)/mailto links, survive.
   An image file pasted or dropped in (PNG, JPEG, GIF, WebP) is shown from a
   blob: URL and posted as a file of "inline", its reference in "inline_ref"
   and <img src="cid:reference"> in the HTML; the server gives it a Content-ID
   and sends it in a multipart/related beside the HTML. An image of the draft
   being edited comes as cid: in the HTML and is shown from the URL the page
   lists for it (#editor-images). */
(function () {
  "use strict";
  var box = document.getElementById("rich");
  var editor = document.getElementById("editor");
  var field = document.getElementById("html");
  var textarea = document.getElementById("body");
  var form = document.getElementById("compose-form");
  if (!box || !editor || !field || !textarea || !form) { return; }
  var files = document.getElementById("inline-files");
  var refs = document.getElementById("inline-refs");
  var note = document.getElementById("editor-note");
  var listed = document.getElementById("editor-images");
  var known = listed ? JSON.parse(listed.textContent) : {};  /* Content-ID (lower case) -> URL */
  var pending = {};  /* reference -> File, images placed here and not yet sent */
  var placed = 0;
  var IMAGES = {"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true};
  var limit = Number(box.getAttribute("data-limit")) || 0;

  var KEEP = {B: "strong", STRONG: "strong", I: "em", EM: "em", U: "u", A: "a", UL: "ul", OL: "ol", LI: "li",
              BLOCKQUOTE: "blockquote", P: "p", DIV: "div", BR: "br", SPAN: null};
  var DROP = /^(SCRIPT|STYLE|TITLE|HEAD|IFRAME|FRAME|OBJECT|EMBED|SVG|MATH|TEMPLATE|NOSCRIPT|FORM|TEXTAREA|SELECT|BUTTON|AUDIO|VIDEO|CANVAS|LINK|META)$/;
  var SAFE_URL = /^(https?:|mailto:)/i;

  function cleanInto(source, target) {
    Array.prototype.forEach.call(source.childNodes, function (node) {
      if (node.nodeType === 3) { target.appendChild(document.createTextNode(node.nodeValue)); return; }
      if (node.nodeType !== 1) { return; }
      var name = node.nodeName.toUpperCase();
      if (name === "IMG") { var img = ownImage(node); if (img) { target.appendChild(img); } return; }
      if (DROP.test(name)) { return; }
      var tag = KEEP[name];
      if (!tag) { cleanInto(node, target); return; }  /* unknown or SPAN: keep the text, lose the element */
      var copy = document.createElement(tag);
      if (tag === "a") {
        var href = (node.getAttribute("href") || "").trim();
        if (!SAFE_URL.test(href)) { cleanInto(node, target); return; }
        copy.setAttribute("href", href);
      }
      cleanInto(node, copy);
      target.appendChild(copy);
    });
    return target;
  }
  function image(cid, url, alt) {
    var img = document.createElement("img");
    img.setAttribute("src", url);
    img.setAttribute("alt", alt || "");
    img.setAttribute("data-cid", cid);
    return img;
  }
  /* Only images of our own: placed here (data-cid of a pending file) or of the draft (cid: it lists). */
  function ownImage(node) {
    var cid = node.getAttribute("data-cid") || "";
    if (cid && pending[cid]) { return image(cid, pending[cid].url, node.getAttribute("alt")); }
    var src = (node.getAttribute("src") || "").trim();
    if (!/^cid:/i.test(src)) { return null; }
    cid = src.slice(4).replace(/^<|>$/g, "");
    var url = known[cid.toLowerCase()];
    return url ? image(cid, url, node.getAttribute("alt")) : null;
  }
  function say(text) { if (note) { note.textContent = text; } }
  function pendingSize() {
    return Object.keys(pending).reduce(function (n, ref) { return n + pending[ref].file.size; }, 0);
  }
  function addImages(list, r) {
    var frag = document.createDocumentFragment();
    var size = pendingSize();
    say("");
    Array.prototype.forEach.call(list, function (file) {
      if (!IMAGES[file.type]) { say(box.getAttribute("data-refused").replace("%(name)s", file.name || "?")); return; }
      if (limit && size + file.size > limit) { say(box.getAttribute("data-too-big")); return; }
      size += file.size;
      placed += 1;
      var ref = "new-" + Date.now().toString(36) + "-" + placed;
      pending[ref] = {file: file, url: URL.createObjectURL(file)};
      frag.appendChild(image(ref, pending[ref].url, file.name || "image"));
    });
    if (frag.childNodes.length) { insert(frag, r); }
  }
  function cleanFragment(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");  /* inert: nothing runs or loads */
    return cleanInto(doc.body, document.createDocumentFragment());
  }
  function textFragment(text) {
    var frag = document.createDocumentFragment();
    text.replace(/\r\n?/g, "\n").split("\n").forEach(function (line) {
      var div = document.createElement("div");
      if (line) { div.textContent = line; } else { div.appendChild(document.createElement("br")); }
      frag.appendChild(div);
    });
    return frag;
  }

  function range() {
    var sel = window.getSelection();
    if (!sel.rangeCount) { return null; }
    var r = sel.getRangeAt(0);
    return editor.contains(r.commonAncestorContainer) ? r : null;
  }
  function select(node) {
    var r = document.createRange();
    r.selectNodeContents(node);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(r);
  }
  function enclosing(node, tag) {
    for (; node && node !== editor; node = node.parentNode) {
      if (node.nodeType === 1 && node.nodeName.toLowerCase() === tag) { return node; }
    }
    return null;
  }
  function unwrap(el) {
    var parent = el.parentNode;
    while (el.firstChild) { parent.insertBefore(el.firstChild, el); }
    parent.removeChild(el);
  }
  function wrap(tag, attrs) {
    var r = range();
    if (!r) { return; }
    var inside = enclosing(r.commonAncestorContainer, tag);
    if (inside && !attrs) { unwrap(inside); return; }  /* bold again: not bold */
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (r.collapsed) { el.appendChild(document.createTextNode(attrs && attrs.href || "\u200b")); }
    else { el.appendChild(r.extractContents()); }
    r.insertNode(el);
    select(el);
  }
  function block(tag) {
    var r = range();
    if (!r) { editor.focus(); r = range(); if (!r) { return; } }
    var inside = enclosing(r.commonAncestorContainer, tag);
    if (inside) { unwrap(inside); return; }
    var frag = r.extractContents();
    var el = document.createElement(tag);
    if (tag === "blockquote") {
      el.appendChild(frag.childNodes.length ? frag : document.createElement("br"));
    } else {
      var lines = Array.prototype.filter.call(frag.childNodes, function (n) { return /^(DIV|P)$/.test(n.nodeName); });
      if (lines.length && lines.length === frag.childNodes.length) {
        lines.forEach(function (line) {
          var li = document.createElement("li");
          while (line.firstChild) { li.appendChild(line.firstChild); }
          el.appendChild(li);
        });
      } else {
        var li = document.createElement("li");
        li.appendChild(frag.childNodes.length ? frag : document.createElement("br"));
        el.appendChild(li);
      }
    }
    r.insertNode(el);
    select(el.lastChild || el);
  }
  function link() {
    var url = (window.prompt("Link address (https://… or mailto:…)") || "").trim();
    if (SAFE_URL.test(url)) { wrap("a", {href: url}); }
  }

  box.addEventListener("click", function (e) {
    var b = e.target.closest("button");
    if (!b) { return; }
    if (b.hasAttribute("data-wrap")) { wrap(b.getAttribute("data-wrap")); }
    else if (b.hasAttribute("data-block")) { block(b.getAttribute("data-block")); }
    else if (b.hasAttribute("data-link")) { link(); }
    editor.focus();
  });
  box.addEventListener("mousedown", function (e) {  /* keep the editor's selection when a tool is pressed */
    if (e.target.closest("button")) { e.preventDefault(); }
  });
  editor.addEventListener("keydown", function (e) {
    if (!(e.ctrlKey || e.metaKey) || e.altKey) { return; }
    var k = e.key.toLowerCase();
    if (k === "b" || k === "i") { e.preventDefault(); wrap(k === "b" ? "strong" : "em"); }
    else if (k === "k") { e.preventDefault(); link(); }
  });
  function insert(frag, r) {
    if (!r) { editor.appendChild(frag); return; }
    r.deleteContents();
    var last = frag.lastChild;
    r.insertNode(frag);
    if (last) { r.setStartAfter(last); r.collapse(true); var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(r); }
  }
  function hasFiles(data) { return !!data && Array.prototype.indexOf.call(data.types || [], "Files") >= 0; }
  editor.addEventListener("paste", function (e) {
    var data = e.clipboardData;
    if (!data) { return; }
    e.preventDefault();
    if (data.files && data.files.length) { addImages(data.files, range()); return; }
    var html = data.getData("text/html");
    insert(html ? cleanFragment(html) : textFragment(data.getData("text/plain")), range());
  });
  editor.addEventListener("dragover", function (e) {
    if (hasFiles(e.dataTransfer)) { e.preventDefault(); e.dataTransfer.dropEffect = "copy"; }
  });
  editor.addEventListener("drop", function (e) {
    if (!hasFiles(e.dataTransfer)) { return; }  /* text dragged about: the browser's own move */
    e.preventDefault();
    var r = document.caretRangeFromPoint ? document.caretRangeFromPoint(e.clientX, e.clientY) : range();
    addImages(e.dataTransfer.files, r && editor.contains(r.commonAncestorContainer) ? r : null);
  });
  form.addEventListener("submit", function () {
    var copy = document.implementation.createHTMLDocument("").body;  /* inert: a cid: src set here loads nothing */
    copy.innerHTML = editor.innerHTML;
    var sent = new DataTransfer();
    refs.textContent = "";
    Array.prototype.forEach.call(copy.querySelectorAll("img"), function (img) {
      var cid = img.getAttribute("data-cid");
      if (!cid) { img.parentNode.removeChild(img); return; }
      img.setAttribute("src", "cid:" + cid);
      img.removeAttribute("data-cid");
      if (pending[cid] && !refs.querySelector("input[value='" + cid + "']")) {
        sent.items.add(pending[cid].file);
        var ref = document.createElement("input");
        ref.type = "hidden";
        ref.name = "inline_ref";
        ref.value = cid;
        refs.appendChild(ref);
      }
    });
    files.files = sent.files;
    field.value = copy.innerHTML;
    textarea.value = editor.innerText;
  });

  editor.appendChild(field.value ? cleanFragment(field.value) : textFragment(textarea.value));
  textarea.hidden = true;
  box.hidden = false;
})();
