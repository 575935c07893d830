// First-run setup: reads the one-time token from the link's fragment and
// creates the first account with POST /api/setup.
"use strict";

(function () {
  const meta = document.querySelector('meta[name="backchannel-base"]');
  const base = ((meta && meta.content) || "/").replace(/\/*$/, "/");
  const token = decodeURIComponent(window.location.hash.replace(/^#/, ""));
  if (window.location.hash) {
    // keep the token out of the address bar and the history
    window.history.replaceState(null, "", window.location.pathname);
  }

  const byId = (id) => document.getElementById(id);

  function say(text) {
    byId("status").textContent = text;
  }

  async function errorText(response) {
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) {
        return body.error.message;
      }
    } catch (e) {
      // not JSON: fall through
    }
    return "The server answered " + response.status + ".";
  }

  async function submit(event) {
    event.preventDefault();
    const form = byId("setup-form");
    const password = byId("password").value;
    if (password !== byId("confirm").value) {
      say("The two passwords differ.");
      return;
    }
    const button = form.querySelector("button");
    button.disabled = true;
    say("Creating the account…");
    try {
      const response = await fetch(base + "api/setup", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({
          token: token || byId("token").value.trim(),
          username: byId("username").value,
          password: password,
        }),
      });
      if (response.ok) {
        form.hidden = true;
        say("Done.");
        byId("done").hidden = false;
        return;
      }
      say(await errorText(response));
    } catch (e) {
      say("The server cannot be reached: " + e.message);
    } finally {
      button.disabled = false;
    }
  }

  async function start() {
    byId("setup-form").addEventListener("submit", submit);
    try {
      const response = await fetch(base + "api/setup", { credentials: "same-origin" });
      const body = await response.json();
      if (!body.needed) {
        say("");
        byId("already").hidden = false;
        return;
      }
    } catch (e) {
      say("The server cannot be reached: " + e.message);
      return;
    }
    byId("token-row").hidden = Boolean(token);
    byId("setup-form").hidden = false;
    say(token ? "" : "Paste the setup token from the server's console.");
  }

  document.addEventListener("DOMContentLoaded", start);
})();
