/**
 * A kernel .config read, and two compared, with the meaning of the kernel's scripts/diffconfig
 * (Python 3, "originally written in 2006 by Matt Mackall"), whose reader is:
 *
 * ```python
 * def readconfig(config_file):
 *     d = {}
 *     for line in config_file:
 *         line = line[:-1]
 *         if line[:7] == "CONFIG_":
 *             name, val = line[7:].split("=", 1)
 *             d[name] = val
 *         if line[-11:] == " is not set":
 *             d[line[9:-11]] = "n"
 *     return d
 * ```
 *
 * Removed options are listed first, then changed ones, then added ones, each group sorted by
 * name; the text is `-NAME value`, ` NAME old -> new`, `+NAME value` (names without "CONFIG_",
 * values as written, quotes included). `-m` (merge style) prints the new values as .config lines.
 */

/** One option of a .config: its name without "CONFIG_", and its value as written ("y", "m", "14", "\"quoted\""), "n" for "# CONFIG_X is not set". */
export interface ConfigOption {
  name: string;
  value: string;
}

/**
 * The options of a .config in file order, as diffconfig's readconfig reads them: a later line
 * for the same option replaces the value but keeps the first position. Python's text mode splits
 * lines at "\n", "\r\n" and "\r", and readconfig drops each line's last character, which is the
 * newline except on a last line without one: that line loses a real character there too, and
 * so it does here. A "CONFIG_" line without "=" (where diffconfig stops with a ValueError) is
 * skipped.
 */
export function readConfig(text: string): Map<string, string> {
  const options = new Map<string, string>();
  const pattern = /\r\n|\r|\n/g;
  let start = 0;
  for (;;) {
    const match = pattern.exec(text);
    const end = match ? match.index : text.length;
    if (!match && start >= text.length) break;
    // line[:-1]: the newline, or the last character of an unterminated last line.
    const line = match ? text.slice(start, end) : text.slice(start, Math.max(start, end - 1));
    if (line.startsWith("CONFIG_")) {
      const eq = line.indexOf("=", 7);
      if (eq !== -1) options.set(line.slice(7, eq), line.slice(eq + 1));
    }
    if (line.endsWith(" is not set")) options.set(line.slice(9, line.length - 11), "n");
    if (!match) break;
    start = match.index + match[0].length;
  }
  return options;
}

/** How many options a .config sets or leaves unset (`options`), and how many of them are "n" (`unset`). */
export function countOptions(config: Uint8Array | string): { options: number; unset: number } {
  const map = readConfig(typeof config === "string" ? config : decodeConfigText(config));
  let unset = 0;
  for (const v of map.values()) if (v === "n") unset++;
  return { options: map.size, unset };
}

/** A .config's bytes as text (UTF-8; a .config is ASCII but for the strings in it). */
export function decodeConfigText(bytes: Uint8Array): string {
  return new TextDecoder("utf-8").decode(bytes);
}

/** Python's `list.sort()` on str: by code point. */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What `diffConfigs` returns: the three groups of diffconfig, each sorted by name (names without "CONFIG_"). */
export interface ConfigDiff {
  /** Options in the first configuration only, with their value there. */
  removed: ConfigOption[];
  /** Options in both with different values. */
  changed: Array<{ name: string; old: string; new: string }>;
  /** Options in the second configuration only, with their value there. */
  added: ConfigOption[];
}

/** Compares two configurations (from `readConfig`) as scripts/diffconfig does. */
export function diffConfigs(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): ConfigDiff {
  const removed: ConfigOption[] = [];
  const changed: ConfigDiff["changed"] = [];
  const added: ConfigOption[] = [];
  for (const [name, value] of a) {
    const other = b.get(name);
    if (other === undefined) removed.push({ name, value });
    else if (other !== value) changed.push({ name, old: value, new: other });
  }
  for (const [name, value] of b) if (!a.has(name)) added.push({ name, value });
  removed.sort((x, y) => byCodePoint(x.name, y.name));
  changed.sort((x, y) => byCodePoint(x.name, y.name));
  added.sort((x, y) => byCodePoint(x.name, y.name));
  return { removed, changed, added };
}
