// The sidebar, a navigation landmark named "Networks": each network (its
// own buffer, named like the network, with its connection status) and its
// channels and private conversations, with unread and mention badges kept
// out of the buttons' names. Also the Ctrl+K "jump to conversation" box.

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(className, label, text = label) {
  const b = el("button", className, text);
  b.type = "button";
  if (label !== text) b.setAttribute("aria-label", label);
  return b;
}

/** "Connected", "Connecting…", "Disconnected"... for a network. */
export function statusLabel(net) {
  const state = net.status ? net.status.state : null;
  if (!net.enabled) return "Disconnected";
  switch (state) {
    case "registered":
      return "Connected";
    case "connecting":
    case "connected":
      return "Connecting…";
    case "disconnected":
      return net.status.next_attempt ? "Reconnecting…" : "Disconnected";
    case "failed":
      return "Connection failed";
    default:
      return "Connecting…";
  }
}

function statusClass(net) {
  const state = net.status ? net.status.state : "none";
  return `net-status state-${net.enabled ? state : "disabled"}`;
}

let uid = 0;

export class Sidebar {
  constructor(store, handlers) {
    this.store = store;
    this.handlers = handlers; // {select(target), editNetwork(net), addNetwork(), search(), mentions(), settings()}
    this.root = el("nav", "sidebar");
    this.root.id = "sidebar";
    this.root.setAttribute("aria-label", "Networks");

    const head = el("div", "sidebar-head");
    head.appendChild(el("span", "brand", "Backchannel"));
    const tools = el("div", "sidebar-tools");
    const tool = (name, icon, action) => {
      const b = button("tool-button", name, "");
      b.append(el("span", "tool-icon", icon), el("span", "tool-label", name));
      b.querySelector(".tool-icon").setAttribute("aria-hidden", "true");
      b.removeAttribute("aria-label");
      b.addEventListener("click", action);
      return b;
    };
    tools.append(
      tool("Search", "⌕", () => handlers.search()),
      tool("Mentions", "@", () => handlers.mentions()),
      tool("Settings", "⚙", () => handlers.settings()),
    );
    head.appendChild(tools);

    this.list = el("ul", "network-list");
    this.empty = el("p", "sidebar-empty", "No networks yet.");
    const add = button("add-network", "Add network");
    add.addEventListener("click", () => handlers.addNetwork());
    this.root.append(head, this.list, this.empty, add);

    this.items = new Map(); // "id/key" → {button, badge, description, target}
    this.signature = "";
    this.list.addEventListener("click", (event) => {
      const b = event.target.closest("button");
      if (!b) return;
      if (b.dataset.edit) {
        const net = this.store.networks.get(Number(b.dataset.edit));
        if (net) this.handlers.editNetwork(net);
        return;
      }
      if (b.dataset.close) {
        const item = this.items.get(b.dataset.close);
        if (item) this.handlers.closeQuery(item.target);
        return;
      }
      const item = this.items.get(b.dataset.key);
      if (item) this.handlers.select(item.target);
    });
  }

  render() {
    const groups = this.store.list();
    const signature = groups
      .map(({ net, targets }) => `${net.id}:${net.name}|${targets.map((t) => `${t.key}=${t.name}`).join(",")}`)
      .join(";");
    if (signature !== this.signature) {
      this.signature = signature;
      this.build(groups);
    }
    this.update(groups);
  }

  build(groups) {
    const focused = document.activeElement && this.list.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    this.items.clear();
    const fragment = document.createDocumentFragment();
    for (const { net, server, targets } of groups) {
      const li = el("li", "network");
      li.dataset.id = net.id;
      const row = el("div", "network-row");
      const serverButton = this.item(server, `${net.name}`, "target server-target");
      row.appendChild(serverButton);
      const status = el("span", statusClass(net), statusLabel(net));
      status.dataset.status = net.id;
      status.id = `net-status-${net.id}`;
      // named "Edit network" (not after the network, whose name stays unique to
      // its own button); the network's name and status describe it
      const edit = button("icon-button edit-network", "Edit network", "⋯");
      edit.dataset.edit = net.id;
      const nameSpan = serverButton.querySelector(".target-name");
      nameSpan.id = `net-name-${net.id}`;
      edit.setAttribute("aria-describedby", `${nameSpan.id} ${status.id}`);
      row.append(status, edit);
      li.appendChild(row);
      const list = el("ul", "targets");
      for (const target of targets) {
        const item = el("li");
        item.appendChild(this.item(target, target.name, `target ${target.type}-target`));
        if (target.type === "query") {
          const close = button("icon-button close-query", `Close ${target.name}`, "×");
          close.dataset.close = `${net.id}/${target.key}`;
          item.classList.add("closable");
          item.appendChild(close);
        }
        list.appendChild(item);
      }
      li.appendChild(list);
      fragment.appendChild(li);
    }
    this.list.replaceChildren(fragment);
    this.empty.hidden = groups.length > 0;
    if (focused && this.items.has(focused)) this.items.get(focused).button.focus();
  }

  item(target, name, className) {
    const key = `${target.network.id}/${target.key}`;
    const b = button(className, name, "");
    b.dataset.key = key;
    b.appendChild(el("span", "target-name", name));
    const badge = el("span", "badge");
    badge.setAttribute("aria-hidden", "true");
    badge.hidden = true;
    const description = el("span", "visually-hidden");
    description.id = `target-desc-${++uid}`;
    description.hidden = true;
    b.append(badge, description);
    this.items.set(key, { button: b, badge, description, target });
    return b;
  }

  update(groups) {
    const current = this.store.current;
    for (const item of this.items.values()) {
      const t = item.target;
      const active = t === current;
      if (active) item.button.setAttribute("aria-current", "page");
      else item.button.removeAttribute("aria-current");
      item.button.classList.toggle("active", active);
      item.button.classList.toggle("parted", t.type === "channel" && !t.joined);
      item.button.classList.toggle("has-unread", t.unread > 0);
      item.button.classList.toggle("has-mentions", t.mentions > 0);
      const count = Math.max(t.unread, t.mentions);
      item.badge.hidden = count === 0;
      item.badge.textContent = count > 999 ? "999+" : String(count);
      item.badge.classList.toggle("mention", t.mentions > 0);
      const words = [];
      if (t.unread) words.push(`${t.unread} unread`);
      if (t.mentions) words.push(`${t.mentions} ${t.mentions === 1 ? "mention" : "mentions"}`);
      if (t.type === "channel" && !t.joined) words.push("not joined");
      item.description.textContent = words.join(", ");
      if (words.length) item.button.setAttribute("aria-describedby", item.description.id);
      else item.button.removeAttribute("aria-describedby");
    }
    for (const { net } of groups) {
      const status = this.list.querySelector(`[data-status="${net.id}"]`);
      if (status) {
        status.className = statusClass(net);
        status.textContent = statusLabel(net);
      }
    }
  }

  focusCurrent() {
    const current = this.store.current;
    if (!current) return;
    const item = this.items.get(`${current.network.id}/${current.key}`);
    if (item) item.button.focus();
  }
}

/** Ctrl+K: a box filtering conversations by name; Enter opens the first (or the chosen) one. */
export function openQuickJump(store, select) {
  if (document.querySelector("dialog.quick-jump")) return;
  const dialog = el("dialog", "quick-jump");
  dialog.setAttribute("aria-label", "Jump to conversation");
  const input = el("input", "quick-jump-input");
  input.type = "text";
  input.setAttribute("aria-label", "Jump to conversation");
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "true");
  input.setAttribute("aria-controls", "quick-jump-list");
  input.placeholder = "Jump to…";
  input.autocomplete = "off";
  input.spellcheck = false;
  const list = el("ul", "quick-jump-list");
  list.id = "quick-jump-list";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "Conversations");
  dialog.append(input, list);
  document.body.appendChild(dialog);

  let matches = [];
  let selected = 0;
  const labelOf = (t) => (t.name === "" ? t.network.name : t.name);
  const render = () => {
    const query = input.value.trim().toLowerCase();
    const all = store.allTargets();
    matches = all.filter((t) => labelOf(t).toLowerCase().includes(query));
    // names that start with the query first, then unread ones
    matches.sort((a, b) => {
      const sa = labelOf(a).toLowerCase().replace(/^[#&]+/, "").startsWith(query.replace(/^[#&]+/, "")) ? 0 : 1;
      const sb = labelOf(b).toLowerCase().replace(/^[#&]+/, "").startsWith(query.replace(/^[#&]+/, "")) ? 0 : 1;
      return sa - sb || (b.unread > 0) - (a.unread > 0);
    });
    matches = matches.slice(0, 50);
    selected = Math.min(selected, Math.max(0, matches.length - 1));
    list.replaceChildren(
      ...matches.map((t, i) => {
        const li = el("li", "quick-jump-option");
        li.id = `quick-jump-${i}`;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", String(i === selected));
        li.append(el("span", "option-name", labelOf(t)));
        if (t.name !== "" || store.networks.size > 1) li.append(el("span", "option-network", t.name === "" ? "network" : t.network.name));
        li.addEventListener("mousedown", (event) => {
          event.preventDefault();
          pick(t);
        });
        return li;
      }),
    );
    if (matches.length) input.setAttribute("aria-activedescendant", `quick-jump-${selected}`);
    else input.removeAttribute("aria-activedescendant");
  };
  const close = () => {
    dialog.close();
    dialog.remove();
  };
  const pick = (target) => {
    close();
    if (target) select(target);
  };
  input.addEventListener("input", () => {
    selected = 0;
    render();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!matches.length) return;
      selected = (selected + (event.key === "ArrowDown" ? 1 : -1) + matches.length) % matches.length;
      render();
      list.children[selected]?.scrollIntoView({ block: "nearest" });
    } else if (event.key === "Enter") {
      event.preventDefault();
      pick(matches[selected]);
    }
  });
  dialog.addEventListener("close", () => dialog.remove());
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) close();
  });
  render();
  dialog.showModal();
  input.focus();
}
