// Slash commands typed in the message input, mapped to the API: text and
// raw lines go through the transport's outbox (queued while offline), the
// rest to REST routes. Unknown commands are sent to the server as raw lines.

import { isChannelName } from "./store.js";

export const HELP = [
  ["/join #channel [key]", "join a channel"],
  ["/part [#channel] [reason]", "leave a channel (default: this one)"],
  ["/msg nick text", "send a private message"],
  ["/query nick [text]", "open a private conversation"],
  ["/close", "close this private conversation (in a channel: leave it)"],
  ["/me text", "send an action"],
  ["/notice target text", "send a notice"],
  ["/nick newnick", "change your nick"],
  ["/topic [text]", "show or set the channel's topic"],
  ["/whois nick", "ask who someone is"],
  ["/away [message]", "mark yourself away (no message: back)"],
  ["/quote line", "send a raw IRC line (also /raw)"],
  ["/clear", "clear this conversation's messages from the screen"],
  ["/help", "this list"],
  ["//text", "send text starting with /"],
];

export class CommandError extends Error {}

function words(text, count) {
  // the first `count` words, and the rest of the text
  const out = [];
  let rest = text.trimStart();
  for (let i = 0; i < count; i += 1) {
    const match = rest.match(/^(\S+)\s*/);
    if (!match) break;
    out.push(match[1]);
    rest = rest.slice(match[0].length);
  }
  return [out, rest];
}

/**
 * Runs one line typed in `target` (a store target). `env` has
 * {store, transport, api, switchTo(net, name), list (the message list)}.
 */
export async function runLine(line, target, env) {
  const net = target.network;
  const send = (fields) => env.transport.enqueue({ type: "send", network: net.id, ...fields });
  const raw = (text) => send({ raw: text });
  if (!line.startsWith("/") || line.startsWith("//")) {
    const text = line.startsWith("//") ? line.slice(1) : line;
    if (target.name === "") throw new CommandError("This is the network's own buffer: use /msg or /quote here.");
    return send({ target: target.name, text });
  }
  const [[name = ""], rest] = words(line.slice(1), 1);
  const command = name.toLowerCase();
  const args = rest.trim();
  const needArgs = (usage) => {
    if (!args) throw new CommandError(`Usage: ${usage}`);
  };
  switch (command) {
    case "join":
    case "j": {
      needArgs("/join #channel [key]");
      const [[channel, key]] = words(args, 2);
      const name = isChannelName(channel) ? channel : `#${channel}`;
      env.store.target(net, name, "channel");
      const done = env.transport.enqueue({ type: "join", network: net.id, channel: name, key: key || null });
      env.switchTo(net.id, name);
      return done;
    }
    case "part":
    case "leave": {
      let [[channel], reason] = words(args, 1);
      if (!channel || !isChannelName(channel)) {
        reason = args;
        channel = target.type === "channel" ? target.name : "";
      }
      if (!channel) throw new CommandError("Usage: /part #channel [reason]");
      return env.transport.enqueue({ type: "part", network: net.id, channel, reason: reason.trim() });
    }
    case "msg":
    case "privmsg": {
      const [[to], text] = words(args, 1);
      if (!to || !text) throw new CommandError("Usage: /msg nick text");
      return send({ target: to, text });
    }
    case "notice": {
      const [[to], text] = words(args, 1);
      if (!to || !text) throw new CommandError("Usage: /notice target text");
      return send({ target: to, text, notice: true });
    }
    case "query":
    case "q": {
      const [[nick], text] = words(args, 1);
      if (!nick) throw new CommandError("Usage: /query nick [text]");
      await env.openQuery(net, nick);
      if (text) return send({ target: nick, text });
      return undefined;
    }
    case "close":
    case "wc":
      if (target.type === "query") return env.closeQuery(target);
      if (target.type === "channel") {
        return env.transport.enqueue({ type: "part", network: net.id, channel: target.name, reason: args.trim() });
      }
      throw new CommandError("/close closes a private conversation or leaves a channel.");
    case "me":
      needArgs("/me text");
      if (target.name === "") throw new CommandError("/me needs a channel or a private conversation.");
      return send({ target: target.name, text: `/me ${args}` });
    case "nick":
      needArgs("/nick newnick");
      return raw(`NICK ${words(args, 1)[0][0]}`);
    case "topic":
      if (target.type !== "channel") {
        const [[channel], text] = words(args, 1);
        if (!channel || !isChannelName(channel)) throw new CommandError("Usage: /topic #channel [text]");
        return raw(text ? `TOPIC ${channel} :${text}` : `TOPIC ${channel}`);
      }
      return raw(args ? `TOPIC ${target.name} :${args}` : `TOPIC ${target.name}`);
    case "whois":
      needArgs("/whois nick");
      return raw(`WHOIS ${words(args, 1)[0][0]}`);
    case "away":
      return raw(args ? `AWAY :${args}` : "AWAY");
    case "back":
      return raw("AWAY");
    case "quote":
    case "raw":
      needArgs("/quote LINE");
      return raw(args);
    case "clear":
      env.list.clear();
      return undefined;
    case "help":
      for (const [usage, meaning] of HELP) env.list.note(`${usage} — ${meaning}`, "help");
      return undefined;
    case "":
      throw new CommandError("Type a command after /, or // to send text starting with /.");
    default:
      // anything else (/mode, /kick, /invite, /list...) goes to the server as it is
      return raw(`${name.toUpperCase()}${args ? ` ${args}` : ""}`);
  }
}
