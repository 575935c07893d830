// Boot and the chat layout: config → login (private) or connect (public) →
// /api/state → the sidebar, topic bar, message list, input and member list,
// kept up to date by the transport. Panels written elsewhere (network form,
// search, mentions, settings) are loaded on demand with import().

import { createApi } from "./api.js";
import { Store, fold } from "./store.js";
import { Transport } from "./transport.js";
import { Banner } from "./views/banner.js";
import { showConnect } from "./views/connect.js";
import { MessageInput } from "./views/input.js";
import { showLogin } from "./views/login.js";
import { MessageList, setFormatter } from "./views/messages.js";
import { NickList } from "./views/nicklist.js";
import { Sidebar, openQuickJump } from "./views/sidebar.js";
import { TopicBar } from "./views/topic.js";

const LAST_KEY = "backchannel.last";
const api = createApi();
const root = document.getElementById("app");
let config = { mode: "private", servers: [] };
let chat = null; // the running chat, or null

/** The running chat ({store, transport, list...}), for tests and debugging. */
export function getChat() {
  return chat;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function showMessage(text) {
  const main = el("main", "auth-page");
  const p = el("p", "boot");
  p.setAttribute("role", "status");
  p.textContent = text;
  main.appendChild(p);
  root.replaceChildren(main);
}

// --- boot ---------------------------------------------------------------------------

// the text formatter loads alongside; without it, text is shown as it is
const formatterLoaded = import("./format.js").then(setFormatter, () => {});

async function boot() {
  try {
    config = await api.get("/api/config");
  } catch (err) {
    showMessage(`The server could not be reached: ${err.message} Reload the page to try again.`);
    return;
  }
  api.onUnauthorized = () => loggedOut();
  let me = null;
  try {
    me = await api.get("/api/me");
  } catch (err) {
    if (err.status !== 401) {
      showMessage(`The server could not be reached: ${err.message}`);
      return;
    }
  }
  if (!me) {
    showEntry();
    return;
  }
  startChat(me.user);
}

function showEntry() {
  if (config.mode === "public") showConnect(root, api, config, () => startChat(null));
  else showLogin(root, api, (user) => startChat(user));
}

function loggedOut() {
  if (!chat) return;
  chat.stop();
  chat = null;
  showEntry();
}

async function startChat(user) {
  if (chat) chat.stop();
  showMessage("Loading…");
  let state;
  try {
    state = await api.get("/api/state");
  } catch (err) {
    if (err.status === 401) showEntry();
    else showMessage(`Loading failed: ${err.message}`);
    return;
  }
  if (!user) {
    try {
      user = (await api.get("/api/me")).user;
    } catch (err) {
      user = null;
    }
  }
  if (config.mode === "public" && !state.networks.length) {
    showConnect(root, api, config, () => startChat(user));
    return;
  }
  await formatterLoaded;
  chat = new Chat(user, state);
}

// --- the chat -----------------------------------------------------------------------

class Chat {
  constructor(user, state) {
    this.store = new Store(api);
    this.store.user = user;
    this.store.load(state);
    this.transport = new Transport(
      api,
      {
        events: (events) => this.received(events),
        state: (info) => this.banner.update(info),
        unauthorized: () => loggedOut(),
        commandError: (err) => this.list.note(err.message, "error"),
      },
      { user },
    );
    this.build();
    this.ctx = {
      api,
      store: this.store,
      transport: this.transport,
      switchTo: (networkId, target) => this.switchTo(networkId, target),
      jumpTo: (networkId, target, cursor) => this.switchTo(networkId, target, cursor),
      panel: this.panel,
    };
    this.store.addEventListener("change", (event) => this.changed(event.detail));
    this.store.addEventListener("seen", () => this.scheduleRead());
    this.listeners = [
      [document, "keydown", (event) => this.keydown(event)],
      [document, "visibilitychange", () => this.visibility()],
    ];
    for (const [target, type, fn] of this.listeners) target.addEventListener(type, fn);
    this.notify = null; // desktop notifications (./notify.js), when it loads
    import("./notify.js").then(
      (module) => {
        if (chat !== this || typeof module.maybeNotify !== "function") return;
        this.notify = module;
        if (typeof module.setupNotifications === "function") module.setupNotifications(this.ctx);
        if (typeof module.isMuted === "function" && typeof module.setMuted === "function") {
          this.topic.isMuted = (target) => module.isMuted(target.network.id, target.name);
          this.topic.render();
        }
      },
      () => {},
    );
    this.transport.start(state.cursor);
    this.sidebar.render();
    this.openInitial();
  }

  stop() {
    this.transport.stop();
    document.body.classList.remove("drawer-open", "members-open", "members-closed", "has-members", "panel-open");
    for (const [target, type, fn] of this.listeners) target.removeEventListener(type, fn);
    this.panelObserver.disconnect();
    clearTimeout(this.readTimer);
  }

  build() {
    const store = this.store;
    this.banner = new Banner(() => this.transport.retryNow());
    this.sidebar = new Sidebar(store, {
      select: (target) => this.switchTo(target.network.id, target.name),
      editNetwork: (net) => this.editNetwork(net),
      closeQuery: (target) => this.closeQuery(target),
      addNetwork: () => this.openPanel("./views/network_form.js", "openNetworkForm", null),
      search: () => this.openPanel("./views/search.js", "openSearch"),
      mentions: () => this.openPanel("./views/mentions.js", "openMentions"),
      settings: () => this.openPanel("./views/settings.js", "openSettings"),
    });
    this.topic = new TopicBar({
      onMenu: () => this.toggleDrawer(),
      onMembers: () => this.toggleMembers(),
      onMute: () => this.toggleMute(),
    });
    this.list = new MessageList(store, { nickClicked: (nick) => this.openQuery(store.current?.network, nick) });
    this.nicklist = new NickList((nick) => this.openQuery(store.current?.network, nick));
    this.input = new MessageInput({
      store,
      transport: this.transport,
      api,
      list: this.list,
      switchTo: (networkId, name) => this.switchTo(networkId, name),
      openQuery: (net, nick) => this.openQuery(net, nick, true),
      closeQuery: (target) => this.closeQuery(target),
      current: () => store.current,
    });

    const shell = el("div", "app-shell");
    const scrim = el("div", "drawer-scrim");
    scrim.addEventListener("click", () => this.toggleDrawer(false));
    const main = el("main", "chat");
    this.main = main;
    this.empty = el("div", "chat-empty");
    this.empty.hidden = true;
    main.append(this.topic.root, this.list.root, this.empty, this.input.root);
    this.panelBackdrop = el("div", "panel-backdrop");
    this.panelBackdrop.hidden = true;
    this.panel = el("div", "panel-host");
    this.panel.id = "panel";
    this.panel.setAttribute("role", "dialog");
    this.panel.setAttribute("aria-modal", "true");
    this.panel.tabIndex = -1;
    this.panelBackdrop.appendChild(this.panel);
    this.panelBackdrop.addEventListener("mousedown", (event) => {
      if (event.target === this.panelBackdrop) this.closePanel();
    });
    this.panelObserver = new MutationObserver(() => this.panelChanged());
    this.panelObserver.observe(this.panel, { childList: true, attributes: true, attributeFilter: ["hidden"] });
    shell.append(this.banner.root, this.sidebar.root, scrim, main, this.nicklist.root, this.panelBackdrop);
    root.replaceChildren(shell);
    const wide = !window.matchMedia("(max-width: 999px)").matches;
    this.topic.members.setAttribute("aria-pressed", String(wide && !document.body.classList.contains("members-closed")));
  }

  // --- conversations ------------------------------------------------------------

  openInitial() {
    let last = null;
    try {
      last = JSON.parse(localStorage.getItem(LAST_KEY) || "null");
    } catch (err) {
      last = null;
    }
    const targets = this.store.allTargets();
    const saved = last && this.store.find(last.network, last.name);
    const firstChannel = targets.find((t) => t.type === "channel");
    const target = saved || firstChannel || targets[0];
    if (target) this.switchTo(target.network.id, target.name);
    else this.showEmpty();
  }

  showEmpty() {
    this.store.setCurrent(null);
    this.topic.show(null);
    this.nicklist.show(null);
    this.list.root.hidden = true;
    this.input.root.hidden = true;
    this.empty.hidden = false;
    this.empty.replaceChildren(
      el("h2", "", "Welcome to Backchannel"),
      el("p", "", "No networks yet. Use “Add network” to connect to an IRC server."),
    );
    document.title = "Backchannel";
  }

  async switchTo(networkId, name = "", cursor = null) {
    const store = this.store;
    const id = Number(networkId);
    if (!store.networks.has(id)) await store.fetchNetwork(id);
    const net = store.networks.get(id);
    if (!net) return;
    const target = store.find(id, name ?? "") || store.target(net, name ?? "");
    const same = store.current === target;
    const previous = store.current;
    if (previous && !same && this.readTarget === previous) {
      // leaving a conversation whose read marker was about to be sent: send it now
      clearTimeout(this.readTimer);
      this.markRead();
    }
    if (previous && !same) this.forget(previous);
    store.setCurrent(target);
    try {
      localStorage.setItem(LAST_KEY, JSON.stringify({ network: id, name: target.name }));
    } catch (err) {
      // no storage: fine
    }
    this.empty.hidden = true;
    this.list.root.hidden = false;
    this.input.root.hidden = false;
    this.topic.show(target);
    this.nicklist.show(target);
    this.updateTitle();
    this.toggleDrawer(false);
    if (!same || cursor !== null) this.input.show(target);
    if (window.matchMedia("(pointer: fine)").matches && cursor === null) this.input.focus();
    if (same && cursor === null) {
      this.list.toLatest();
    } else {
      await this.list.show(target, cursor);
    }
    if (store.current === target) this.scheduleRead();
  }

  /** Frees most of a conversation's messages when it is left (history has them). */
  forget(target) {
    const log = target.log;
    if (!log.loaded || log.loading) return;
    if (!log.atEnd) {
      log.loaded = false; // a page around a search result: start from the end next time
      log.events = [];
      log.msgids = new Set();
    } else {
      this.store.trimFront(target, 400);
    }
  }

  step(delta) {
    const targets = this.store.allTargets();
    if (!targets.length) return;
    const index = targets.indexOf(this.store.current);
    const next = targets[(index + delta + targets.length) % targets.length];
    this.switchTo(next.network.id, next.name);
  }

  /** Close a private conversation here at once; the server tells the other sessions. */
  closeQuery(target) {
    if (!target || target.type !== "query") return undefined;
    this.store.removeTarget(target);
    return this.transport.enqueue({ type: "close", network: target.network.id, nick: target.name });
  }

  async openQuery(net, nick, fromCommand = false) {
    if (!net || !nick) return;
    if (nick === net.nick && !fromCommand) return;
    try {
      const answer = await api.post(`/api/networks/${net.id}/query`, { nick });
      const name = answer.target || nick;
      this.store.target(net, name, "query");
      await this.switchTo(net.id, name);
    } catch (err) {
      this.list.note(`Could not open a conversation with ${nick}: ${err.message}`, "error");
      if (fromCommand) throw err;
    }
  }

  // --- updates -------------------------------------------------------------------

  received(events) {
    this.store.apply(events);
    const notify = this.notify;
    if (!notify) return;
    for (const event of events) {
      if (event.self || !(event.highlight || notify.isPrivate?.(event))) continue;
      const net = this.store.networks.get(event.network);
      const current = this.store.current;
      const viewing = !!current && current.network === net && current.key === fold(event.target ?? "");
      try {
        notify.maybeNotify(event, { networkName: net ? net.name : "", viewing });
      } catch (err) {
        console.error(err);
      }
    }
  }

  changed(detail) {
    const store = this.store;
    let current = store.current;
    if (detail.networks) {
      if (current && current.network.targets.get(current.key) !== current) {
        // the conversation went away (we left the channel, or the network was removed)
        const net = store.networks.get(current.network.id);
        if (net) this.switchTo(net.id, "");
        else this.openInitial();
        current = store.current;
      }
      this.sidebar.render();
      this.topic.render();
      this.input.render();
      this.updateTitle();
      if (!store.networks.size && this.empty.hidden) this.showEmpty();
      else if (store.networks.size && !current && !this.opening) {
        this.opening = true;
        queueMicrotask(() => {
          this.opening = false;
          if (!this.store.current) this.openInitial();
        });
      }
    }
    if (!current) return;
    if (detail.appended.has(current)) this.list.appended();
    if (detail.members.has(current) || detail.networks) this.nicklist.render();
    if (detail.targets.has(current)) this.topic.render();
  }

  updateTitle() {
    const current = this.store.current;
    let mentions = 0;
    for (const net of this.store.networks.values()) {
      for (const t of net.targets.values()) mentions += t.mentions;
    }
    const name = current ? current.name || current.network.name : "";
    document.title = `${mentions ? `(${mentions}) ` : ""}${name ? `${name} — ` : ""}Backchannel`;
  }

  scheduleRead() {
    clearTimeout(this.readTimer);
    this.readTarget = this.store.current;
    this.readTimer = setTimeout(() => this.markRead(), 400);
  }

  /** Tells the server the viewed conversation is read up to its last event. */
  markRead() {
    this.readTarget = null;
    const target = this.store.current;
    if (!target || document.visibilityState !== "visible") return;
    const events = target.log.events;
    let cursor = target.lastCounted;
    if (target.log.atEnd && events.length) {
      const last = events[events.length - 1].cursor;
      if (cursor === null || Number(last) > Number(cursor)) cursor = last;
    }
    this.store.clearCounts(target);
    this.updateTitle();
    if (cursor === null) return;
    if (target.marker !== null && Number(cursor) <= Number(target.marker)) return;
    target.marker = String(cursor);
    this.transport.command("read", target.network.id, { target: target.name, cursor: String(cursor) }).catch(() => {});
  }

  visibility() {
    if (document.visibilityState === "visible") this.scheduleRead();
  }

  // --- panels -----------------------------------------------------------------------

  async openPanel(path, name, ...args) {
    let module;
    try {
      module = await import(path);
    } catch (err) {
      return; // not there (yet): nothing to show
    }
    if (typeof module[name] !== "function") return;
    this.returnFocus = document.activeElement;
    this.toggleDrawer(false);
    try {
      await module[name](this.ctx, ...args);
    } catch (err) {
      console.error(err);
    }
  }

  async editNetwork(net) {
    let network = net.config;
    try {
      network = await api.get(`/api/networks/${net.id}`);
      this.store.upsertNetwork(network);
    } catch (err) {
      if (!network) return;
    }
    this.openPanel("./views/network_form.js", "openNetworkForm", network);
  }

  panelChanged() {
    const open = this.panel.childElementCount > 0 && !this.panel.hidden;
    if (open === !this.panelBackdrop.hidden) return;
    this.panelBackdrop.hidden = !open;
    document.body.classList.toggle("panel-open", open);
    for (const region of [this.sidebar.root, this.main, this.nicklist.root]) region.inert = open;
    if (open) {
      const heading = this.panel.querySelector("h1, h2, h3");
      if (heading && !this.panel.hasAttribute("aria-label")) {
        if (!heading.id) heading.id = "panel-title";
        this.panel.setAttribute("aria-labelledby", heading.id);
      }
      if (!this.panel.contains(document.activeElement)) {
        const focusable = this.panel.querySelector("input, select, textarea, button, [href], [tabindex]:not([tabindex='-1'])");
        (focusable || this.panel).focus();
      }
    } else {
      this.panel.removeAttribute("aria-labelledby");
      if (this.panel.childElementCount) this.panel.replaceChildren();
      this.panel.hidden = false;
      const back = this.returnFocus;
      this.returnFocus = null;
      if (back && document.contains(back)) back.focus();
      this.topic.render();
      this.refreshNetworks();
    }
  }

  closePanel() {
    this.panel.replaceChildren();
  }

  /** After a panel closed: networks may have been added, changed or removed. */
  async refreshNetworks() {
    try {
      const { networks } = await api.get("/api/networks");
      const ids = new Set(networks.map((n) => n.id));
      for (const id of [...this.store.networks.keys()]) if (!ids.has(id)) this.store.removeNetwork(id);
      for (const network of networks) this.store.upsertNetwork(network);
      if (!this.store.current) this.openInitial();
    } catch (err) {
      // offline: the next change will tell
    }
  }

  // --- layout and keys -----------------------------------------------------------------

  toggleDrawer(open) {
    const body = document.body;
    const next = open === undefined ? !body.classList.contains("drawer-open") : open;
    if (next === body.classList.contains("drawer-open")) return;
    body.classList.toggle("drawer-open", next);
    this.topic.menu.setAttribute("aria-expanded", String(next));
    if (next) this.sidebar.focusCurrent();
  }

  /** Mutes or unmutes the desktop notifications of the viewed conversation. */
  toggleMute() {
    const target = this.store.current;
    const notify = this.notify;
    if (!target || target.name === "" || !notify || typeof notify.setMuted !== "function") return;
    notify.setMuted(target.network.id, target.name, !notify.isMuted(target.network.id, target.name));
    this.topic.render();
  }

  toggleMembers() {
    const narrow = window.matchMedia("(max-width: 999px)").matches;
    const body = document.body;
    if (narrow) body.classList.toggle("members-open");
    else body.classList.toggle("members-closed");
    const visible = narrow ? body.classList.contains("members-open") : !body.classList.contains("members-closed");
    this.topic.members.setAttribute("aria-pressed", String(visible));
  }

  keydown(event) {
    if (event.altKey && !event.ctrlKey && !event.metaKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
      if (document.querySelector("dialog[open]") || !this.panelBackdrop.hidden) return;
      event.preventDefault();
      this.step(event.key === "ArrowUp" ? -1 : 1);
      return;
    }
    if ((event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && event.key.toLowerCase() === "k") {
      event.preventDefault();
      openQuickJump(this.store, (target) => this.switchTo(target.network.id, target.name));
      return;
    }
    if (event.key === "Escape") {
      if (!this.panelBackdrop.hidden) {
        event.preventDefault();
        this.closePanel();
      } else if (document.body.classList.contains("drawer-open")) {
        this.toggleDrawer(false);
        this.topic.menu.focus();
      } else if (document.body.classList.contains("members-open")) {
        this.toggleMembers();
      }
      return;
    }
    // typing anywhere outside a field goes to the message input
    const active = document.activeElement;
    const inField = active && (active.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(active.tagName));
    if (
      !inField &&
      event.key.length === 1 &&
      !event.ctrlKey &&
      !event.metaKey &&
      !event.altKey &&
      this.panelBackdrop.hidden &&
      !document.querySelector("dialog[open]") &&
      !this.input.root.hidden
    ) {
      this.input.focus();
    }
  }
}

boot();
