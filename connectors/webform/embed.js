/* Switchboard web form. Paste into a page:
 *   <div id="contact"></div>
 *   <script src="https://HUB/forms/CHANNEL/embed.js" data-target="contact" async></script>
 * (without data-target the form appears right after the script tag;
 * data-thread="KEY" continues one conversation across submissions).
 * No dependencies. Every text is set with textContent: nothing from the
 * configuration or the server is ever parsed as HTML. */
(function (FORM) {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.fetch) return;
  var action = new URL(script.src, document.baseURI).href.replace(/\/embed\.js([?#].*)?$/, "");
  var target = null;
  var targetId = script.getAttribute("data-target");
  if (targetId) target = document.getElementById(targetId);
  if (!target) {
    target = document.createElement("div");
    script.parentNode.insertBefore(target, script.nextSibling);
  }
  var thread = script.getAttribute("data-thread") || "";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  var form = el("form", "sb-form");
  form.noValidate = true;
  form.setAttribute("data-switchboard-form", FORM.channel);
  var inputs = {};
  var errors = {};
  FORM.fields.forEach(function (f) {
    var id = "sb-" + FORM.channel + "-" + f.name;
    var wrap = el("div", "sb-field sb-" + f.type);
    var label = el("label", "sb-label", f.label);
    label.htmlFor = id;
    var input;
    if (f.type === "textarea") {
      input = el("textarea");
      input.rows = 5;
    } else if (f.type === "select") {
      input = el("select");
      var blank = el("option", "", "");
      blank.value = "";
      input.appendChild(blank);
      (f.options || []).forEach(function (o) {
        var opt = el("option", "", o);
        opt.value = o;
        input.appendChild(opt);
      });
    } else {
      input = el("input");
      input.type = { email: "email", phone: "tel", checkbox: "checkbox", file: "file" }[f.type] || "text";
      if (f.type === "email") input.autocomplete = "email";
      if (f.type === "phone") input.autocomplete = "tel";
      if (f.type === "file") {
        input.multiple = true;
        if (f.accept) input.accept = f.accept;
      }
    }
    input.id = id;
    input.name = f.name;
    if (f.required) input.required = true;
    if (f.max_length && f.type !== "checkbox" && f.type !== "file" && f.type !== "select") input.maxLength = f.max_length;
    if (f.placeholder && "placeholder" in input) input.placeholder = f.placeholder;
    var err = el("div", "sb-error");
    err.id = id + "-error";
    input.setAttribute("aria-describedby", err.id);
    if (f.type === "checkbox") {
      wrap.appendChild(input);
      wrap.appendChild(label);
    } else {
      wrap.appendChild(label);
      wrap.appendChild(input);
    }
    wrap.appendChild(err);
    form.appendChild(wrap);
    inputs[f.name] = input;
    errors[f.name] = err;
  });

  // The honeypot: off-screen, out of the tab order, hidden from assistive
  // technology and autofill. People leave it empty; form-filling bots do not.
  var trap = el("div", "sb-hp");
  trap.setAttribute("aria-hidden", "true");
  trap.style.cssText = "position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden";
  var hp = el("input");
  hp.type = "text";
  hp.name = FORM.honeypot;
  hp.tabIndex = -1;
  hp.autocomplete = "off";
  trap.appendChild(hp);
  form.appendChild(trap);

  var status = el("div", "sb-status");
  status.setAttribute("role", "status");
  var button = el("button", "sb-submit", FORM.submit);
  button.type = "submit";
  form.appendChild(status);
  form.appendChild(button);
  target.appendChild(form);

  // A token fetched when the form is shown: its age at submission tells a
  // person from a bot, and its signature proves it came from the hub.
  var token = null;
  function fetchToken() {
    return fetch(action + "/token", { credentials: "omit", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) { token = j && j.token; }, function () { token = null; });
  }
  var ready = fetchToken();

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    Object.keys(errors).forEach(function (k) { errors[k].textContent = ""; });
    status.textContent = "";
    button.disabled = true;
    ready.then(function () {
      if (!token) throw new Error("unavailable");
      var body, headers = { Accept: "application/json" };
      if (FORM.files) {
        body = new FormData();
        FORM.fields.forEach(function (f) {
          var i = inputs[f.name];
          if (f.type === "file") {
            for (var n = 0; n < i.files.length; n++) body.append(f.name, i.files[n]);
          } else {
            body.append(f.name, f.type === "checkbox" ? (i.checked ? "yes" : "no") : i.value);
          }
        });
        body.append(FORM.honeypot, hp.value);
        body.append("_token", token);
        if (thread) body.append("_thread", thread);
      } else {
        var obj = {};
        FORM.fields.forEach(function (f) {
          obj[f.name] = f.type === "checkbox" ? inputs[f.name].checked : inputs[f.name].value;
        });
        obj[FORM.honeypot] = hp.value;
        obj._token = token;
        if (thread) obj._thread = thread;
        body = JSON.stringify(obj);
        headers["Content-Type"] = "application/json";
      }
      return fetch(action, { method: "POST", headers: headers, body: body, credentials: "omit", mode: "cors" });
    }).then(function (r) {
      return r.json().then(function (j) { return { r: r, j: j }; }, function () { return { r: r, j: {} }; });
    }).then(function (res) {
      if (res.r.ok) {
        var thanks = el("p", "sb-thanks", FORM.thanks);
        thanks.setAttribute("role", "status");
        target.replaceChild(thanks, form);
        return;
      }
      var fields = res.j.fields || {};
      Object.keys(fields).forEach(function (k) {
        if (errors[k]) errors[k].textContent = fields[k];
      });
      status.textContent = res.j.message || "The message could not be sent (" + res.r.status + ").";
      if (res.j.error === "token_expired" || res.j.error === "token_invalid") ready = fetchToken();
      button.disabled = false;
    }).catch(function () {
      status.textContent = "The message could not be sent. Please try again later.";
      ready = fetchToken();
      button.disabled = false;
    });
  });
})(__FORM__);
