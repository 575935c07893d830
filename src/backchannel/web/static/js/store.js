// What the page knows: networks, their conversations ("targets"), members,
// topics, unread and mention counts, and a window of each conversation's
// messages. Filled from GET /api/state, kept up to date by the event stream.
// Views listen to "change" events, sent at most once per animation frame:
// detail = {networks, targets: Set, members: Set, appended: Set, reset: Set}.

import { withQuery } from "./api.js";

/** rfc1459 case folding ([]\~ are the upper case of {}|^). */
export function fold(name) {
  return String(name ?? "")
    .toLowerCase()
    .replace(/[[\]\\~]/g, (c) => ({ "[": "{", "]": "}", "\\": "|", "~": "^" })[c]);
}

export function isChannelName(name) {
  return /^[#&+!]/.test(name || "");
}

/** Membership modes and their symbols, highest rank first (ISUPPORT PREFIX default). */
export const PREFIX_MODES = "qaohv";
export const PREFIX_SYMBOLS = "~&@%+";

/** Event kinds kept in a conversation's log (shown in the message list). */
const HIDDEN = new Set([
  "read", "query", "query_closed", "names", "batch_start", "batch_end", "isupport", "caps", "lag",
  "topic_who_time", "account", "chghost", "setname",
]);
export function isShown(event) {
  if (HIDDEN.has(event.kind)) return false;
  // our own status, and answers (WHOIS, messaging someone away); not every away-notify
  if (event.kind === "away") return !!event.self || !!event.reply;
  return true;
}

/** A message from someone else that counts as unread (as the server counts). */
export function isCounted(event) {
  return !event.self && (event.kind === "privmsg" || event.kind === "notice" || event.kind === "action");
}

const PAGE = 150;
const KEEP_UNVIEWED = 400;

function newLog() {
  return { events: [], before: null, atEnd: true, loaded: false, loading: 0, pending: [], msgids: new Set() };
}

function sortPrefixes(prefixes) {
  return [...new Set(prefixes)]
    .filter((p) => PREFIX_SYMBOLS.includes(p))
    .sort((a, b) => PREFIX_SYMBOLS.indexOf(a) - PREFIX_SYMBOLS.indexOf(b))
    .join("");
}

export class Store extends EventTarget {
  constructor(api) {
    super();
    this.api = api;
    this.networks = new Map(); // id → network
    this.user = null;
    this.current = null; // the viewed target
    this.dirty = null;
    this.frame = null;
  }

  // --- change notifications ------------------------------------------------------

  touch(part, target) {
    if (!this.dirty) {
      this.dirty = { networks: false, targets: new Set(), members: new Set(), appended: new Set(), reset: new Set() };
    }
    if (part === "networks") this.dirty.networks = true;
    else this.dirty[part].add(target);
    if (this.frame === null) {
      const flush = () => {
        this.frame = null;
        const detail = this.dirty;
        this.dirty = null;
        if (detail) this.dispatchEvent(new CustomEvent("change", { detail }));
      };
      // animation frames do not run in hidden tabs: a timer then
      this.frame = document.hidden ? setTimeout(flush, 50) : requestAnimationFrame(flush);
      this.frameIsTimer = document.hidden;
    }
  }

  /** Delivers pending changes now (e.g. before switching conversations). */
  flushNow() {
    if (this.frame === null) return;
    if (this.frameIsTimer) clearTimeout(this.frame);
    else cancelAnimationFrame(this.frame);
    this.frame = null;
    const detail = this.dirty;
    this.dirty = null;
    if (detail) this.dispatchEvent(new CustomEvent("change", { detail }));
  }

  // --- networks and targets ----------------------------------------------------------

  /** Replaces everything with a /api/state snapshot. */
  load(state) {
    this.networks.clear();
    for (const net of state.networks || []) this.upsertNetwork(net);
    this.touch("networks");
  }

  /** Adds or updates a network from /api/state or /api/networks (JSON as sent). */
  upsertNetwork(data) {
    let net = this.networks.get(data.id);
    if (!net) {
      net = { id: data.id, name: data.name, enabled: true, status: null, nick: "", targets: new Map(), config: null };
      this.networks.set(data.id, net);
      this.target(net, "", "server");
    }
    net.name = data.name ?? net.name;
    if (data.enabled !== undefined) net.enabled = data.enabled;
    if (data.status !== undefined) net.status = data.status;
    if (data.nick) net.nick = net.nick && data.targets === undefined ? net.nick : data.nick;
    if (data.host !== undefined) net.config = data; // the /api/networks shape
    for (const t of data.targets || []) {
      const target = this.target(net, t.name, t.type);
      target.joined = !!t.joined;
      target.topic = t.topic || "";
      target.unread = t.unread || 0;
      target.mentions = t.mentions || 0;
      target.marker = t.marker ?? null;
      target.members.clear();
      for (const m of t.members || []) target.members.set(fold(m.nick), { nick: m.nick, prefixes: m.prefixes || "" });
    }
    for (const ch of (data.targets === undefined && data.channels) || []) {
      this.target(net, ch.name, "channel");
    }
    this.touch("networks");
    return net;
  }

  removeNetwork(id) {
    const net = this.networks.get(id);
    if (!net) return;
    this.networks.delete(id);
    if (this.current && this.current.network === net) this.current = null;
    this.touch("networks");
  }

  /** The target `name` of `net`, created when missing. */
  target(net, name, type) {
    const key = fold(name);
    let target = net.targets.get(key);
    if (!target) {
      target = {
        network: net,
        name,
        key,
        type: type || (name === "" ? "server" : isChannelName(name) ? "channel" : "query"),
        joined: name === "" || !isChannelName(name),
        topic: "",
        members: new Map(),
        unread: 0,
        mentions: 0,
        marker: null,
        lastCounted: null,
        log: newLog(),
      };
      net.targets.set(key, target);
      this.touch("networks");
    }
    return target;
  }

  find(networkId, name) {
    const net = this.networks.get(Number(networkId));
    return net ? net.targets.get(fold(name)) : undefined;
  }

  removeTarget(target) {
    const net = target.network;
    if (target.name === "" || net.targets.get(target.key) !== target) return;
    net.targets.delete(target.key);
    this.touch("networks");
  }

  /** Networks in order, each with its targets: the network buffer, channels, queries. */
  list() {
    const nets = [...this.networks.values()].sort((a, b) => a.id - b.id);
    return nets.map((net) => {
      const targets = [...net.targets.values()].filter((t) => t.name !== "");
      const byName = (a, b) => a.key.localeCompare(b.key);
      const channels = targets.filter((t) => t.type === "channel").sort(byName);
      const queries = targets.filter((t) => t.type !== "channel").sort(byName);
      return { net, server: net.targets.get(""), targets: [...channels, ...queries] };
    });
  }

  /** Every target in sidebar order (for Alt+Up/Down and the jump box). */
  allTargets() {
    const out = [];
    for (const { server, targets } of this.list()) out.push(server, ...targets);
    return out;
  }

  setCurrent(target) {
    this.current = target;
    this.touch("networks");
  }

  // --- events -------------------------------------------------------------------------

  /** Applies events from the stream (cursor order). */
  apply(events) {
    for (const event of events) {
      const net = this.networks.get(event.network);
      if (net) {
        this.applyOne(net, event);
      } else if (event.network !== undefined && event.network !== null) {
        // a network created elsewhere: fetch it, then apply what it said meanwhile
        this.held = this.held || new Map();
        if (!this.held.has(event.network)) {
          this.held.set(event.network, []);
          this.fetchNetwork(event.network);
        }
        this.held.get(event.network).push(event);
      }
    }
  }

  async fetchNetwork(id) {
    this.fetching = this.fetching || new Map();
    if (!this.fetching.has(id)) {
      const work = (async () => {
        try {
          const data = await this.api.get(`/api/networks/${id}`);
          if (!this.networks.has(id)) this.upsertNetwork(data);
        } catch (err) {
          // gone again, or not ours
        } finally {
          this.fetching.delete(id);
          const held = this.held ? this.held.get(id) : null;
          if (this.held) this.held.delete(id);
          const net = this.networks.get(id);
          if (net && held) for (const event of held) this.applyOne(net, event);
        }
      })();
      this.fetching.set(id, work);
    }
    return this.fetching.get(id);
  }

  applyOne(net, event) {
    event.c = Number(event.cursor);
    const name = event.target ?? "";
    const kind = event.kind;
    if (kind === "read") {
      const target = net.targets.get(fold(name));
      if (target) this.applyRead(target, event.cursor_read);
      return;
    }
    if (kind === "query_closed") {
      // closed here or in another session of this user
      const target = net.targets.get(fold(name));
      if (target && target.type === "query") this.removeTarget(target);
      return;
    }
    if (kind === "part" && event.self) {
      const target = net.targets.get(fold(name));
      if (target) {
        target.joined = false;
        target.members.clear();
        this.appendLive(target, event);
        this.removeTarget(target);
      }
      return;
    }
    const target = this.target(net, name, kind === "query" ? "query" : undefined);
    switch (kind) {
      case "join":
        if (event.self) {
          target.joined = true;
          target.members.clear();
          this.touch("networks");
        }
        target.members.set(fold(event.nick), { nick: event.nick, prefixes: "" });
        this.touch("members", target);
        break;
      case "part":
        target.members.delete(fold(event.nick));
        this.touch("members", target);
        break;
      case "kick":
        if (event.self) {
          target.joined = false;
          target.members.clear();
          this.touch("networks");
        } else target.members.delete(fold(event.nick));
        this.touch("members", target);
        break;
      case "quit":
        if (name !== "") target.members.delete(fold(event.nick));
        this.touch("members", target);
        break;
      case "nick": {
        if (event.self && fold(net.nick) === fold(event.old)) {
          net.nick = event.new;
          this.touch("networks");
        }
        const member = target.members.get(fold(event.old));
        if (member) {
          target.members.delete(fold(event.old));
          target.members.set(fold(event.new), { nick: event.new, prefixes: member.prefixes });
          this.touch("members", target);
        }
        break;
      }
      case "names":
        target.members.clear();
        for (const m of event.members || []) {
          target.members.set(fold(m.nick), { nick: m.nick, prefixes: sortPrefixes(m.prefixes || "") });
        }
        this.touch("members", target);
        break;
      case "mode":
        this.applyModes(target, event.changes || []);
        break;
      case "topic":
        target.topic = event.topic || "";
        this.touch("targets", target);
        break;
      case "registered":
        net.nick = event.nick;
        this.touch("networks");
        break;
      case "status":
        if (net.status && net.status.time > event.time) break; // older than what we know
        net.status = event;
        if (event.state !== "registered" && event.state !== "connected" && event.state !== "connecting") {
          for (const t of net.targets.values()) {
            if (t.type === "channel") {
              t.joined = false;
              t.members.clear();
              this.touch("members", t);
            }
          }
        }
        this.touch("networks");
        break;
      default:
        break;
    }
    if (isCounted(event)) this.count(target, event);
    this.appendLive(target, event);
  }

  applyModes(target, changes) {
    let changed = false;
    for (const change of changes) {
      const index = PREFIX_MODES.indexOf(change.mode);
      if (index < 0 || !change.param) continue;
      const member = target.members.get(fold(change.param));
      if (!member) continue;
      const symbol = PREFIX_SYMBOLS[index];
      const current = member.prefixes.replace(symbol, "");
      member.prefixes = sortPrefixes(change.adding ? current + symbol : current);
      changed = true;
    }
    if (changed) this.touch("members", target);
  }

  count(target, event) {
    target.lastCounted = event.cursor;
    if (this.current === target && this.isWatching()) {
      this.dispatchEvent(new CustomEvent("seen", { detail: { target, cursor: event.cursor } }));
      return;
    }
    target.unread += 1;
    if (event.highlight) target.mentions += 1;
    this.touch("networks");
  }

  isWatching() {
    return document.visibilityState === "visible";
  }

  applyRead(target, cursor) {
    if (cursor == null) return;
    if (target.marker === null || Number(cursor) > Number(target.marker)) target.marker = String(cursor);
    if (target.lastCounted === null || Number(target.lastCounted) <= Number(cursor)) {
      if (target.unread || target.mentions) {
        target.unread = 0;
        target.mentions = 0;
        this.touch("networks");
      }
    }
  }

  /** Clears the counts of a target the user is looking at (the server is told separately). */
  clearCounts(target) {
    if (target.unread || target.mentions) {
      target.unread = 0;
      target.mentions = 0;
      this.touch("networks");
    }
  }

  // --- message logs ---------------------------------------------------------------

  appendLive(target, event) {
    if (!isShown(event)) return;
    const log = target.log;
    if (log.loading) {
      log.pending.push(event);
      return;
    }
    if (!log.loaded || !log.atEnd) return; // fetched from history when needed
    if (this.pushEvent(log, event)) {
      if (this.current !== target && log.events.length > KEEP_UNVIEWED * 2) this.trimFront(target, KEEP_UNVIEWED);
      this.touch("appended", target);
    }
  }

  /** Appends `event` after the log's last one (false for a duplicate). */
  pushEvent(log, event) {
    const last = log.events[log.events.length - 1];
    if (last && event.c <= last.c) return false;
    if (event.msgid) {
      if (log.msgids.has(event.msgid) && event.batch) return false; // a history replay
      log.msgids.add(event.msgid);
    }
    log.events.push(event);
    return true;
  }

  /** Forgets the oldest events, keeping `keep`; they can be fetched again. */
  trimFront(target, keep) {
    const log = target.log;
    const drop = log.events.length - keep;
    if (drop <= 0) return 0;
    log.events.splice(0, drop);
    log.before = String(log.events[0].cursor);
    return drop;
  }

  /** Forgets the newest events, keeping `keep` (the log no longer reaches the end). */
  trimBack(target, keep) {
    const log = target.log;
    if (log.events.length <= keep) return 0;
    const drop = log.events.length - keep;
    log.events.length = keep;
    log.atEnd = false;
    return drop;
  }

  history(target, params) {
    const net = target.network;
    return this.api.get(withQuery(`/api/networks/${net.id}/history`, { target: target.name, limit: PAGE, ...params }));
  }

  prepare(events) {
    const out = [];
    for (const e of events) {
      e.c = Number(e.cursor);
      if (isShown(e)) out.push(e);
    }
    return out;
  }

  async withLoading(target, work) {
    const log = target.log;
    log.loading += 1;
    try {
      return await work();
    } finally {
      log.loading -= 1;
      if (!log.loading) {
        const pending = log.pending;
        log.pending = [];
        if (log.loaded && log.atEnd) for (const e of pending) this.pushEvent(log, e);
      }
    }
  }

  /** The newest page of a conversation (replacing whatever was loaded). */
  async loadLatest(target) {
    return this.withLoading(target, async () => {
      const page = await this.history(target, {});
      const log = target.log;
      log.events = [];
      log.msgids = new Set();
      for (const e of this.prepare(page.events)) this.pushEvent(log, e);
      log.before = page.before;
      log.atEnd = true;
      log.loaded = true;
      this.touch("reset", target);
    });
  }

  /** A page around `cursor` (for search results and mentions). */
  async loadAround(target, cursor) {
    return this.withLoading(target, async () => {
      const c = Number(cursor);
      const [older, newer] = await Promise.all([
        this.history(target, { before: String(c + 1), limit: 75 }),
        this.history(target, { after: String(c), limit: 75 }),
      ]);
      const log = target.log;
      log.events = [];
      log.msgids = new Set();
      for (const e of this.prepare([...older.events, ...newer.events])) this.pushEvent(log, e);
      log.before = older.before;
      log.atEnd = newer.events.length < 75;
      log.loaded = true;
      this.touch("reset", target);
    });
  }

  /** Older events before the log's first; false when the beginning is reached. */
  async loadOlder(target) {
    const log = target.log;
    if (!log.loaded || log.before === null) return false;
    const before = log.before;
    const page = await this.history(target, { before });
    if (log.before !== before) return true; // the log changed meanwhile
    const events = this.prepare(page.events).filter((e) => !log.events.length || e.c < log.events[0].c);
    for (const e of events) if (e.msgid) log.msgids.add(e.msgid);
    log.events.unshift(...events);
    log.before = page.before;
    return true;
  }

  /** Newer events after the log's last, when it does not reach the end. */
  async loadNewer(target) {
    const log = target.log;
    if (!log.loaded || log.atEnd) return false;
    return this.withLoading(target, async () => {
      const last = log.events[log.events.length - 1];
      const after = last ? last.cursor : log.before;
      const page = await this.history(target, { after });
      for (const e of this.prepare(page.events)) this.pushEvent(log, e);
      if (page.events.length < PAGE) log.atEnd = true;
      return true;
    });
  }
}
