// The message input ("Message"): Enter sends, Shift+Enter starts a new line,
// Tab completes nicks and channels, Up/Down recall sent lines, and text of
// several lines (typed or pasted) is sent after a confirmation in the page.

import { runLine } from "../commands.js";
import { Completer } from "../completion.js";

const HISTORY = 100;
const LINES_PER_SEND = 20;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A modal confirmation in the page; resolves true (confirmed) or false. */
export function confirmDialog({ title, text, preview, confirm, cancel = "Cancel" }) {
  return new Promise((resolve) => {
    const dialog = el("dialog", "confirm-dialog");
    const heading = el("h2", "", title);
    heading.id = `confirm-title-${Date.now()}`;
    dialog.setAttribute("aria-labelledby", heading.id);
    dialog.appendChild(heading);
    if (text) dialog.appendChild(el("p", "", text));
    if (preview) dialog.appendChild(el("pre", "paste-preview", preview));
    const actions = el("div", "dialog-actions");
    const no = el("button", "", cancel);
    no.type = "button";
    const yes = el("button", "primary", confirm);
    yes.type = "button";
    actions.append(no, yes);
    dialog.appendChild(actions);
    let answer = false;
    no.addEventListener("click", () => dialog.close());
    yes.addEventListener("click", () => {
      answer = true;
      dialog.close();
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(answer);
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    yes.focus();
  });
}

export class MessageInput {
  constructor(env) {
    this.env = env; // {store, transport, api, switchTo, openQuery, list, current()}
    this.history = [];
    this.position = 0; // == history.length: the draft
    this.draft = "";
    this.drafts = new Map(); // unsent text per conversation

    this.root = el("form", "composer");
    this.root.noValidate = true;
    this.nick = el("span", "composer-nick");
    const label = el("label", "visually-hidden", "Message");
    label.htmlFor = "message-input";
    this.input = el("textarea", "message-input");
    this.input.id = "message-input";
    this.input.rows = 1;
    this.input.autocomplete = "off";
    this.input.spellcheck = true;
    this.input.setAttribute("autocapitalize", "sentences");
    this.input.setAttribute("enterkeyhint", "send");
    this.send = el("button", "send-button");
    this.send.type = "submit";
    this.send.setAttribute("aria-label", "Send");
    this.send.appendChild(el("span", "icon icon-send")).setAttribute("aria-hidden", "true");
    this.root.append(this.nick, label, this.input, this.send);

    this.completer = new Completer(this.input, (prefix) => this.candidates(prefix));
    this.root.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (event) => this.keydown(event));
    this.input.addEventListener("paste", (event) => this.paste(event));
    this.input.addEventListener("input", () => this.autosize());
  }

  show(target) {
    if (this.target) this.drafts.set(this.target, this.input.value);
    this.target = target;
    this.input.value = this.drafts.get(target) || "";
    this.completer.reset();
    this.position = this.history.length;
    this.render();
    this.autosize();
  }

  render() {
    const target = this.target;
    if (!target) return;
    this.nick.textContent = target.network.nick || "";
    this.input.placeholder =
      target.name === "" ? `Commands to ${target.network.name} (/help)` : `Message ${target.name}`;
  }

  focus() {
    this.input.focus({ preventScroll: true });
  }

  autosize() {
    const input = this.input;
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  }

  candidates(prefix) {
    const target = this.target;
    if (!target) return [];
    const net = target.network;
    const out = [];
    if (/^[#&+!]/.test(prefix)) {
      for (const t of net.targets.values()) if (t.type === "channel") out.push(t.name);
      return out;
    }
    for (const member of target.members.values()) out.push(member.nick);
    if (target.type === "query") out.push(target.name);
    for (const t of net.targets.values()) if (t.type === "channel") out.push(t.name);
    return out;
  }

  keydown(event) {
    if (event.key === "Tab" && !event.ctrlKey && !event.altKey && !event.metaKey) {
      this.completer.tab(event);
      return;
    }
    if (event.key !== "Shift") this.completer.reset();
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.submit();
      return;
    }
    if ((event.key === "ArrowUp" || event.key === "ArrowDown") && !event.altKey && !event.ctrlKey && !event.shiftKey) {
      const input = this.input;
      const value = input.value;
      const caret = input.selectionStart;
      const onFirstLine = !value.slice(0, caret).includes("\n");
      const onLastLine = !value.slice(input.selectionEnd).includes("\n");
      if (event.key === "ArrowUp" && onFirstLine && this.position > 0) {
        event.preventDefault();
        if (this.position === this.history.length) this.draft = value;
        this.position -= 1;
        this.recall(this.history[this.position]);
      } else if (event.key === "ArrowDown" && onLastLine && this.position < this.history.length) {
        event.preventDefault();
        this.position += 1;
        this.recall(this.position === this.history.length ? this.draft : this.history[this.position]);
      }
    }
  }

  recall(text) {
    this.input.value = text;
    const end = text.length;
    this.input.setSelectionRange(end, end);
    this.autosize();
  }

  remember(text) {
    if (this.history[this.history.length - 1] !== text) this.history.push(text);
    if (this.history.length > HISTORY) this.history.shift();
    this.position = this.history.length;
    this.draft = "";
  }

  paste(event) {
    const text = event.clipboardData ? event.clipboardData.getData("text/plain") : "";
    const lines = text.replace(/\r\n?/g, "\n").replace(/\n+$/, "").split("\n");
    if (lines.length < 2) return;
    event.preventDefault();
    const input = this.input;
    const before = input.value.slice(0, input.selectionStart);
    const after = input.value.slice(input.selectionEnd);
    this.sendLines((before + lines.join("\n") + after).split("\n"), () => {
      input.value = before + lines.join("\n") + after;
      this.autosize();
    });
  }

  async submit() {
    const value = this.input.value;
    if (!value.trim() || !this.target) return;
    const lines = value.replace(/\r\n?/g, "\n").replace(/\n+$/, "").split("\n");
    if (lines.length > 1) {
      this.sendLines(lines, null);
      return;
    }
    this.input.value = "";
    this.autosize();
    this.drafts.delete(this.target);
    this.remember(value);
    this.run(value, this.target);
  }

  run(line, target) {
    runLine(line, target, this.env).catch((err) => this.error(err, target));
  }

  error(err, target) {
    if (this.env.current() === target) this.env.list.note(err.message || String(err), "error");
  }

  /** Several lines: confirm in the page, then send them (as text, in order). */
  async sendLines(lines, onCancel) {
    const target = this.target;
    const nonEmpty = lines.filter((line) => line.trim() !== "");
    if (!nonEmpty.length) return;
    if (target.name === "") {
      this.error(new Error("Several lines cannot be sent to the network's own buffer."), target);
      if (onCancel) onCancel();
      return;
    }
    const preview = nonEmpty.slice(0, 8).join("\n") + (nonEmpty.length > 8 ? `\n… (${nonEmpty.length - 8} more)` : "");
    const ok = await confirmDialog({
      title: `Send ${nonEmpty.length} lines?`,
      text: `This sends ${nonEmpty.length} messages to ${target.name}.`,
      preview,
      confirm: "Send all lines",
    });
    if (!ok) {
      if (onCancel) onCancel();
      this.focus();
      return;
    }
    this.input.value = "";
    this.autosize();
    this.drafts.delete(target);
    for (let i = 0; i < nonEmpty.length; i += LINES_PER_SEND) {
      const text = nonEmpty.slice(i, i + LINES_PER_SEND).join("\n");
      this.env.transport
        .enqueue({ type: "send", network: target.network.id, target: target.name, text })
        .catch((err) => this.error(err, target));
    }
    this.focus();
  }
}
