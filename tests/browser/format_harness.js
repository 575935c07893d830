// Test harness for js/format.js and js/notify.js (tests/browser/test_format.py):
// exposes them on window.fmt / window.notify and records CSP violations in
// window.__csp.
import * as fmt from "/static/js/format.js";
import * as notify from "/static/js/notify.js";

window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});

const out = document.getElementById("out");

/** Renders `text` into #out (replacing what was there); returns #out's HTML. */
window.render = (text) => {
  out.replaceChildren(fmt.renderText(text));
  return out.innerHTML;
};

/** Appends renderings of all `texts`, each in its own div. */
window.renderAll = (texts) => {
  out.replaceChildren();
  for (const text of texts) {
    const line = document.createElement("div");
    line.appendChild(fmt.renderText(text));
    out.appendChild(line);
  }
};

window.fmt = fmt;
window.notify = notify;
window.__ready = true;
