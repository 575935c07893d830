// Small DOM helpers shared by the panels (network form, search, mentions,
// settings). Text is always set as text (textContent / text nodes).

const cleanups = new WeakMap(); // panel element → closes what is open in it
let nextId = 0;

/** el("button", {type: "button", className: "x"}, "text", child, …) */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === "className") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "on") {
      for (const [type, handler] of Object.entries(value)) node.addEventListener(type, handler);
    } else if (key.startsWith("aria-") || key === "role" || key === "for") node.setAttribute(key, String(value));
    else node[key] = value;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function uid(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** A labelled control: <div class="panel-field"><label for>text</label>control hint</div> */
export function field(labelText, control, hint = null) {
  if (!control.id) control.id = uid("f");
  const row = el("div", { className: "panel-field" }, el("label", { for: control.id }, labelText));
  if (control.type === "checkbox") {
    row.classList.add("panel-field-check");
    row.prepend(control);
  } else {
    row.appendChild(control);
  }
  if (hint) {
    const note = el("div", { className: "panel-hint", id: uid("h") }, hint);
    control.setAttribute("aria-describedby", note.id);
    row.appendChild(note);
  }
  return row;
}

/** The message of an API error (Error with .code/.status/.message), for people. */
export function errorText(error) {
  if (!error) return "Something went wrong.";
  return error.message || String(error);
}

/** An alert region: set(text) shows it, set("") hides it. */
export function alertBox() {
  const box = el("div", { className: "panel-error", role: "alert", hidden: true });
  box.set = (text) => {
    box.textContent = text || "";
    box.hidden = !text;
    if (text) box.scrollIntoView({ block: "nearest" });
  };
  return box;
}

/** "2026-11-24 05:02" in local time, or "" for a bad value. */
export function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Closes what is open in `panel`; `replaced`: another panel opens at once (no close hooks). */
export function closePanel(panel, replaced = false) {
  const cleanup = cleanups.get(panel);
  if (cleanup) cleanup(replaced);
}

/**
 * Opens a panel in ctx.panel: clears it, adds a header with the title and a
 * "Close" button, closes on Escape. Returns {root, body, close, isOpen,
 * onClose(fn)} (fn runs when the panel closes or is replaced).
 * Closing empties and hides the container, dispatches "panel-close" on it
 * and calls ctx.onPanelClose / ctx.closePanel when the shell gave one.
 */
export function openPanel(ctx, { title, name }) {
  const panel = ctx.panel;
  closePanel(panel, true);
  const heading = el("h2", { className: "panel-title", id: uid("t") }, title);
  const closeButton = el("button", { type: "button", className: "panel-close", "aria-label": "Close", title: "Close" }, "×");
  const body = el("div", { className: "panel-body" });
  const root = el(
    "section",
    { className: `panel panel-${name}`, "aria-labelledby": heading.id },
    el("header", { className: "panel-header" }, heading, closeButton),
    body,
  );
  const onKey = (event) => {
    if (event.key === "Escape" && !event.defaultPrevented) {
      event.preventDefault();
      close();
    }
  };
  let closed = false;
  const finalizers = [];
  function close(replaced = false) {
    if (closed) return;
    closed = true;
    for (const fn of finalizers.splice(0)) fn();
    observer.disconnect();
    document.removeEventListener("keydown", onKey);
    if (cleanups.get(panel) === close) cleanups.delete(panel);
    root.remove();
    if (replaced === true) return;
    if (!panel.firstElementChild) panel.hidden = true;
    panel.dispatchEvent(new CustomEvent("panel-close", { detail: { name } }));
    const hook = ctx.onPanelClose || ctx.closePanel;
    if (typeof hook === "function") hook(name);
  }
  closeButton.addEventListener("click", () => close());
  document.addEventListener("keydown", onKey);
  // the shell may empty the container itself (backdrop click, its own Escape):
  // then only clean up
  const observer = new MutationObserver(() => {
    if (!panel.contains(root)) close(true);
  });
  observer.observe(panel, { childList: true });
  cleanups.set(panel, close);
  panel.replaceChildren(root);
  panel.hidden = false;
  const onClose = (fn) => finalizers.push(fn);
  return { root, body, close, isOpen: () => !closed, onClose };
}

/** The networks the shell knows: [{id, name}] (from ctx.store, best effort). */
export function knownNetworks(ctx) {
  const store = ctx.store || {};
  let list = null;
  if (typeof store.networks === "function") list = store.networks();
  else if (typeof store.getNetworks === "function") list = store.getNetworks();
  else if (store.networks) list = store.networks;
  else if (store.state && store.state.networks) list = store.state.networks;
  if (!list) return [];
  const values = list instanceof Map ? [...list.values()] : Array.isArray(list) ? list : Object.values(list);
  return values.filter((n) => n && n.id !== undefined);
}

export function networkName(ctx, id) {
  const found = knownNetworks(ctx).find((n) => String(n.id) === String(id));
  return found ? found.name : `network ${id}`;
}
