// The event stream and the command channel.
//
// WebSocket first, then Server-Sent Events, then long-poll: a kind of link
// that fails to open twice while the server is reachable (or keeps dropping
// within seconds) is given up for the next one; the kind that worked is
// remembered in localStorage. Every link resumes after the last cursor seen,
// and events at or before it are ignored: no gap, no duplicate.
//
// Commands (send, join, part) go through an outbox kept in memory and in
// localStorage: typed while offline they wait, and are sent once, in order,
// when a link is up again (as WebSocket commands on a socket, else REST).

import { ApiError } from "./api.js";
import { url } from "./base.js";

const KINDS = ["ws", "sse", "poll"];
const PREFERENCE_KEY = "backchannel.transport";
const OUTBOX_KEY = "backchannel.outbox";
const PREFERENCE_TTL = 7 * 24 * 3600 * 1000; // then the best kind is tried again
const HELLO_TIMEOUT = 10000;
const POLL_TIMEOUT = 25;
const SHORT_LIFE = 5000;
const MAX_BACKOFF = 30000;
const QUIET = 25000; // a WebSocket silent this long is probed...
const PROBE_TIMEOUT = 10000; // ...and given up when the probe is not answered

/** Compares two cursors (decimal strings without leading zeros). */
export function compareCursors(a, b) {
  const x = String(a);
  const y = String(b);
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

function readJson(key, fallback) {
  try {
    const text = localStorage.getItem(key);
    return text ? JSON.parse(text) : fallback;
  } catch (err) {
    return fallback;
  }
}

function writeJson(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch (err) {
    // storage full or disabled: the memory copy still works
  }
}

const ROUTES = { send: "send", join: "join", part: "part", query: "query", close: "close", read: "read" };

// --- the three kinds of link ---------------------------------------------------------
// Each takes the cursor to resume after and handlers {open, events, fail};
// `fail` is called at most once. A link has close(), and a WebSocket link
// also command(message) → Promise of the reply.

function openWebSocket(after, on) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}${url("/api/ws")}?after=${encodeURIComponent(after)}`);
  const pending = new Map();
  let nextId = 1;
  let done = false;
  let helloTimer = setTimeout(() => finish("no greeting from the server"), HELLO_TIMEOUT);
  // a connection that died silently says nothing: when the socket has been quiet
  // for a while, a command the server does not know still gets an answer
  let lastHeard = Date.now();
  let probeSent = 0;
  const liveness = setInterval(() => {
    if (done || helloTimer !== null) return;
    const now = Date.now();
    if (probeSent && now - probeSent > PROBE_TIMEOUT) finish("the server stopped answering");
    else if (!probeSent && now - lastHeard > QUIET) {
      probeSent = now;
      try {
        socket.send(JSON.stringify({ id: `probe-${now}`, type: "probe" }));
      } catch (err) {
        finish("the WebSocket failed");
      }
    }
  }, 5000);

  function finish(reason) {
    if (done) return;
    done = true;
    clearInterval(liveness);
    clearTimeout(helloTimer);
    try {
      socket.close();
    } catch (err) {
      // already closed
    }
    for (const { reject } of pending.values()) {
      reject(new ApiError(0, "network_error", "The connection was lost."));
    }
    pending.clear();
    on.fail(reason);
  }

  socket.onmessage = (message) => {
    lastHeard = Date.now();
    probeSent = 0;
    let data;
    try {
      data = JSON.parse(message.data);
    } catch (err) {
      return;
    }
    if (data.kind === "hello") {
      clearTimeout(helloTimer);
      helloTimer = null;
      on.open();
    } else if (data.reply_to !== undefined && data.cursor === undefined) {
      const waiting = pending.get(data.reply_to);
      if (!waiting) return;
      pending.delete(data.reply_to);
      if (data.ok) waiting.resolve(data.result ?? { ok: true });
      else waiting.reject(new ApiError(400, data.error || "error", data.message || data.error || "refused"));
    } else if (data.cursor !== undefined) {
      on.events([data]);
    }
  };
  socket.onerror = () => finish("the WebSocket failed");
  socket.onclose = () => finish("the WebSocket closed");

  return {
    kind: "ws",
    close() {
      done = true;
      clearInterval(liveness);
      clearTimeout(helloTimer);
      socket.onclose = socket.onerror = socket.onmessage = null;
      try {
        socket.close();
      } catch (err) {
        // ignore
      }
      for (const { reject } of pending.values()) {
        reject(new ApiError(0, "network_error", "The connection was closed."));
      }
      pending.clear();
    },
    command(message) {
      if (done || socket.readyState !== WebSocket.OPEN || helloTimer !== null) {
        return Promise.reject(new ApiError(0, "network_error", "not connected"));
      }
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        socket.send(JSON.stringify({ id, ...message }));
      });
    },
  };
}

function openEventSource(after, on) {
  const source = new EventSource(`${url("/api/events/stream")}?after=${encodeURIComponent(after)}`);
  let done = false;
  source.onopen = () => on.open();
  source.onmessage = (message) => {
    try {
      on.events([JSON.parse(message.data)]);
    } catch (err) {
      // not JSON: ignore
    }
  };
  source.onerror = () => {
    if (done) return;
    done = true;
    source.close(); // reconnect ourselves, with the cursor we hold
    on.fail("the event stream failed");
  };
  return {
    kind: "sse",
    close() {
      done = true;
      source.close();
    },
  };
}

function openLongPoll(getCursor, on) {
  const controller = new AbortController();
  let done = false;
  let opened = false;

  async function loop() {
    while (!done) {
      const timer = setTimeout(() => controller.abort(), (POLL_TIMEOUT + 15) * 1000);
      let body;
      try {
        const response = await fetch(
          // the first answer comes at once: the link counts as open from then on
          `${url("/api/events")}?after=${encodeURIComponent(getCursor())}&timeout=${opened ? POLL_TIMEOUT : 0}`,
          { credentials: "same-origin", signal: controller.signal, headers: { Accept: "application/json" } },
        );
        if (!response.ok) throw new Error(`status ${response.status}`);
        body = await response.json();
      } catch (err) {
        clearTimeout(timer);
        if (!done) {
          done = true;
          on.fail("the poll failed");
        }
        return;
      } finally {
        clearTimeout(timer);
      }
      if (done) return;
      if (!opened) {
        opened = true;
        on.open();
      }
      on.events(body.events || [], body.cursor);
    }
  }
  loop();
  return {
    kind: "poll",
    close() {
      done = true;
      controller.abort();
    },
  };
}

// --- the transport ----------------------------------------------------------------

export class Transport {
  /**
   * @param api the REST client
   * @param handlers {events(list), state(info), unauthorized()}
   */
  constructor(api, handlers, { user = null } = {}) {
    this.api = api;
    // queued commands belong to the user who typed them
    this.outboxKey = `${OUTBOX_KEY}.${user && user.id !== undefined ? user.id : "me"}`;
    this.handlers = handlers;
    this.cursor = "0";
    this.state = "connecting"; // connecting | online | reconnecting | offline
    this.kind = this.preferredKind();
    this.link = null;
    this.linkOpenedAt = 0;
    this.openFailures = 0;
    this.shortLives = 0;
    this.attempt = 0;
    this.retryTimer = null;
    this.retryAt = null;
    this.stopped = true;
    this.outbox = readJson(this.outboxKey, []).filter((item) => item && item.type && item.network);
    this.waiters = new Map(); // outbox item id → {resolve, reject}
    this.flushing = false;
    this.onOnline = () => this.retryNow();
    this.onOffline = () => this.setState("offline");
  }

  preferredKind() {
    const saved = readJson(PREFERENCE_KEY, null);
    if (saved && KINDS.includes(saved.kind) && Date.now() - (saved.at || 0) < PREFERENCE_TTL) {
      return saved.kind;
    }
    return typeof WebSocket === "function" ? "ws" : "sse";
  }

  /** Starts the stream after `cursor` (from /api/state). */
  start(cursor) {
    this.cursor = String(cursor ?? "0");
    this.stopped = false;
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    clearTimeout(this.retryTimer);
    if (this.link) this.link.close();
    this.link = null;
  }

  /** Reconnect at once (after a wait, or to skip the current backoff). */
  retryNow() {
    if (this.stopped || this.link) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  setState(state) {
    this.state = state;
    this.handlers.state?.({
      state,
      kind: this.kind,
      retryAt: state === "online" ? null : this.retryAt,
      queued: this.outbox.length,
    });
  }

  connect() {
    if (this.stopped) return;
    this.retryAt = null;
    this.setState(this.state === "connecting" ? "connecting" : "reconnecting");
    const kind = this.kind;
    let link = null;
    const handlers = {
      open: () => {
        if (this.link !== link) return;
        this.opened(link);
      },
      events: (events, cursor) => {
        if (this.link !== link) return;
        this.receive(events, cursor);
      },
      fail: (reason) => {
        if (this.link !== link) return;
        this.failed(link, reason);
      },
    };
    if (kind === "ws") link = openWebSocket(this.cursor, handlers);
    else if (kind === "sse") link = openEventSource(this.cursor, handlers);
    else link = openLongPoll(() => this.cursor, handlers);
    link.isOpen = false;
    this.link = link;
  }

  opened(link) {
    link.isOpen = true;
    this.linkOpenedAt = Date.now();
    this.openFailures = 0;
    this.attempt = 0;
    writeJson(PREFERENCE_KEY, { kind: link.kind, at: Date.now() });
    this.setState("online");
    this.flush();
  }

  async failed(link, reason) {
    if (link) link.close();
    if (this.link === link) this.link = null;
    if (this.stopped) return;
    const wasOpen = link && link.isOpen;
    this.setState("reconnecting");
    if (wasOpen) {
      this.shortLives = Date.now() - this.linkOpenedAt < SHORT_LIFE ? this.shortLives + 1 : 0;
    }
    // is the server there at all? then it is this kind of link that fails
    let reachable = false;
    try {
      await this.api.get("/api/me");
      reachable = true;
    } catch (err) {
      if (err.status === 401) {
        this.stop();
        this.handlers.unauthorized?.();
        return;
      }
    }
    if (this.stopped || this.link) return;
    if (reachable && !wasOpen) this.openFailures += 1;
    const index = KINDS.indexOf(this.kind);
    if (reachable && (this.openFailures >= 2 || this.shortLives >= 3) && index < KINDS.length - 1) {
      this.kind = KINDS[index + 1];
      this.openFailures = 0;
      this.shortLives = 0;
      this.attempt = 0;
      this.scheduleRetry(100, "reconnecting");
      return;
    }
    this.attempt += 1;
    const delay = Math.min(MAX_BACKOFF, 500 * 2 ** Math.min(this.attempt, 6)) * (0.8 + Math.random() * 0.4);
    this.scheduleRetry(wasOpen && this.attempt === 1 ? 250 : delay, reachable ? "reconnecting" : "offline");
  }

  scheduleRetry(delay, state) {
    clearTimeout(this.retryTimer);
    this.retryAt = Date.now() + delay;
    this.setState(state);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  receive(events, cursor) {
    const fresh = [];
    for (const event of events) {
      if (event == null || event.cursor === undefined || event.cursor === null) continue;
      if (compareCursors(event.cursor, this.cursor) <= 0) continue;
      this.cursor = String(event.cursor);
      fresh.push(event);
    }
    if (cursor !== undefined && cursor !== null && compareCursors(cursor, this.cursor) > 0) {
      this.cursor = String(cursor);
    }
    if (fresh.length) this.handlers.events?.(fresh);
  }

  // --- commands -------------------------------------------------------------------

  /**
   * Queues a command ({type: "send"|"join"|"part", network, ...fields}); it
   * is sent once, in order, as soon as a link is up. The promise settles
   * when the server answered (rejects with an ApiError when it refused).
   */
  enqueue(command) {
    const item = { ...command, qid: `${Date.now()}-${Math.random().toString(36).slice(2)}` };
    this.outbox.push(item);
    writeJson(this.outboxKey, this.outbox);
    const promise = new Promise((resolve, reject) => this.waiters.set(item.qid, { resolve, reject }));
    if (this.state !== "online") this.setState(this.state); // show the queue
    this.flush();
    return promise;
  }

  get queued() {
    return this.outbox.length;
  }

  async flush() {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.outbox.length && this.state === "online") {
        const item = this.outbox[0];
        let result = null;
        let error = null;
        try {
          result = await this.deliver(item);
        } catch (err) {
          if (!(err instanceof ApiError) || err.status === 0) break; // link lost: keep it
          error = err;
        }
        this.outbox.shift();
        writeJson(this.outboxKey, this.outbox);
        const waiter = this.waiters.get(item.qid);
        this.waiters.delete(item.qid);
        if (error) {
          if (waiter) waiter.reject(error);
          else this.handlers.commandError?.(error, item);
        } else if (waiter) {
          waiter.resolve(result);
        }
      }
    } finally {
      this.flushing = false;
    }
    if (this.state !== "online") this.setState(this.state);
  }

  deliver(item) {
    const { qid, type, network, ...fields } = item;
    // the queue id is the command's idempotency key: if the link dies before the
    // answer comes, the retry is answered from the first try, not sent twice
    return this.command(type, network, fields, qid);
  }

  /** Runs a command now: on the WebSocket when one is open, else by REST. */
  command(type, network, fields, key = undefined) {
    if (this.link && this.link.isOpen && this.link.command) {
      return this.link.command({ type, network, ...fields, ...(key ? { idempotency_key: key } : {}) });
    }
    const route = ROUTES[type];
    if (!route) return Promise.reject(new ApiError(400, "bad_command", `unknown command ${type}`));
    const headers = key && type === "send" ? { "Idempotency-Key": key } : {};
    return this.api.post(`/api/networks/${network}/${route}`, fields, headers);
  }
}
