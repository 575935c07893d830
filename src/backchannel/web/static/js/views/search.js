// Full-text search of the scrollback (GET /api/search), newest first; a
// result jumps to its place in the conversation.

import { renderText, nickClass } from "../format.js";
import { alertBox, el, errorText, field, formatTime, knownNetworks, networkName, openPanel } from "./panel_kit.js";

const PAGE = 50;

/**
 * One result row (also used by the mentions panel): time, network, target,
 * nick and the rendered text; clicking it (or its button) calls onJump.
 */
export function resultItem(ctx, event, onJump) {
  const who = event.nick || "";
  const jump = el(
    "button",
    { type: "button", className: "panel-result-jump" },
    el("time", { className: "panel-result-time", dateTime: event.time || "" }, formatTime(event.time)),
    el("span", { className: "panel-result-target" }, event.target || "(server)"),
    knownNetworks(ctx).length > 1 ? el("span", { className: "panel-result-network" }, networkName(ctx, event.network)) : null,
  );
  const nick = who
    ? el("span", { className: `panel-result-nick ${nickClass(who)}` }, event.kind === "action" ? `* ${who} ` : `<${who}> `)
    : null;
  const text = el("div", { className: "panel-result-text" }, nick, renderText(event.text ?? ""));
  const item = el("li", { className: "panel-result" }, jump, text);
  jump.addEventListener("click", () => onJump(event));
  item.addEventListener("click", (e) => {
    // a link in the text opens the link; a click elsewhere jumps
    if (e.target instanceof Element && (e.target.closest("a") || e.target.closest("button"))) return;
    onJump(event);
  });
  return item;
}

/** Jumps to an event's place and closes the panel. */
export function jumper(ctx, close) {
  return (event) => {
    close();
    if (typeof ctx.jumpTo === "function") ctx.jumpTo(event.network, event.target ?? "", event.cursor);
    else if (typeof ctx.switchTo === "function") ctx.switchTo(event.network, event.target ?? "");
  };
}

/** The conversation being viewed, to preset the filters (best effort). */
function currentTarget(ctx) {
  const current = ctx.store && ctx.store.current;
  if (!current || !current.network) return null;
  return { network: current.network.id, target: current.name || "" };
}

export function openSearch(ctx, { query = "" } = {}) {
  const { body, close } = openPanel(ctx, { title: "Search", name: "search" });
  const q = el("input", { type: "search", value: query, required: true, maxLength: 400, autocomplete: "off" });
  const network = el("select", {}, el("option", { value: "" }, "All networks"));
  for (const n of knownNetworks(ctx)) network.append(el("option", { value: String(n.id) }, n.name));
  const target = el("input", { type: "text", autocomplete: "off", spellcheck: false, placeholder: "#channel or nick" });
  const nick = el("input", { type: "text", autocomplete: "off", spellcheck: false });
  const current = currentTarget(ctx);
  if (current && network.querySelector(`option[value="${Number(current.network)}"]`)) {
    network.value = String(current.network);
  }

  const submit = el("button", { type: "submit", className: "panel-primary" }, "Search");
  const error = alertBox();
  const status = el("p", { className: "panel-status", role: "status" });
  const results = el("ol", { className: "panel-results", "aria-label": "Search results" });
  const more = el("button", { type: "button", hidden: true }, "Older results");
  const form = el(
    "form",
    { className: "panel-form", role: "search", noValidate: true },
    field("Search messages", q),
    el(
      "div",
      { className: "panel-filters" },
      field("Network", network),
      field("Channel or nick", target),
      field("From nick", nick),
    ),
    el("div", { className: "panel-actions" }, submit),
  );
  body.append(form, error, status, results, el("div", { className: "panel-actions" }, more));

  const onJump = jumper(ctx, close);
  let params = null;
  let before = null;
  let busy = false;

  async function run(append) {
    if (busy) return;
    busy = true;
    error.set("");
    submit.disabled = true;
    more.disabled = true;
    status.textContent = "Searching…";
    try {
      const query = new URLSearchParams(params);
      query.set("limit", String(PAGE));
      if (append && before) query.set("before", before);
      const answer = await ctx.api.get(`/api/search?${query}`);
      const found = answer.results || [];
      if (!append) results.replaceChildren();
      for (const event of found) results.append(resultItem(ctx, event, onJump));
      before = found.length ? found[found.length - 1].cursor : before;
      more.hidden = found.length < PAGE;
      const total = results.children.length;
      status.textContent = total === 0 ? "No messages found." : `${total} message${total === 1 ? "" : "s"}${more.hidden ? "" : " so far"}.`;
    } catch (err) {
      error.set(errorText(err));
      status.textContent = "";
    } finally {
      busy = false;
      submit.disabled = false;
      more.disabled = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const words = q.value.trim();
    if (!words) {
      error.set("Type the words to search for.");
      q.focus();
      return;
    }
    params = { q: words };
    if (network.value) params.network = network.value;
    if (target.value.trim()) params.target = target.value.trim();
    if (nick.value.trim()) params.nick = nick.value.trim();
    before = null;
    run(false);
  });
  more.addEventListener("click", () => run(true));
  q.focus();
  if (query.trim()) form.requestSubmit();
  return { close };
}
