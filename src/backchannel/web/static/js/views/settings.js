// Settings: the account (password, log out), login sessions, notifications.

import {
  getSettings,
  isSupported,
  mutedList,
  permission,
  requestPermission,
  setMuted,
  setSettings,
} from "../notify.js";
import { alertBox, el, errorText, field, formatTime, networkName, openPanel } from "./panel_kit.js";

function describeAgent(agent) {
  const text = String(agent || "");
  if (!text) return "Unknown browser";
  const browser = /Firefox\/|Edg\/|OPR\/|Chrome\/|Safari\//.exec(text);
  const os = /Windows|Android|iPhone|iPad|Mac OS X|Linux|CrOS/.exec(text);
  const names = { "Firefox/": "Firefox", "Edg/": "Edge", "OPR/": "Opera", "Chrome/": "Chrome", "Safari/": "Safari" };
  if (!browser) return text.slice(0, 80);
  return `${names[browser[0]]}${os ? ` on ${os[0].replace("Mac OS X", "macOS")}` : ""}`;
}

function accountSection(ctx, error) {
  const name = el("strong", {}, "…");
  const command = el("code", { className: "panel-command" }, "backchannel user passwd NAME");
  const logout = el("button", { type: "button" }, "Log out");
  logout.addEventListener("click", async () => {
    logout.disabled = true;
    try {
      await ctx.api.post("/api/logout", {});
    } catch (err) {
      // the session may already be gone: reloading shows the login page either way
    }
    window.location.reload();
  });
  ctx.api.get("/api/me").then(
    (me) => {
      const user = (me && me.user && me.user.name) || "";
      name.textContent = user;
      command.textContent = `backchannel user passwd ${user || "NAME"}`;
    },
    (err) => error.set(errorText(err)),
  );
  return el(
    "section",
    { "aria-label": "Account" },
    el("h3", {}, "Account"),
    el("p", {}, "Signed in as ", name, "."),
    el("p", {}, "To change the password, run this on the server (it signs out every browser of the account):"),
    command,
    el("div", { className: "panel-actions" }, logout),
  );
}

function sessionsSection(ctx, error) {
  const list = el("ul", { className: "panel-sessions", "aria-label": "Sessions" });
  const status = el("p", { className: "panel-status", role: "status" }, "Loading…");
  const others = el("button", { type: "button" }, "Sign out other sessions");

  async function load() {
    try {
      const answer = await ctx.api.get("/api/sessions");
      const sessions = answer.sessions || [];
      list.replaceChildren(...sessions.map(item));
      const count = sessions.filter((s) => !s.current).length;
      others.disabled = count === 0;
      status.textContent = count === 0 ? "No other browser is signed in." : "";
    } catch (err) {
      error.set(errorText(err));
      status.textContent = "";
    }
  }

  function item(session) {
    const info = el(
      "div",
      { className: "panel-session-info" },
      el("div", {}, describeAgent(session.user_agent), session.current ? el("span", { className: "panel-badge" }, "this browser") : null),
      el(
        "div",
        { className: "panel-session-agent" },
        `${session.address || "unknown address"} · last seen ${formatTime(session.last_seen)} · since ${formatTime(session.created_at)}`,
      ),
      el("div", { className: "panel-session-agent" }, session.user_agent || ""),
    );
    const row = el("li", { className: "panel-session" }, info);
    if (!session.current) {
      const out = el("button", { type: "button", title: `Sign out ${describeAgent(session.user_agent)}` }, "Sign out");
      out.addEventListener("click", async () => {
        out.disabled = true;
        error.set("");
        try {
          await ctx.api.del(`/api/sessions/${encodeURIComponent(session.id)}`);
        } catch (err) {
          if (err.status !== 404) error.set(errorText(err));
        }
        load();
      });
      row.append(out);
    }
    return row;
  }

  others.addEventListener("click", async () => {
    others.disabled = true;
    error.set("");
    try {
      const answer = await ctx.api.post("/api/sessions/revoke-others", {});
      const n = answer.revoked ?? 0;
      await load();
      status.textContent = `Signed out ${n} other session${n === 1 ? "" : "s"}.`;
    } catch (err) {
      error.set(errorText(err));
      others.disabled = false;
    }
  });
  load();
  return el(
    "section",
    { "aria-label": "Sessions" },
    el("h3", {}, "Sessions"),
    list,
    status,
    el("div", { className: "panel-actions" }, others),
  );
}

function notificationsSection(ctx) {
  const settings = getSettings();
  const enabled = el("input", { type: "checkbox", checked: settings.enabled });
  const highlights = el("input", { type: "checkbox", checked: settings.highlights });
  const privates = el("input", { type: "checkbox", checked: settings.privates });
  const state = el("p", { className: "panel-status", role: "status" });
  const muted = el("ul", { className: "panel-muted-list", "aria-label": "Muted conversations" });

  const showState = () => {
    const p = permission();
    const texts = {
      granted: "This browser may show notifications.",
      denied: "This browser blocks notifications from this site; allow them in the site settings.",
      default: "The browser will ask whether to allow notifications.",
      unsupported: "This browser cannot show notifications.",
    };
    state.textContent = texts[p] || "";
    highlights.disabled = privates.disabled = !enabled.checked;
  };
  enabled.addEventListener("change", async () => {
    setSettings({ enabled: enabled.checked });
    showState();
    if (enabled.checked && permission() === "default") {
      await requestPermission(); // from this click: a user gesture
      showState();
    }
  });
  highlights.addEventListener("change", () => setSettings({ highlights: highlights.checked }));
  privates.addEventListener("change", () => setSettings({ privates: privates.checked }));

  const showMuted = () => {
    const items = mutedList().map(({ network, target }) => {
      const unmute = el("button", { type: "button", title: `Unmute ${target || "server"}` }, "Unmute");
      unmute.addEventListener("click", () => {
        setMuted(network, target, false);
        showMuted();
      });
      return el("li", {}, el("span", {}, target || "(server)", " · ", networkName(ctx, network)), unmute);
    });
    muted.replaceChildren(...items);
    if (!items.length) muted.append(el("li", { className: "panel-status" }, "No muted conversations."));
  };
  showState();
  showMuted();
  if (!isSupported()) enabled.disabled = true;

  return el(
    "section",
    { "aria-label": "Notifications" },
    el("h3", {}, "Notifications"),
    field("Desktop notifications", enabled, "When the page is hidden or another conversation is open."),
    field("Notify for highlights", highlights),
    field("Notify for private messages", privates),
    state,
    el("h3", {}, "Muted conversations"),
    muted,
  );
}

export function openSettings(ctx) {
  const { body, close } = openPanel(ctx, { title: "Settings", name: "settings" });
  const error = alertBox();
  body.append(error, accountSection(ctx, error), sessionsSection(ctx, error), notificationsSection(ctx));
  body.querySelector("button, input")?.focus();
  return { close };
}
