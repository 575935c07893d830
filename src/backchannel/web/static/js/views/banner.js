// The connection banner (role="status"): Connecting / Offline / Reconnecting,
// with how many typed messages wait to be sent, and a "Reconnect now" button.
// Online over a fallback link (a proxy that breaks WebSockets), it says so
// discreetly; online over a WebSocket it is hidden.

export class Banner {
  constructor(onRetry) {
    this.root = document.createElement("div");
    this.root.className = "banner";
    this.root.setAttribute("role", "status");
    this.text = document.createElement("span");
    this.retry = document.createElement("button");
    this.retry.type = "button";
    this.retry.textContent = "Reconnect now";
    this.retry.hidden = true;
    this.retry.addEventListener("click", onRetry);
    this.root.append(this.text, this.retry);
    this.timer = null;
    this.info = null;
    this.setHidden(true);
  }

  setHidden(hidden) {
    this.root.classList.toggle("banner-hidden", hidden);
  }

  update(info) {
    this.info = info;
    clearInterval(this.timer);
    this.timer = null;
    this.render();
    if (info.retryAt) this.timer = setInterval(() => this.render(), 1000);
  }

  render() {
    const { state, kind, retryAt, queued } = this.info;
    const waiting = queued ? ` ${queued} ${queued === 1 ? "message waits" : "messages wait"} to be sent.` : "";
    let text = "";
    if (state === "connecting") text = "Connecting…";
    else if (state === "reconnecting" || state === "offline") {
      const seconds = retryAt ? Math.max(0, Math.ceil((retryAt - Date.now()) / 1000)) : 0;
      const when = seconds > 0 ? ` Retrying in ${seconds} s.` : "";
      text = state === "offline" ? `Offline.${when}` : `Reconnecting…${when}`;
    } else if (state === "online" && kind && kind !== "ws") {
      text = kind === "sse"
        ? "Connected over a server-sent event stream (WebSockets are unavailable)."
        : "Connected by long-polling (WebSockets and event streams are unavailable).";
    }
    this.text.textContent = text ? text + waiting : "";
    this.retry.hidden = !(state === "offline" || (state === "reconnecting" && retryAt));
    this.setHidden(!text);
    this.root.dataset.state = state;
    this.root.classList.toggle("banner-degraded", state === "online" && Boolean(text));
  }
}
