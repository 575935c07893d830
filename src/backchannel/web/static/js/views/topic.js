// The bar above the messages: the conversation's name and topic (or the
// network's connection status in its own buffer), the "Menu" button that
// opens the sidebar on small screens and the member list toggle.

import { rich } from "./messages.js";
import { statusLabel } from "./sidebar.js";

function icon(name) {
  const span = document.createElement("span");
  span.className = `icon icon-${name}`;
  span.setAttribute("aria-hidden", "true");
  return span;
}

export class TopicBar {
  constructor({ onMenu, onMembers, onMute }) {
    this.root = document.createElement("header");
    this.root.className = "topic-bar";
    this.menu = document.createElement("button");
    this.menu.type = "button";
    this.menu.className = "icon-button menu-button";
    this.menu.setAttribute("aria-label", "Menu");
    this.menu.setAttribute("aria-expanded", "false");
    this.menu.appendChild(icon("menu"));
    this.menu.addEventListener("click", onMenu);
    this.title = document.createElement("h1");
    this.title.className = "topic-title";
    this.topic = document.createElement("p");
    this.topic.className = "topic-text";
    const text = document.createElement("div");
    text.className = "topic-main";
    text.append(this.title, this.topic);
    this.members = document.createElement("button");
    this.members.type = "button";
    this.members.className = "icon-button members-button";
    this.members.setAttribute("aria-label", "Members");
    this.members.setAttribute("aria-pressed", "false");
    this.members.appendChild(icon("members"));
    this.members.addEventListener("click", onMembers);
    // desktop notifications of this conversation on or off; shown once the shell
    // gives isMuted (when ../notify.js has loaded)
    this.mute = document.createElement("button");
    this.mute.type = "button";
    this.mute.className = "icon-button mute-button";
    this.mute.setAttribute("aria-label", "Mute notifications");
    this.mute.setAttribute("aria-pressed", "false");
    this.mute.title = "Mute notifications of this conversation";
    this.mute.hidden = true;
    this.mute.appendChild(icon("bell"));
    if (onMute) this.mute.addEventListener("click", onMute);
    this.isMuted = null;
    this.root.append(this.menu, text, this.mute, this.members);
    this.target = null;
  }

  show(target) {
    this.target = target;
    this.render();
  }

  render() {
    const target = this.target;
    if (!target) {
      this.title.textContent = "Backchannel";
      this.topic.textContent = "";
      this.members.hidden = true;
      this.mute.hidden = true;
      return;
    }
    const net = target.network;
    this.members.hidden = target.type !== "channel";
    this.mute.hidden = !this.isMuted || target.name === "";
    this.mute.setAttribute("aria-pressed", String(!this.mute.hidden && !!this.isMuted(target)));
    if (target.name === "") {
      this.title.textContent = net.name;
      this.topic.textContent = `${statusLabel(net)}${net.nick ? ` as ${net.nick}` : ""}`;
      return;
    }
    this.title.textContent = target.name;
    if (target.type === "channel") {
      this.topic.replaceChildren(target.joined ? rich(target.topic) : document.createTextNode("You are not in this channel."));
      if (target.joined && !target.topic) this.topic.textContent = "No topic";
    } else {
      this.topic.textContent = `Private conversation on ${net.name}`;
    }
  }
}
