// Passkeys (WebAuthn): adding one on the Security page, signing in with one
// on the code page, and with the passkey alone on the sign-in pages. The
// server's options come as JSON with base64url strings; the browser's API
// wants ArrayBuffers, and its answer goes back as JSON with base64url
// strings (the shape the `webauthn` library parses).
(function () {
  "use strict";

  function decode(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(b64 + "===".slice((b64.length + 3) % 4));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); }).buffer;
  }

  function encode(buffer) {
    let raw = "";
    new Uint8Array(buffer).forEach(function (b) { raw += String.fromCharCode(b); });
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function post(form, url, body) {
    const token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    return fetch(url, {method: "POST", credentials: "same-origin", body: JSON.stringify(body || {}),
                       headers: {"X-CSRFToken": token, "Content-Type": "application/json"}});
  }

  function answer(credential) {
    const r = credential.response;
    const out = {id: credential.id, rawId: encode(credential.rawId), type: credential.type,
                 clientExtensionResults: credential.getClientExtensionResults(),
                 response: {clientDataJSON: encode(r.clientDataJSON)}};
    if (r.attestationObject) {
      out.response.attestationObject = encode(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = encode(r.authenticatorData);
      out.response.signature = encode(r.signature);
      if (r.userHandle) { out.response.userHandle = encode(r.userHandle); }
    }
    return out;
  }

  function credentials(list) {
    (list || []).forEach(function (c) { c.id = decode(c.id); });
  }

  function fail(form, text) {
    const line = form.querySelector(".passkey-error");
    line.textContent = text;
    line.hidden = false;
  }

  async function add(form) {
    const options = await (await post(form, form.dataset.options)).json();
    options.challenge = decode(options.challenge);
    options.user.id = decode(options.user.id);
    credentials(options.excludeCredentials);
    const created = await navigator.credentials.create({publicKey: options});
    const name = form.querySelector("input[name=name]").value;
    const done = await post(form, form.dataset.finish, {name: name, credential: answer(created)});
    if (done.ok) { window.location.reload(); } else { fail(form, (await done.json()).error); }
  }

  async function signIn(form) {
    const options = await (await post(form, form.dataset.options)).json();
    options.challenge = decode(options.challenge);
    credentials(options.allowCredentials);
    const got = await navigator.credentials.get({publicKey: options});
    const done = await post(form, form.dataset.finish, {credential: answer(got)});
    if (done.ok) { window.location.assign((await done.json()).next); } else { fail(form, (await done.json()).error); }
  }

  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    function go(event) {
      event.preventDefault();
      const run = form.dataset.passkey === "add" ? add : signIn;
      run(form).catch(function () { fail(form, "The passkey did not answer."); });
    }
    form.addEventListener("submit", go);
    // The sign-in pages' "Sign in with a passkey" is a plain button (the password form has the submit).
    form.querySelectorAll("button[data-passkey-go]").forEach(function (b) { b.addEventListener("click", go); });
  });
}());
