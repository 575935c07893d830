// The message list (role="log") of the viewed conversation.
//
// Only a window of the conversation is in the DOM: at most MAX_EVENTS events,
// [lo, hi) of the store's log. Scrolling near an edge moves the window by a
// chunk (and fetches an older or newer page from the history when the log
// ends there); live events are appended in one batch per animation frame.
// Consecutive joins, parts, quits and nick changes are condensed into one line.

const MAX_EVENTS = 300;
const CHUNK = 100;
const INITIAL = 120;
const NEAR = 600; // px from an edge that counts as "near"
const MEMBERSHIP = new Set(["join", "part", "quit", "nick"]);

// the text renderer and nick colours come from ../format.js when it loads
const formatter = {
  renderText: (text) => document.createTextNode(text),
  nickClass: () => "",
};
export function setFormatter(module) {
  if (module && typeof module.renderText === "function") formatter.renderText = module.renderText;
  if (module && typeof module.nickClass === "function") formatter.nickClass = module.nickClass;
}
export function nickClass(nick) {
  try {
    return formatter.nickClass(nick) || "";
  } catch (err) {
    return "";
  }
}
export function rich(text) {
  try {
    return formatter.renderText(String(text ?? ""));
  } catch (err) {
    return document.createTextNode(String(text ?? ""));
  }
}

// --- time ---------------------------------------------------------------------------

const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const fullDate = new Intl.DateTimeFormat(undefined, { weekday: "long", year: "numeric", month: "long", day: "numeric" });
const fullTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

function dateOf(event) {
  const date = new Date(event.time);
  return Number.isNaN(date.getTime()) ? new Date(0) : date;
}
function dayKey(event) {
  if (event._day === undefined) {
    const d = dateOf(event);
    event._day = `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
  }
  return event._day;
}
export function formatClock(event) {
  return clock.format(dateOf(event));
}

// --- one event as DOM -----------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function nickEl(nick, extra = "") {
  const span = el("span", `nick ${nickClass(nick)} ${extra}`.trim(), nick);
  span.dataset.nick = nick;
  return span;
}

function timeEl(event) {
  const time = el("time", "ts", formatClock(event));
  time.dateTime = event.time;
  time.title = fullTime.format(dateOf(event));
  return time;
}

function modeText(changes) {
  let out = "";
  let sign = "";
  const params = [];
  for (const change of changes || []) {
    const s = change.adding ? "+" : "-";
    if (s !== sign) {
      out += s;
      sign = s;
    }
    out += change.mode;
    if (change.param) params.push(change.param);
  }
  return [out, ...params].join(" ");
}

function statusText(event) {
  const where = `${event.host}:${event.port}${event.tls ? " (TLS)" : ""}`;
  switch (event.state) {
    case "connecting":
      return `Connecting to ${where}…`;
    case "connected":
      return `Connected to ${where}, registering…`;
    case "registered":
      return `Logged in to ${where}.`;
    case "disconnected": {
      let text = `Disconnected${event.reason ? `: ${event.reason}` : "."}`;
      if (event.next_attempt) text += ` Reconnecting at ${clock.format(new Date(event.next_attempt))}.`;
      return text;
    }
    case "failed":
      return `Connection failed${event.reason ? `: ${event.reason}` : "."}`;
    default:
      return `${event.state} ${where}`;
  }
}

/** Plain text for the system lines (everything but messages). */
function systemText(event) {
  switch (event.kind) {
    case "kick":
      return [event.self ? "You were" : `${event.nick} was`, `kicked by ${event.by}${event.reason ? ` (${event.reason})` : ""}`].join(" ");
    case "topic":
      if (event.changed) return `${event.setter || "Someone"} changed the topic to: ${event.topic}`;
      return event.topic ? `Topic: ${event.topic}` : "No topic is set.";
    case "mode":
      return `${event.by || "The server"} sets mode ${modeText(event.changes)}${event.target && !event.self ? "" : ""}`;
    case "channel_modes":
      return `Channel modes: ${modeText(event.modes) || "none"}`;
    case "status":
      return statusText(event);
    case "registered":
      return event.text || `Registered as ${event.nick}.`;
    case "motd":
      return event.lines && event.lines.length ? event.lines.join("\n") : "No message of the day.";
    case "server_reply": {
      const params = (event.params || []).slice(0, -1).filter((p) => p !== "*");
      return `${params.length ? `${params.join(" ")}: ` : ""}${event.text}`;
    }
    case "error":
      return `Error: ${event.message}`;
    case "nick_error":
      return `Nick ${event.nick} refused: ${event.reason}`;
    case "sasl":
      return event.success
        ? `SASL ${event.mechanism}: logged in${event.account ? ` as ${event.account}` : ""}.`
        : `SASL ${event.mechanism} failed: ${event.reason}`;
    case "sts":
      return event.upgrade
        ? `The server asks for TLS: reconnecting to port ${event.port}.`
        : `The server requires TLS on port ${event.port} from now on.`;
    case "standard_reply":
      return `${event.severity} ${event.command} ${event.code}: ${event.description}`;
    case "invite":
      return event.self
        ? `${event.nick} invited you to ${event.channel}`
        : `${event.nick} invited ${event.target} to ${event.channel}`;
    case "away":
      if (!event.self) return `${event.nick} is away${event.message ? `: ${event.message}` : ""}`;
      return event.message === null ? "You are no longer marked as away." : "You are marked as away.";
    case "ctcp_request":
      return event.self
        ? `CTCP ${event.command} sent to ${event.target}`
        : `${event.nick} sent CTCP ${event.command}${event.text ? ` ${event.text}` : ""}`;
    case "ctcp_reply":
      return `CTCP ${event.command} reply from ${event.nick}: ${event.text}`;
    default:
      return event.text || event.message || event.kind;
  }
}

function messageRow(event) {
  const row = el("div", `row msg kind-${event.kind}`);
  if (event.self) row.classList.add("self");
  if (event.highlight) row.classList.add("highlight");
  row.appendChild(timeEl(event));
  const body = el("span", "body");
  if (event.kind === "action") {
    body.append(el("span", "mark", "* "), nickEl(event.nick), " ");
  } else if (event.kind === "notice") {
    body.append(el("span", "mark", "-"), nickEl(event.nick), el("span", "mark", "- "));
  } else {
    const who = el("span", "who");
    if (event.status) who.appendChild(el("span", "status-prefix", event.status));
    who.appendChild(nickEl(event.nick));
    body.append(who, " ");
  }
  const text = el("span", "text");
  text.appendChild(rich(event.text));
  body.appendChild(text);
  row.appendChild(body);
  return row;
}

function systemRow(event) {
  const row = el("div", `row sys kind-${event.kind}`);
  if (event.kind === "status" && (event.state === "failed" || event.state === "disconnected")) row.classList.add("bad");
  if (event.kind === "error" || event.kind === "nick_error" || (event.kind === "server_reply" && /^[45]/.test(event.code))) {
    row.classList.add("bad");
  }
  row.appendChild(timeEl(event));
  const body = el("span", "body");
  if (event.kind === "motd" && event.lines && event.lines.length) {
    // line by line: the formatter drops line breaks, and formatting ends with its line
    const text = el("span", "text");
    for (const [i, line] of event.lines.entries()) {
      if (i) text.append("\n");
      text.appendChild(rich(line));
    }
    body.appendChild(text);
  } else if (event.kind === "topic" || event.kind === "motd" || event.kind === "registered") {
    const text = el("span", "text");
    text.appendChild(rich(systemText(event)));
    body.appendChild(text);
  } else {
    body.textContent = systemText(event);
  }
  row.appendChild(body);
  return row;
}

function membershipPhrase(event) {
  switch (event.kind) {
    case "join":
      return { nick: event.nick, verb: "joined" };
    case "part":
      return { nick: event.nick, verb: "left" };
    case "quit":
      return { nick: event.nick, verb: "quit" };
    default:
      return { nick: event.old, verb: `is now ${event.new}` };
  }
}

function withReason(phrase, event) {
  const reason = (event.kind === "part" || event.kind === "quit") && event.reason;
  return reason ? `${phrase} (${reason})` : phrase;
}

function membershipText(events) {
  const phrases = events.map(membershipPhrase);
  if (phrases.length <= 6) {
    return phrases.map((p, i) => withReason(`${p.nick} ${p.verb}`, events[i])).join(", ");
  }
  const byVerb = new Map();
  const renames = [];
  for (const [i, p] of phrases.entries()) {
    if (events[i].kind === "nick") {
      renames.push(`${events[i].old} → ${events[i].new}`);
      continue;
    }
    if (!byVerb.has(p.verb)) byVerb.set(p.verb, []);
    byVerb.get(p.verb).push(p.nick);
  }
  const list = (names) => {
    const unique = [...new Set(names)];
    const more = unique.length > 4 ? ` and ${unique.length - 4} others` : "";
    return `${unique.slice(0, 4).join(", ")}${more}`;
  };
  const parts = [];
  for (const [verb, nicks] of byVerb) parts.push(`${list(nicks)} ${verb}`);
  if (renames.length) parts.push(`nick changes: ${list(renames)}`);
  return parts.join("; ");
}

function membershipRow(events) {
  const row = el("div", "row sys membership");
  row.appendChild(timeEl(events[0]));
  row.appendChild(el("span", "body", membershipText(events)));
  return row;
}

export function eventRow(event) {
  const row =
    event.kind === "privmsg" || event.kind === "notice" || event.kind === "action" ? messageRow(event) : systemRow(event);
  return row;
}

function daySeparator(event) {
  const row = el("div", "day-separator");
  row.setAttribute("role", "separator");
  const label = el("span", "", fullDate.format(dateOf(event)));
  row.appendChild(label);
  return row;
}

function unreadMarker() {
  const row = el("div", "unread-marker");
  row.setAttribute("role", "separator");
  row.appendChild(el("span", "", "New messages"));
  return row;
}

function localRow(text, className = "") {
  const row = el("div", `row sys local ${className}`.trim());
  const body = el("span", "body", text);
  row.appendChild(body);
  return row;
}

// --- the list -------------------------------------------------------------------------

function indexOfCursor(events, c) {
  // the first index whose cursor is >= c
  let low = 0;
  let high = events.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (events[mid].c < c) low = mid + 1;
    else high = mid;
  }
  return low;
}

export class MessageList {
  constructor(store, handlers = {}) {
    this.store = store;
    this.handlers = handlers;
    this.target = null;
    this.loC = null; // cursor of the first rendered event
    this.hiC = null; // cursor of the last rendered event
    this.stuck = true;
    this.atLogEnd = true;
    this.busy = false;
    this.marker = null;
    this.lastRun = null; // {events, row} of a membership run ending the window
    this.scrollQueued = false;

    this.root = el("div", "messages-wrap");
    this.scroller = el("div", "messages");
    this.scroller.setAttribute("role", "log");
    this.scroller.setAttribute("aria-label", "Conversation");
    this.scroller.tabIndex = 0;
    this.top = el("div", "log-edge");
    this.rows = el("div", "rows");
    this.scroller.append(this.top, this.rows);
    this.latest = el("button", "jump-latest", "Jump to latest messages");
    this.latest.type = "button";
    this.latest.hidden = true;
    this.latest.addEventListener("click", () => this.toLatest());
    this.root.append(this.scroller, this.latest);

    this.scroller.addEventListener("scroll", () => this.onScroll(), { passive: true });
    this.scroller.addEventListener("click", (event) => {
      const nick = event.target.closest?.(".nick[data-nick]");
      if (nick && this.handlers.nickClicked) this.handlers.nickClicked(nick.dataset.nick);
    });
    this.resizeObserver = new ResizeObserver(() => {
      if (this.stuck) this.scrollToBottom();
    });
    this.resizeObserver.observe(this.scroller);
  }

  get events() {
    return this.target ? this.target.log.events : [];
  }

  /** Index range [lo, hi) of the rendered events in the log (cursors → indices). */
  range() {
    const events = this.events;
    if (this.loC === null) return [events.length, events.length];
    const lo = indexOfCursor(events, this.loC);
    const hi = indexOfCursor(events, this.hiC + 1);
    return [lo, hi];
  }

  /** Shows `target` at its end (or around `cursor`). */
  async show(target, cursor = null) {
    this.target = target;
    this.marker = target.unread > 0 ? Number(target.marker ?? 0) : null;
    this.scroller.setAttribute("aria-label", target.name ? `Conversation in ${target.name}` : `Network ${target.network.name}`);
    this.loC = this.hiC = null;
    this.rows.replaceChildren();
    this.lastRun = null;
    this.latest.hidden = true;
    const log = target.log;
    try {
      if (cursor !== null) {
        this.setEdge("Loading…");
        await this.store.loadAround(target, cursor);
      } else if (!log.loaded) {
        this.setEdge("Loading…");
        await this.store.loadLatest(target);
      }
    } catch (err) {
      if (this.target === target) this.setEdge(`Could not load the history: ${err.message}`);
      return;
    }
    if (this.target !== target) return;
    if (cursor !== null) this.renderAround(Number(cursor));
    else this.renderEnd();
  }

  renderEnd() {
    const events = this.events;
    this.stuck = true;
    this.renderWindow(Math.max(0, events.length - INITIAL), events.length, null);
    this.scrollToBottom();
    this.updateLatestButton();
    requestAnimationFrame(() => this.checkEdges()); // fill a tall screen with older pages
  }

  renderAround(c) {
    const events = this.events;
    const index = indexOfCursor(events, c);
    const lo = Math.max(0, index - CHUNK / 2);
    const hi = Math.min(events.length, lo + CHUNK);
    this.stuck = false;
    this.renderWindow(lo, hi, null);
    const row = this.rowFor(c);
    if (row) {
      row.classList.add("focused");
      row.scrollIntoView({ block: "center" });
      setTimeout(() => row.classList.remove("focused"), 4000);
    }
    this.updateLatestButton();
  }

  setEdge(text) {
    this.top.textContent = text;
  }

  updateEdge() {
    const log = this.target?.log;
    if (!log) return;
    const [lo] = this.range();
    if (lo === 0 && (log.before === null || this.clearedHere())) {
      this.setEdge(this.events.length ? "Beginning of the conversation" : "No messages yet");
    } else {
      this.setEdge("");
    }
  }

  clearedHere() {
    return this.target.clearedAt !== undefined;
  }

  /** The first rendered event index allowed by /clear. */
  floor() {
    if (this.target.clearedAt === undefined) return 0;
    return indexOfCursor(this.events, this.target.clearedAt + 1);
  }

  /** Rows for events [lo, hi) (the first one counts as a window start). */
  build(lo, hi) {
    const events = this.events;
    const fragment = document.createDocumentFragment();
    let lastRun = null;
    let run = null;
    const flushRun = () => {
      if (!run) return;
      const row = membershipRow(run);
      row.dataset.first = run[0].c;
      row.dataset.last = run[run.length - 1].c;
      fragment.appendChild(row);
      lastRun = { events: run, row };
      run = null;
    };
    for (let i = lo; i < hi; i += 1) {
      const event = events[i];
      const decorations = this.decorationsBefore(i, lo);
      if (decorations.length) {
        flushRun();
        fragment.append(...decorations);
      }
      if (MEMBERSHIP.has(event.kind)) {
        if (!run) run = [];
        run.push(event);
        continue;
      }
      flushRun();
      lastRun = null;
      const row = eventRow(event);
      row.dataset.first = row.dataset.last = event.c;
      fragment.appendChild(row);
    }
    flushRun();
    return { fragment, lastRun };
  }

  /** Replaces the window with events [lo, hi); keeps `anchor` in place. */
  renderWindow(lo, hi, anchor) {
    const events = this.events;
    lo = Math.max(lo, this.floor());
    const { fragment, lastRun } = this.build(lo, hi);
    this.lastRun = lastRun;
    this.rows.replaceChildren(fragment);
    this.loC = hi > lo ? events[lo].c : null;
    this.hiC = hi > lo ? events[hi - 1].c : null;
    this.atLogEnd = hi >= events.length;
    this.restore(anchor);
    this.updateEdge();
  }

  /** Adds events [newLo, lo) above the window (lo: its first event). */
  prepend(newLo, lo) {
    const events = this.events;
    let buildHi = lo;
    // the decorations of the old first event, and a membership run it starts, are rebuilt
    const stripLeading = () => {
      while (this.rows.firstChild && this.rows.firstChild.dataset.first === undefined) this.rows.firstChild.remove();
    };
    stripLeading();
    const first = this.rows.firstChild;
    if (first && first.classList.contains("membership") && MEMBERSHIP.has(events[lo - 1].kind)) {
      buildHi = indexOfCursor(events, Number(first.dataset.last) + 1);
      if (this.lastRun && this.lastRun.row === first) this.lastRun = null;
      first.remove();
      stripLeading();
    }
    const { fragment, lastRun } = this.build(newLo, buildHi);
    if (buildHi < events.length && this.rows.firstChild) {
      fragment.append(...this.decorationsBefore(buildHi, -1));
    }
    if (!this.rows.firstChild && lastRun) this.lastRun = lastRun;
    this.rows.prepend(fragment);
    this.loC = events[newLo].c;
    if (this.hiC === null) this.hiC = events[buildHi - 1].c;
  }

  /** Removes rendered rows from event index `end` on (the window ends before it). */
  trimBottom(end) {
    const events = this.events;
    if (end >= events.length) return;
    const cut = events[end].c;
    let row = this.rows.lastChild;
    while (row) {
      const previous = row.previousSibling;
      if (row.dataset.first !== undefined && Number(row.dataset.first) < cut) break;
      row.remove();
      row = previous;
    }
    // a membership row across the cut keeps its events: the window ends after it
    const last = [...this.rows.children].reverse().find((r) => r.dataset.last !== undefined);
    this.hiC = last ? Number(last.dataset.last) : null;
    this.lastRun = null;
    this.atLogEnd = false;
  }

  decorationsBefore(i, lo) {
    const events = this.events;
    const event = events[i];
    const out = [];
    const previous = i > 0 ? events[i - 1] : null;
    if (this.marker !== null && event.c > this.marker) {
      if ((previous && previous.c <= this.marker) || (!previous && this.target.log.before === null && this.marker > 0)) {
        out.push(unreadMarker());
      }
    }
    if (!previous || dayKey(previous) !== dayKey(event)) {
      if (previous || i === lo) out.unshift(daySeparator(event));
    }
    return out;
  }

  rowFor(c) {
    for (const row of this.rows.children) {
      if (row.dataset.first === undefined) continue;
      if (Number(row.dataset.first) <= c && c <= Number(row.dataset.last)) return row;
    }
    return null;
  }

  /** Where the first visible row is, to keep it in place across a re-render. */
  anchor() {
    const top = this.scroller.getBoundingClientRect().top;
    for (const row of this.rows.children) {
      if (row.dataset.first === undefined) continue;
      const rect = row.getBoundingClientRect();
      if (rect.bottom > top) return { c: Number(row.dataset.first), offset: rect.top - top };
    }
    return null;
  }

  restore(anchor) {
    if (!anchor) return;
    const row = this.rowFor(anchor.c);
    if (!row) return;
    const top = this.scroller.getBoundingClientRect().top;
    this.scroller.scrollTop += row.getBoundingClientRect().top - top - anchor.offset;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  isAtBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 40;
  }

  onScroll() {
    if (this.scrollQueued) return;
    this.scrollQueued = true;
    requestAnimationFrame(() => {
      this.scrollQueued = false;
      this.checkEdges();
    });
  }

  async checkEdges() {
    if (!this.target || this.busy) return;
    const s = this.scroller;
    const [lo, hi] = this.range();
    const log = this.target.log;
    this.stuck = this.isAtBottom() && hi >= this.events.length && log.atEnd;
    if (s.scrollTop < NEAR) {
      if (lo > this.floor() && hi <= lo) {
        this.renderWindow(Math.max(this.floor(), lo - CHUNK), lo, null);
      } else if (lo > this.floor()) {
        const newLo = Math.max(this.floor(), lo - CHUNK);
        const newHi = Math.min(hi, newLo + MAX_EVENTS);
        const keepStuck = this.stuck && newHi === hi;
        const anchor = keepStuck ? null : this.anchor();
        this.prepend(newLo, lo);
        if (newHi < hi) this.trimBottom(newHi);
        if (keepStuck) this.scrollToBottom();
        else {
          this.restore(anchor);
          this.stuck = false;
        }
        this.updateEdge();
      } else if (log.before !== null && !this.clearedHere()) {
        await this.loadMore(() => this.store.loadOlder(this.target), "Loading older messages…");
      }
    } else if (s.scrollHeight - s.scrollTop - s.clientHeight < NEAR) {
      if (hi < this.events.length && hi > lo) {
        const newHi = Math.min(this.events.length, hi + CHUNK);
        const anchor = this.anchor();
        this.appendEvents(hi, newHi);
        this.atLogEnd = newHi >= this.events.length;
        if (newHi - lo > MAX_EVENTS) this.trimTop(newHi - MAX_EVENTS);
        this.restore(anchor);
        this.updateEdge();
      } else if (!log.atEnd) {
        await this.loadMore(() => this.store.loadNewer(this.target), null);
      }
    }
    this.updateLatestButton();
  }

  async loadMore(load, label) {
    const target = this.target;
    this.busy = true;
    if (label) this.setEdge(label);
    let more = false;
    try {
      more = await load();
    } catch (err) {
      if (this.target === target) this.setEdge(`Could not load the history: ${err.message}`);
    } finally {
      this.busy = false;
    }
    if (this.target !== target) return;
    if (more) this.checkEdges();
    else this.updateEdge();
  }

  updateLatestButton() {
    if (!this.target) return;
    const [, hi] = this.range();
    const behind = hi < this.events.length || !this.target.log.atEnd;
    this.latest.hidden = !(behind || !this.isAtBottom());
  }

  async toLatest() {
    const target = this.target;
    if (!target) return;
    if (!target.log.atEnd) {
      try {
        await this.store.loadLatest(target);
      } catch (err) {
        return;
      }
      if (this.target !== target) return;
    }
    this.renderEnd();
    this.scroller.focus();
  }

  /** New events were appended to the viewed log (called once per frame). */
  appended() {
    if (!this.target) return;
    const events = this.events;
    if (!this.atLogEnd) {
      this.updateLatestButton();
      return;
    }
    const [lo, hi] = this.range();
    const stuck = this.stuck;
    if (!stuck && hi - lo >= MAX_EVENTS) {
      this.atLogEnd = false; // keep the reader's place; the rest waits below
      this.updateLatestButton();
      return;
    }
    const start = this.hiC === null ? Math.max(this.floor(), events.length - INITIAL) : hi;
    this.appendEvents(start, events.length);
    if (stuck) {
      const [newLo, newHi] = this.range();
      if (newHi - newLo > MAX_EVENTS) this.trimTop(newHi - MAX_EVENTS);
      this.scrollToBottom();
      if (events.length > 4 * MAX_EVENTS) this.store.trimFront(this.target, 2 * MAX_EVENTS);
    }
    this.updateEdge();
    this.updateLatestButton();
  }

  appendEvents(start, end) {
    const events = this.events;
    const tail = this.rows.lastElementChild;
    if (!this.lastRun && tail && tail.classList.contains("membership") && start > 0 && Number(tail.dataset.last) === events[start - 1].c) {
      // continue the membership line the window ends with
      this.lastRun = { events: events.slice(indexOfCursor(events, Number(tail.dataset.first)), start), row: tail };
    }
    const fragment = document.createDocumentFragment();
    for (let i = start; i < end; i += 1) {
      const event = events[i];
      const decorations = this.decorationsBefore(i, this.loC === null ? i : -1);
      if (decorations.length) {
        this.lastRun = null;
        fragment.append(...decorations);
      }
      if (MEMBERSHIP.has(event.kind)) {
        if (this.lastRun) {
          this.lastRun.events.push(event);
          const row = membershipRow(this.lastRun.events);
          row.dataset.first = this.lastRun.events[0].c;
          row.dataset.last = event.c;
          this.lastRun.row.replaceWith(row);
          this.lastRun.row = row;
        } else {
          const run = [event];
          const row = membershipRow(run);
          row.dataset.first = row.dataset.last = event.c;
          fragment.appendChild(row);
          this.lastRun = { events: run, row };
        }
      } else {
        this.lastRun = null;
        const row = eventRow(event);
        row.dataset.first = row.dataset.last = event.c;
        fragment.appendChild(row);
      }
      // a run row replaced above may be in the fragment: it is, so nothing to move
    }
    this.rows.appendChild(fragment);
    this.atLogEnd = true;
    if (end > start) {
      if (this.loC === null) this.loC = events[start].c;
      this.hiC = events[end - 1].c;
    }
  }

  /** Removes rendered rows before event index `keepFrom` (the window slides down). */
  trimTop(keepFrom) {
    const events = this.events;
    const keepC = events[keepFrom].c;
    while (this.rows.firstChild) {
      const row = this.rows.firstChild;
      if (row.dataset.last !== undefined && Number(row.dataset.last) >= keepC) break;
      row.remove();
    }
    const first = [...this.rows.children].find((r) => r.dataset.first !== undefined);
    this.loC = first ? Number(first.dataset.first) : null;
  }

  /** A line of the page's own (help, errors of commands); gone on the next re-render. */
  note(text, className = "") {
    const row = localRow(text, className);
    this.rows.appendChild(row);
    this.lastRun = null;
    if (this.stuck || this.isAtBottom()) this.scrollToBottom();
    return row;
  }

  /** /clear: hide everything up to now (until the page is reloaded). */
  clear() {
    if (!this.target) return;
    const events = this.events;
    this.target.clearedAt = events.length ? events[events.length - 1].c : 0;
    this.renderEnd();
  }

  /** Re-renders the same window (e.g. when the log was replaced). */
  refresh() {
    if (!this.target) return;
    if (this.stuck) this.renderEnd();
    else {
      const [lo, hi] = this.range();
      this.renderWindow(lo, Math.max(hi, lo), this.anchor());
    }
  }
}

