// Tab completion in the message input: nicks of the current channel and
// channel names. Tab again cycles through the matches (Shift+Tab goes back);
// a nick completed at the start of the line gets ": ".

export class Completer {
  /** `candidates(prefix)` → names that may complete `prefix` (any case). */
  constructor(input, candidates) {
    this.input = input;
    this.candidates = candidates;
    this.cycle = null;
    input.addEventListener("input", () => {
      if (!this.applying) this.cycle = null;
    });
    input.addEventListener("click", () => {
      this.cycle = null;
    });
  }

  reset() {
    this.cycle = null;
  }

  /** Handles a Tab keydown; true when it completed (the default was prevented). */
  tab(event) {
    const input = this.input;
    if (!this.cycle) {
      const caret = input.selectionStart;
      if (caret !== input.selectionEnd) return false;
      const before = input.value.slice(0, caret);
      const start = before.search(/\S*$/);
      const prefix = before.slice(start);
      if (!prefix) return false;
      const lower = prefix.toLowerCase();
      const seen = new Set();
      const matches = [];
      for (const name of this.candidates(prefix)) {
        const key = name.toLowerCase();
        if (key.startsWith(lower) && !seen.has(key)) {
          seen.add(key);
          matches.push(name);
        }
      }
      event.preventDefault();
      if (!matches.length) return true;
      matches.sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
      this.cycle = { start, end: caret, matches, index: -1 };
    } else {
      event.preventDefault();
    }
    const cycle = this.cycle;
    const step = event.shiftKey ? -1 : 1;
    cycle.index = (cycle.index + step + cycle.matches.length) % cycle.matches.length;
    const name = cycle.matches[cycle.index];
    const isChannel = /^[#&+!]/.test(name);
    const suffix = cycle.start === 0 && !isChannel ? ": " : " ";
    const value = input.value;
    const after = value.slice(cycle.end).replace(/^(: | )/, "");
    const inserted = name + suffix;
    this.applying = true;
    input.value = value.slice(0, cycle.start) + inserted + after;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    this.applying = false;
    cycle.end = cycle.start + name.length;
    const caret = cycle.start + inserted.length;
    input.setSelectionRange(caret, caret);
    return true;
  }
}
