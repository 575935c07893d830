// Where the app is mounted: "/" or the operator's base_path (e.g. "/irc/"),
// which the server writes into <meta name="backchannel-base">. Every URL the
// page requests is built with url(), so it works under a sub-path too.

const meta = document.querySelector('meta[name="backchannel-base"]');

export const BASE = ((meta && meta.content) || "/").replace(/\/*$/, "/");

/** "/api/x" → BASE + "api/x"; other URLs unchanged. */
export function url(path) {
  return path.startsWith("/") ? BASE + path.slice(1) : path;
}
