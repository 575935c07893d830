// Add or edit a network: POST /api/networks, PATCH /api/networks/{id},
// DELETE, connect and disconnect. Secrets are never shown: an empty password
// field keeps the stored one.

import { alertBox, el, errorText, field, openPanel } from "./panel_kit.js";

const MECHANISMS = [
  ["", "none"],
  ["PLAIN", "PLAIN"],
  ["EXTERNAL", "EXTERNAL"],
  ["SCRAM-SHA-256", "SCRAM-SHA-256"],
];

function input(type, props = {}) {
  return el("input", { type, autocomplete: "off", spellcheck: false, ...props });
}

/** "#a, #b key, #c" → [{name}, {name, key}, {name}] */
export function parseChannels(text) {
  return String(text)
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [name, key] = part.split(/\s+/, 2);
      return key ? { name, key } : { name };
    });
}

function parseList(text) {
  return String(text).split(/[\s,]+/).filter(Boolean);
}

function orNull(text) {
  const value = String(text).trim();
  return value ? value : null;
}

function statusText(network) {
  if (!network.enabled) return "Disconnected (stays so until you connect it).";
  const status = network.status;
  if (!status) return network.running ? "Connecting…" : "Not running.";
  const states = {
    connecting: "Connecting…",
    connected: "Connected, registering…",
    registered: "Connected.",
    disconnected: "Disconnected.",
    failed: "Failed.",
  };
  let text = states[status.state] || status.state;
  if (status.reason) text += ` ${status.reason}`;
  if (status.next_attempt) text += " A new attempt is scheduled.";
  return text;
}

/** Opens the network form in ctx.panel; `network` (as GET /api/networks gives it) to edit. */
export function openNetworkForm(ctx, network = null) {
  if (network && network.host === undefined) {
    // a network from the store: its settings come from the API
    const id = network.id;
    const { body, close, isOpen } = openPanel(ctx, { title: `Network: ${network.name ?? id}`, name: "network" });
    const error = alertBox();
    body.append(error, el("p", { className: "panel-status", role: "status" }, "Loading…"));
    ctx.api.get(`/api/networks/${id}`).then(
      (data) => isOpen() && openNetworkForm(ctx, data),
      (err) => isOpen() && error.set(errorText(err)),
    );
    return { close };
  }
  network = network ? { ...network } : null;
  const editing = !!network;
  const { body, close, onClose } = openPanel(ctx, {
    title: editing ? `Network: ${network.name}` : "Add a network",
    name: "network",
  });
  const n = network || {};
  const sasl = n.sasl || null;

  const f = {
    name: input("text", { value: n.name || "", required: true, maxLength: 64 }),
    host: input("text", { value: n.host || "", required: true, placeholder: "irc.libera.chat" }),
    port: input("number", { value: n.port ? String(n.port) : "", min: 1, max: 65535 }),
    tls: input("checkbox", { checked: editing ? !!n.tls : true }),
    tlsVerify: input("checkbox", { checked: editing ? n.tls_verify !== false : true }),
    fingerprint: input("text", { value: n.fingerprint || "" }),
    nick: input("text", { value: n.nick || "", required: true }),
    altNicks: input("text", { value: (n.alt_nicks || []).join(", ") }),
    username: input("text", { value: n.username || "" }),
    realname: input("text", { value: n.realname || "" }),
    password: input("password", { autocomplete: "new-password" }),
    clearPassword: input("checkbox"),
    mechanism: el("select", {}, MECHANISMS.map(([value, label]) => el("option", { value }, label))),
    account: input("text", { value: (sasl && sasl.account) || "" }),
    saslPassword: input("password", { autocomplete: "new-password" }),
    channels: input("text", { value: (n.channels || []).map((c) => c.name).join(", ") }),
    autoCommands: el("textarea", { rows: 3, spellcheck: false }),
  };
  f.mechanism.value = (sasl && sasl.mechanism) || "";
  f.autoCommands.value = (n.auto_commands || []).join("\n");
  if (n.password_set) f.password.placeholder = "stored; leave empty to keep it";
  if (sasl && sasl.password_set) f.saslPassword.placeholder = "stored; leave empty to keep it";
  const syncPort = () => {
    f.port.placeholder = f.tls.checked ? "6697" : "6667";
  };
  f.tls.addEventListener("change", syncPort);
  syncPort();

  const error = alertBox();
  const status = el("p", { className: "panel-status", role: "status" });
  const save = el("button", { type: "submit", className: "panel-primary" }, "Save");

  const saslFields = el(
    "div",
    {},
    field("SASL account", f.account),
    field("SASL password", f.saslPassword),
  );
  const syncSasl = () => {
    saslFields.hidden = f.mechanism.value === "" || f.mechanism.value === "EXTERNAL";
  };
  f.mechanism.addEventListener("change", syncSasl);
  syncSasl();

  const form = el(
    "form",
    { className: "panel-form", noValidate: true }, // the API says what is wrong (role=alert)
    error,
    field("Name", f.name),
    el("div", { className: "panel-row panel-row-wide" }, field("Server", f.host), field("Port", f.port)),
    field("Use TLS", f.tls),
    field("Verify the certificate", f.tlsVerify, "Turn off only for servers with a self-signed certificate; a fingerprint is safer."),
    field("Fingerprint", f.fingerprint, "SHA-256 of the server certificate (hex), to accept exactly that certificate."),
    el("div", { className: "panel-row" }, field("Nick", f.nick), field("Alternate nicks", f.altNicks, "Comma-separated.")),
    el("div", { className: "panel-row" }, field("Username", f.username), field("Real name", f.realname)),
    field("Server password", f.password),
    n.password_set ? field("Remove the stored server password", f.clearPassword) : null,
    el(
      "fieldset",
      {},
      el("legend", {}, "Authentication"),
      field("SASL mechanism", f.mechanism),
      saslFields,
    ),
    field("Channels", f.channels, "Comma-separated; a key after the name: #chan key"),
    field("Commands on connect", f.autoCommands, "Raw IRC lines sent after connecting, one per line."),
    el("div", { className: "panel-actions" }, save),
  );
  body.append(form);

  function collect() {
    const out = {
      name: f.name.value.trim(),
      host: f.host.value.trim(),
      tls: f.tls.checked,
      tls_verify: f.tlsVerify.checked,
      fingerprint: orNull(f.fingerprint.value),
      nick: f.nick.value.trim(),
      alt_nicks: parseList(f.altNicks.value),
      username: orNull(f.username.value),
      realname: orNull(f.realname.value),
      channels: parseChannels(f.channels.value),
      auto_commands: f.autoCommands.value.split("\n").map((l) => l.trim()).filter(Boolean),
    };
    const port = f.port.value.trim();
    if (port) out.port = Number(port);
    else if (editing) out.port = null;
    if (f.password.value) out.password = f.password.value;
    else if (!editing || f.clearPassword.checked) out.password = null;
    const mechanism = f.mechanism.value;
    if (!mechanism) out.sasl = null;
    else {
      out.sasl = { mechanism };
      if (mechanism !== "EXTERNAL") {
        out.sasl.account = f.account.value.trim();
        if (f.saslPassword.value) out.sasl.password = f.saslPassword.value;
      }
    }
    return out;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.set("");
    save.disabled = true;
    status.textContent = "Saving…";
    try {
      const saved = editing
        ? await ctx.api.patch(`/api/networks/${network.id}`, collect())
        : await ctx.api.post("/api/networks", collect());
      if (ctx.store && typeof ctx.store.upsertNetwork === "function") ctx.store.upsertNetwork(saved);
      close();
      if (!editing && typeof ctx.switchTo === "function") ctx.switchTo(saved.id, "");
    } catch (err) {
      error.set(errorText(err));
      status.textContent = "";
      save.disabled = false;
    }
  });

  if (editing) {
    body.prepend(managementSection(ctx, network, { close, error, status, onClose }));
  } else {
    body.append(status);
  }
  f.name.focus();
  return { close };
}

function managementSection(ctx, network, { close, error, status, onClose }) {
  status.textContent = statusText(network);
  const section = el("section", { className: "panel-manage", "aria-label": "Connection" }, el("h3", {}, "Connection"), status);
  const actions = el("div", { className: "panel-actions" });
  section.append(actions);

  const act = async (button, work) => {
    error.set("");
    button.disabled = true;
    try {
      await work();
    } catch (err) {
      error.set(errorText(err));
    } finally {
      button.disabled = false;
    }
  };
  const update = (data) => {
    Object.assign(network, data);
    if (ctx.store && typeof ctx.store.upsertNetwork === "function") ctx.store.upsertNetwork(data);
    status.textContent = statusText(network);
    renderButtons();
  };

  const confirmBox = el("div", { className: "panel-confirm", role: "alertdialog", hidden: true });

  let shown = null;
  function renderButtons() {
    const state = network.status && network.status.state;
    const signature = `${network.enabled}:${state === "disconnected" || state === "failed"}`;
    if (signature === shown) return;
    shown = signature;
    const buttons = [];
    if (network.enabled) {
      const disconnect = el("button", { type: "button" }, "Disconnect");
      disconnect.addEventListener("click", () =>
        act(disconnect, async () => update(await ctx.api.post(`/api/networks/${network.id}/disconnect`))),
      );
      buttons.push(disconnect);
      if (state === "disconnected" || state === "failed") {
        const retry = el("button", { type: "button" }, "Retry now");
        retry.addEventListener("click", () =>
          act(retry, async () => update(await ctx.api.post(`/api/networks/${network.id}/connect`))),
        );
        buttons.push(retry);
      }
    } else {
      const connect = el("button", { type: "button" }, "Connect");
      connect.addEventListener("click", () =>
        act(connect, async () => update(await ctx.api.post(`/api/networks/${network.id}/connect`))),
      );
      buttons.push(connect);
    }
    const remove = el("button", { type: "button", className: "panel-danger" }, "Delete network");
    remove.addEventListener("click", () => showConfirm(remove));
    buttons.push(el("span", { className: "panel-spacer" }), remove);
    actions.replaceChildren(...buttons);
  }

  function showConfirm(opener) {
    const yes = el("button", { type: "button", className: "panel-danger-solid" }, "Yes, delete it");
    const no = el("button", { type: "button" }, "Cancel");
    const question = el(
      "p",
      { id: `confirm-${network.id}` },
      "Delete the network “",
      network.name,
      "” with all its scrollback? This cannot be undone.",
    );
    confirmBox.setAttribute("aria-labelledby", question.id);
    confirmBox.replaceChildren(question, el("div", { className: "panel-actions" }, yes, no));
    confirmBox.hidden = false;
    no.addEventListener("click", () => {
      confirmBox.hidden = true;
      opener.focus();
    });
    yes.addEventListener("click", () =>
      act(yes, async () => {
        await ctx.api.del(`/api/networks/${network.id}`);
        if (ctx.store && typeof ctx.store.removeNetwork === "function") ctx.store.removeNetwork(network.id);
        close();
      }),
    );
    no.focus();
  }

  renderButtons();
  section.append(confirmBox);

  // live status while the form is open
  const store = ctx.store;
  if (store && typeof store.addEventListener === "function" && store.networks instanceof Map) {
    const onChange = () => {
      const live = store.networks.get(network.id);
      if (!live) return;
      const changed = live.status !== network.status || live.enabled !== network.enabled;
      if (!changed) return;
      network.status = live.status;
      network.enabled = live.enabled;
      status.textContent = statusText(network);
      renderButtons();
    };
    store.addEventListener("change", onChange);
    onClose(() => store.removeEventListener("change", onChange));
  }
  return section;
}
