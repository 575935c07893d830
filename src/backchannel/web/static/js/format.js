// mIRC formatting and links → DOM, safely.
//
// Everything that comes from IRC is inserted as text nodes: this module never
// builds HTML from strings. The only elements it creates are <span> (styled
// runs, wrapper) and <a> (http:, https: and irc: links). Colours 00–98 are CSS
// classes (css/panels.css); hex colours (\x04RRGGBB) are set through the
// CSSOM after the value was checked to be six hex digits, which the CSP
// (style-src 'self') allows.

const BOLD = "\x02";
const COLOR = "\x03";
const HEX_COLOR = "\x04";
const RESET = "\x0F";
const MONOSPACE = "\x11";
const REVERSE = "\x16";
const ITALIC = "\x1D";
const STRIKE = "\x1E";
const UNDERLINE = "\x1F";

const TOGGLES = {
  [BOLD]: "bold",
  [ITALIC]: "italic",
  [UNDERLINE]: "underline",
  [STRIKE]: "strike",
  [MONOSPACE]: "mono",
  [REVERSE]: "reverse",
};

const FLAG_CLASSES = {
  bold: "irc-b",
  italic: "irc-i",
  underline: "irc-u",
  strike: "irc-s",
  mono: "irc-m",
};

// C0 controls (but tab), DEL and C1 controls that are not formatting: dropped.
const OTHER_CONTROL = /[\x00-\x08\x0A-\x1F\x7F-\x9F]/;

const LINK_SCHEMES = new Set(["http:", "https:", "irc:"]);
// A scheme at the start or after a character that is not a letter or digit.
const LINK_START = /(^|[^\p{L}\p{N}])((?:https?|irc):\/\/)/giu;
// What may not be part of a link: spaces, quotes and angle brackets, controls,
// and invisible or direction-changing characters (so a link cannot hide text).
const LINK_STOP = /[\s<>"`\x00-\x1F\x7F-\x9F\u00A0\u00AD\u061C\u115F\u1160\u180E\u200B-\u200F\u2028-\u202F\u205F-\u206F\u3000\u3164\uFEFF\uFFA0\uFFF9-\uFFFC]/u;
const TRAILING = /[.,;:!?'*]$/;
const PAIRS = { ")": "(", "]": "[", "}": "{" };

function emptyStyle() {
  return {
    bold: false, italic: false, underline: false, strike: false, mono: false,
    reverse: false, fg: null, bg: null,
  };
}

function isDigit(ch) {
  return ch >= "0" && ch <= "9";
}

function readDigits(text, i) {
  let j = i;
  while (j < text.length && j < i + 2 && isDigit(text[j])) j += 1;
  return j;
}

function isHex6(text, i) {
  return /^[0-9a-fA-F]{6}$/.test(text.slice(i, i + 6));
}

function colourNumber(digits) {
  const n = parseInt(digits, 10);
  return n >= 99 ? null : String(n).padStart(2, "0"); // 99: default colour
}

/** Parses a line into runs: [{text, style}], formatting codes removed. */
export function parseFormatting(text) {
  const runs = [];
  let style = emptyStyle();
  let buffer = "";
  const flush = () => {
    if (buffer) runs.push({ text: buffer, style: { ...style } });
    buffer = "";
  };
  const source = String(text ?? "");
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    if (TOGGLES[ch]) {
      flush();
      style[TOGGLES[ch]] = !style[TOGGLES[ch]];
      i += 1;
    } else if (ch === RESET) {
      flush();
      style = emptyStyle();
      i += 1;
    } else if (ch === COLOR) {
      flush();
      i += 1;
      const fgEnd = readDigits(source, i);
      if (fgEnd === i) {
        style.fg = null;
        style.bg = null;
        continue;
      }
      style.fg = colourNumber(source.slice(i, fgEnd));
      i = fgEnd;
      if (source[i] === "," && isDigit(source[i + 1] ?? "")) {
        const bgEnd = readDigits(source, i + 1);
        style.bg = colourNumber(source.slice(i + 1, bgEnd));
        i = bgEnd;
      }
    } else if (ch === HEX_COLOR) {
      flush();
      i += 1;
      if (!isHex6(source, i)) {
        style.fg = null;
        style.bg = null;
        continue;
      }
      style.fg = "#" + source.slice(i, i + 6).toLowerCase();
      i += 6;
      if (source[i] === "," && isHex6(source, i + 1)) {
        style.bg = "#" + source.slice(i + 1, i + 7).toLowerCase();
        i += 7;
      }
    } else {
      if (!OTHER_CONTROL.test(ch)) buffer += ch;
      i += 1;
    }
  }
  flush();
  return runs;
}

/** The text without any formatting codes or other control characters. */
export function stripFormatting(text) {
  return parseFormatting(text).map((run) => run.text).join("");
}

function trimLink(url) {
  let end = url.length;
  for (;;) {
    const last = url[end - 1];
    if (TRAILING.test(last)) {
      end -= 1;
    } else if (PAIRS[last]) {
      const body = url.slice(0, end);
      const opens = body.split(PAIRS[last]).length - 1;
      const closes = body.split(last).length - 1;
      if (closes > opens) end -= 1;
      else break;
    } else {
      break;
    }
  }
  return url.slice(0, end);
}

/** The href for a candidate link, or null when it is not a safe URL. */
function safeHref(candidate) {
  let url;
  try {
    url = new URL(candidate);
  } catch (e) {
    return null;
  }
  if (!LINK_SCHEMES.has(url.protocol)) return null;
  if (url.protocol !== "irc:" && !url.hostname) return null;
  return url.href;
}

/** Finds links in plain text: [{start, end, href}]. */
export function findLinks(text) {
  const links = [];
  LINK_START.lastIndex = 0;
  let match;
  while ((match = LINK_START.exec(text)) !== null) {
    const start = match.index + match[1].length;
    let end = start + match[2].length;
    while (end < text.length && !LINK_STOP.test(text[end])) end += 1;
    const candidate = trimLink(text.slice(start, end));
    const href = candidate.length > match[2].length ? safeHref(candidate) : null;
    if (href) {
      links.push({ start, end: start + candidate.length, href });
      LINK_START.lastIndex = start + candidate.length;
    } else {
      LINK_START.lastIndex = start + match[2].length;
    }
  }
  return links;
}

function classesFor(style) {
  const classes = [];
  for (const [flag, name] of Object.entries(FLAG_CLASSES)) {
    if (style[flag]) classes.push(name);
  }
  let fg = style.fg;
  let bg = style.bg;
  if (style.reverse) {
    classes.push("irc-rev");
    [fg, bg] = [bg, fg];
  }
  if (fg && fg[0] !== "#") classes.push("irc-fg-" + fg);
  if (bg && bg[0] !== "#") classes.push("irc-bg-" + bg);
  return { classes, fg, bg };
}

function styledNode(text, style) {
  const { classes, fg, bg } = classesFor(style);
  const node = document.createTextNode(text);
  if (!classes.length && !fg && !bg) return node;
  const span = document.createElement("span");
  if (classes.length) span.className = classes.join(" ");
  // hex colours: checked to be #rrggbb by the parser, set through the CSSOM
  if (fg && fg[0] === "#") span.style.color = fg;
  if (bg && bg[0] === "#") span.style.backgroundColor = bg;
  span.appendChild(node);
  return span;
}

function linkElement(href) {
  const a = document.createElement("a");
  a.href = href;
  a.rel = "noopener noreferrer";
  a.target = "_blank";
  a.className = "irc-link";
  return a;
}

/**
 * Renders an IRC text (formatting codes, links) as a DocumentFragment that
 * holds one <span class="irc-text"> (bidi-isolated) with text nodes, styled
 * <span>s and <a> links.
 */
export function renderText(text) {
  const fragment = document.createDocumentFragment();
  const wrapper = document.createElement("span");
  wrapper.className = "irc-text";
  fragment.appendChild(wrapper);

  const runs = parseFormatting(text);
  const plain = runs.map((run) => run.text).join("");
  const links = findLinks(plain);

  let pos = 0; // offset in plain text of the current run's start
  let linkIndex = 0;
  let anchor = null; // the open <a>, while inside a link
  for (const run of runs) {
    let offset = 0;
    while (offset < run.text.length) {
      const at = pos + offset;
      const link = links[linkIndex];
      let stop = run.text.length;
      if (link && at >= link.start && at < link.end) {
        if (!anchor) {
          anchor = linkElement(link.href);
          wrapper.appendChild(anchor);
        }
        stop = Math.min(stop, link.end - pos);
      } else if (link && link.start > at) {
        stop = Math.min(stop, link.start - pos);
      }
      (anchor || wrapper).appendChild(styledNode(run.text.slice(offset, stop), run.style));
      offset = stop;
      if (link && pos + offset >= link.end) {
        anchor = null;
        linkIndex += 1;
      }
    }
    pos += run.text.length;
  }
  return fragment;
}

/** IRC case folding (rfc1459: []\~ are the upper case of {}|^). */
export function casefold(name) {
  return String(name ?? "")
    .toLowerCase()
    .replace(/[[\]\\~]/g, (c) => ({ "[": "{", "]": "}", "\\": "|", "~": "^" })[c]);
}

/** A stable colour class for a nick: nick-c0 … nick-c15 (css/panels.css). */
export function nickClass(nick) {
  let hash = 0x811c9dc5; // FNV-1a, 32 bits
  for (const ch of casefold(nick)) {
    hash ^= ch.codePointAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return "nick-c" + (hash % 16);
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Whether a text mentions one of the words (e.g. our nick), as a whole word,
 * case-insensitively, formatting ignored.
 */
export function highlightWords(text, words) {
  const plain = casefold(stripFormatting(text));
  return words.some((word) => {
    const folded = casefold(word).trim();
    if (!folded) return false;
    const pattern = new RegExp("(^|[^\\p{L}\\p{N}_])" + escapeRegExp(folded) + "($|[^\\p{L}\\p{N}_])", "u");
    return pattern.test(plain);
  });
}
