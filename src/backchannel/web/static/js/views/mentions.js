// Recent highlights: messages with "highlight": true that this page has seen
// (live, and in the loaded scrollback of the store), plus, from history, the
// conversations that still count unread mentions.

import { recentHighlights } from "../notify.js";
import { alertBox, el, errorText, openPanel } from "./panel_kit.js";
import { jumper, resultItem } from "./search.js";

const HISTORY_LIMIT = 200;
const SHOWN = 200;

function storeNetworks(ctx) {
  const networks = ctx.store && ctx.store.networks;
  if (!networks) return [];
  return networks instanceof Map ? [...networks.values()] : Object.values(networks);
}

function storeTargets(net) {
  const targets = net && net.targets;
  if (!targets) return [];
  return targets instanceof Map ? [...targets.values()] : Object.values(targets);
}

/** Highlights in the store's loaded conversation logs. */
function fromStore(ctx) {
  const found = [];
  for (const net of storeNetworks(ctx)) {
    for (const target of storeTargets(net)) {
      for (const event of (target.log && target.log.events) || []) {
        if (event.highlight) found.push({ network: net.id, target: target.name, ...event });
      }
    }
  }
  return found;
}

/** The conversations with unread mentions: [{network, name}]. */
function withMentions(ctx) {
  const out = [];
  for (const net of storeNetworks(ctx)) {
    for (const target of storeTargets(net)) {
      if (target.mentions > 0) out.push({ network: net.id, name: target.name ?? "" });
    }
  }
  return out;
}

function key(event) {
  return `${event.network}:${event.cursor}`;
}

export function openMentions(ctx) {
  const { body, close, isOpen } = openPanel(ctx, { title: "Mentions", name: "mentions" });
  const error = alertBox();
  const status = el("p", { className: "panel-status", role: "status" }, "Loading…");
  const results = el("ol", { className: "panel-results", "aria-label": "Mentions" });
  body.append(error, status, results);
  const onJump = jumper(ctx, close);

  const seen = new Map();
  const add = (events) => {
    for (const event of events) {
      if (event && event.highlight && event.cursor !== undefined && !seen.has(key(event))) seen.set(key(event), event);
    }
  };
  const show = () => {
    const events = [...seen.values()]
      .sort((a, b) => Number(b.cursor) - Number(a.cursor))
      .slice(0, SHOWN);
    results.replaceChildren(...events.map((event) => resultItem(ctx, event, onJump)));
    return events.length;
  };

  add(recentHighlights());
  add(fromStore(ctx));
  show();

  const pending = withMentions(ctx).map(async ({ network, name }) => {
    const query = new URLSearchParams({ target: name, limit: String(HISTORY_LIMIT) });
    const page = await ctx.api.get(`/api/networks/${network}/history?${query}`);
    add((page.events || []).map((event) => ({ network, target: name, ...event })));
  });
  Promise.allSettled(pending).then((outcomes) => {
    if (!isOpen()) return;
    const failed = outcomes.find((o) => o.status === "rejected");
    if (failed) error.set(errorText(failed.reason));
    const count = show();
    status.textContent = count === 0 ? "No mentions yet." : `${count} mention${count === 1 ? "" : "s"}.`;
  });
  return { close };
}
