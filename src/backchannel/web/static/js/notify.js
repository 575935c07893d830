// Desktop notifications for highlights and private messages, when the page
// is hidden or the conversation is not the one being viewed. Settings and
// per-conversation mutes live in localStorage. The body is plain text.

import { casefold, stripFormatting } from "./format.js";

const SETTINGS_KEY = "backchannel.notify";
const MUTED_KEY = "backchannel.muted";
const ASKED_KEY = "backchannel.notify.asked";
const MAX_AGE = 5 * 60 * 1000; // older events (a backlog after a reconnect) stay silent
const RECENT = 200;
const BODY_LENGTH = 200;

const DEFAULTS = { enabled: true, highlights: true, privates: true };
const MESSAGE_KINDS = new Set(["privmsg", "action", "notice"]);

let context = null;
const recent = []; // highlights seen, oldest first

function read(key, fallback) {
  try {
    const value = JSON.parse(localStorage.getItem(key));
    return value ?? fallback;
  } catch (e) {
    return fallback;
  }
}

function write(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch (e) {
    // storage full or disabled: the setting lasts for this page only
  }
}

export function isSupported() {
  return typeof window !== "undefined" && "Notification" in window;
}

/** "granted", "denied", "default", or "unsupported". */
export function permission() {
  return isSupported() ? Notification.permission : "unsupported";
}

/** {enabled, highlights, privates} */
export function getSettings() {
  return { ...DEFAULTS, ...read(SETTINGS_KEY, {}) };
}

export function setSettings(changes) {
  const settings = { ...getSettings(), ...changes };
  write(SETTINGS_KEY, settings);
  return settings;
}

/** Asks for the permission (call it from a user gesture) → the permission. */
export async function requestPermission() {
  if (!isSupported()) return "unsupported";
  write(ASKED_KEY, true);
  if (Notification.permission !== "default") return Notification.permission;
  try {
    return await Notification.requestPermission();
  } catch (e) {
    return Notification.permission;
  }
}

function muteKey(networkId, target) {
  return `${networkId}\u0000${casefold(target)}`;
}

/** The muted conversations: [{network, target}]. */
export function mutedList() {
  return read(MUTED_KEY, [])
    .filter((k) => typeof k === "string" && k.includes("\u0000"))
    .map((k) => {
      const [network, target] = k.split("\u0000");
      return { network: Number(network), target };
    });
}

export function isMuted(networkId, target) {
  return read(MUTED_KEY, []).includes(muteKey(networkId, target));
}

export function setMuted(networkId, target, muted) {
  const k = muteKey(networkId, target);
  const list = read(MUTED_KEY, []).filter((item) => item !== k);
  if (muted) list.push(k);
  write(MUTED_KEY, list);
}

/** Highlights seen by maybeNotify, newest last (for the mentions panel). */
export function recentHighlights() {
  return recent.slice();
}

function isChannel(name) {
  return /^[#&+!]/.test(name || "");
}

/** A message from someone else, sent to us rather than to a channel. */
export function isPrivate(event) {
  return MESSAGE_KINDS.has(event.kind) && !event.self && !event.server && !!event.target && !isChannel(event.target);
}

function isReplay(event) {
  let batch = event.batch;
  while (batch) {
    if (/chathistory$/.test(batch.type || "")) return true;
    batch = batch.parent && typeof batch.parent === "object" ? batch.parent : null;
  }
  return false;
}

function tooOld(event) {
  const time = Date.parse(event.time);
  return Number.isFinite(time) && Date.now() - time > MAX_AGE;
}

/**
 * Called by the shell for each new event from the stream. Shows a
 * notification for a highlight or a private message when the page is hidden
 * or `viewing` is false (the event's conversation is not on screen).
 * Returns the Notification, or null.
 */
export function maybeNotify(event, { networkName = "", viewing = false } = {}) {
  if (!event || !MESSAGE_KINDS.has(event.kind) || event.self) return null;
  if (event.highlight) {
    recent.push(event);
    if (recent.length > RECENT) recent.splice(0, recent.length - RECENT);
  }
  const settings = getSettings();
  const wanted = (event.highlight && settings.highlights) || (isPrivate(event) && settings.privates);
  if (!settings.enabled || !wanted) return null;
  if (!isSupported() || Notification.permission !== "granted") return null;
  if (viewing && document.visibilityState === "visible") return null;
  if (isReplay(event) || tooOld(event)) return null;
  if (isMuted(event.network, event.target ?? "")) return null;

  const nick = stripFormatting(event.nick || "");
  const target = stripFormatting(event.target || "");
  const where = isPrivate(event) ? nick : `${target}${networkName ? ` (${stripFormatting(networkName)})` : ""}`;
  const title = isPrivate(event) ? `${nick}${networkName ? ` (${stripFormatting(networkName)})` : ""}` : `${nick} in ${where}`;
  let body = stripFormatting(event.text || "");
  if (event.kind === "action") body = `* ${nick} ${body}`;
  if (body.length > BODY_LENGTH) body = body.slice(0, BODY_LENGTH - 1) + "…";

  let notification;
  try {
    notification = new Notification(title, {
      body,
      tag: `backchannel:${event.network}:${casefold(event.target || "")}`,
      silent: false,
    });
  } catch (e) {
    return null; // e.g. Android Chrome wants a service worker
  }
  notification.onclick = () => {
    window.focus();
    notification.close();
    if (context && typeof context.jumpTo === "function" && event.cursor !== undefined) {
      context.jumpTo(event.network, event.target ?? "", event.cursor);
    } else if (context && typeof context.switchTo === "function") {
      context.switchTo(event.network, event.target ?? "");
    }
  };
  return notification;
}

/**
 * Keeps the shell's ctx (to switch conversations on a click) and asks for
 * the permission once, on the first user gesture, if notifications are on
 * and it was never asked.
 */
export function setupNotifications(ctx) {
  context = ctx;
  if (!isSupported() || Notification.permission !== "default" || read(ASKED_KEY, false)) return;
  if (!getSettings().enabled) return;
  const ask = () => {
    window.removeEventListener("pointerdown", ask, true);
    window.removeEventListener("keydown", ask, true);
    if (Notification.permission === "default" && !read(ASKED_KEY, false)) requestPermission();
  };
  window.addEventListener("pointerdown", ask, true);
  window.addEventListener("keydown", ask, true);
}
