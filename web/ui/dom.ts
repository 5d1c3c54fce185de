/** A tiny element builder: text always goes in as text, never as markup. */
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(key.replace(/^on/, ""), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Element, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.append(typeof c === "number" ? String(c) : c);
  }
}

export function hex(n: number): string {
  return "0x" + n.toString(16);
}

/**
 * 27262976 -> "27,262,976", as toLocaleString("en") writes a whole number, without loading the
 * locale data on the first call (tens of milliseconds before the first status line, issue 14).
 */
export function groupDigits(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString("en");
  const digits = String(Math.abs(n));
  let out = "";
  for (let end = digits.length; end > 0; end -= 3) out = (end > 3 ? "," : "") + digits.slice(Math.max(0, end - 3), end) + out;
  return (n < 0 ? "-" : "") + out;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const units = ["KiB", "MiB", "GiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]} (${groupDigits(n)} bytes)`;
}

/** Inserts SVG markup made by src/report/svg.ts (which escapes every name from the file). */
export function svgElement(markup: string): Element {
  const holder = document.createElement("div");
  holder.innerHTML = markup;
  const svg = holder.firstElementChild;
  if (!svg) throw new Error("empty SVG");
  svg.classList.add("kimg-themed");
  return svg;
}
