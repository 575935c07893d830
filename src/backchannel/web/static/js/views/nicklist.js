// The member list of the viewed channel, grouped by rank (~ & @ % +) with
// counts. Clicking a nick opens a private conversation with them.

import { PREFIX_SYMBOLS } from "../store.js";
import { nickClass } from "./messages.js";

const GROUPS = [
  ["~", "Owners"],
  ["&", "Admins"],
  ["@", "Operators"],
  ["%", "Half-operators"],
  ["+", "Voiced"],
  ["", "Members"],
];

export class NickList {
  constructor(onPick) {
    this.onPick = onPick;
    this.root = document.createElement("aside");
    this.root.className = "nicklist";
    this.root.setAttribute("aria-label", "Members");
    this.heading = document.createElement("h2");
    this.heading.className = "nicklist-count";
    this.body = document.createElement("div");
    this.body.className = "nicklist-groups";
    this.root.append(this.heading, this.body);
    this.root.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-nick]");
      if (button) this.onPick(button.dataset.nick);
    });
    this.target = null;
  }

  show(target) {
    this.target = target;
    this.render();
  }

  render() {
    const target = this.target;
    const channel = target && target.type === "channel";
    this.root.hidden = !channel;
    document.body.classList.toggle("has-members", !!channel);
    if (!channel) return;
    const groups = new Map(GROUPS.map(([symbol]) => [symbol, []]));
    for (const member of target.members.values()) {
      const top = member.prefixes ? member.prefixes[0] : "";
      (groups.get(PREFIX_SYMBOLS.includes(top) ? top : "") || groups.get("")).push(member);
    }
    const total = target.members.size;
    this.heading.textContent = target.joined ? `${total} ${total === 1 ? "member" : "members"}` : "Not in the channel";
    const fragment = document.createDocumentFragment();
    for (const [symbol, label] of GROUPS) {
      const members = groups.get(symbol);
      if (!members.length) continue;
      members.sort((a, b) => a.nick.toLowerCase().localeCompare(b.nick.toLowerCase()));
      const section = document.createElement("section");
      section.className = "nick-group";
      const title = document.createElement("h3");
      title.textContent = `${label} (${members.length})`;
      const list = document.createElement("ul");
      for (const member of members) {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = `nick-button ${nickClass(member.nick)}`;
        button.dataset.nick = member.nick;
        button.setAttribute("aria-label", member.nick);
        if (symbol) {
          const prefix = document.createElement("span");
          prefix.className = "prefix";
          prefix.setAttribute("aria-hidden", "true");
          prefix.textContent = symbol;
          button.appendChild(prefix);
        }
        button.appendChild(document.createTextNode(member.nick));
        item.appendChild(button);
        list.appendChild(item);
      }
      section.append(title, list);
      fragment.appendChild(section);
    }
    this.body.replaceChildren(fragment);
  }
}
