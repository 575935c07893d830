// Public (gateway) mode: a guest picks one of the allowed servers, a nick and
// channels; POST /api/guest starts the guest session, POST /api/networks
// connects.

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function field(id, label, input) {
  const row = el("p", "field");
  const l = el("label", "", label);
  l.htmlFor = id;
  input.id = id;
  input.name = id;
  row.append(l, input);
  return row;
}

const TLS_PORTS = new Set([6697, 7070, 9999]);

/** "host:port" → the fields of POST /api/networks. */
export function serverFields(server) {
  const text = String(server).trim();
  const tlsMark = /:\+\d+$/.test(text);
  const clean = text.replace(/:\+(\d+)$/, ":$1");
  const match = clean.match(/^(\[[^\]]+\]|[^:]+|.*?)(?::(\d+))?$/);
  const host = match ? match[1].replace(/^\[|\]$/g, "") : clean;
  const port = match && match[2] ? Number(match[2]) : null;
  const fields = { host };
  if (port) fields.port = port;
  fields.tls = tlsMark || (port !== null && TLS_PORTS.has(port));
  return fields;
}

function hostName(server) {
  return serverFields(server).host;
}

/** Renders the form into `root`; calls `onConnected()` once the network exists. */
export function showConnect(root, api, config, onConnected) {
  const main = el("main", "auth-page");
  const card = el("section", "auth-card");
  const title = el("h1", "", "Backchannel");
  const intro = el("p", "auth-note", "Chat on IRC from your browser: choose a nick and the channels to join.");
  const form = el("form", "auth-form");
  form.noValidate = true;
  const servers = config.servers || [];
  const server = el("select");
  for (const s of servers) {
    const option = el("option", "", s);
    option.value = s;
    server.appendChild(option);
  }
  const nick = el("input");
  nick.autocomplete = "nickname";
  nick.spellcheck = false;
  nick.autocapitalize = "none";
  nick.maxLength = 30;
  nick.required = true;
  const channels = el("input");
  channels.spellcheck = false;
  channels.autocapitalize = "none";
  channels.placeholder = "#channel, #another";
  const error = el("p", "form-error");
  error.setAttribute("role", "alert");
  const submit = el("button", "primary", "Connect");
  submit.type = "submit";
  const serverRow = field("connect-server", "Server", server);
  serverRow.hidden = servers.length === 0;
  form.append(serverRow, field("connect-nick", "Nick", nick), field("connect-channels", "Channels", channels), error, submit);
  if (!servers.length) {
    submit.disabled = true;
    error.textContent = "This gateway has no IRC server configured.";
  }
  card.append(title, intro, form);
  main.appendChild(card);
  root.replaceChildren(main);
  nick.focus();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const name = nick.value.trim();
    if (!name) {
      error.textContent = "Choose a nick.";
      nick.focus();
      return;
    }
    const list = channels.value
      .split(/[\s,]+/)
      .map((c) => c.trim())
      .filter(Boolean)
      .map((c) => (/^[#&+!]/.test(c) ? c : `#${c}`));
    submit.disabled = true;
    try {
      await api.post("/api/guest", {});
      const chosen = server.value || servers[0];
      await api.post("/api/networks", {
        name: hostName(chosen),
        ...serverFields(chosen),
        nick: name,
        channels: list.map((c) => ({ name: c })),
      });
      onConnected();
    } catch (err) {
      error.textContent = err.message || "Connecting failed.";
    } finally {
      submit.disabled = false;
    }
  });
}
