/** What may end a shared prefix: a name is cut at a word's start, not inside one. */
const SEPARATORS = /[\s._-]/;

/**
 * Short labels for imported files, keyed by name, for badges too narrow for whole names. Exports
 * of one tool or site share their start (`example.com.har`, `example.com (1).har`), so a badge
 * cut at its end would read the same for both: the part all names share, up to a separator, is
 * left out (`…com (1)`), and so is the `.har` every one of them ends with.
 */
export function fileLabels(files: readonly string[]): ReadonlyMap<string, string> {
  const stems = files.map((file) => file.replace(/\.har$/i, '') || file);
  const shared = stems.length > 1 ? sharedStart(stems) : '';
  return new Map(files.map((file, i) => [file, shared ? `…${stems[i]!.slice(shared.length)}` : stems[i]!]));
}

/** The start all `names` share, ending just after a separator, and leaving each name something after it. */
function sharedStart(names: readonly string[]): string {
  let length = 0;
  const first = names[0]!;
  while (length < first.length && names.every((name) => name.length > length + 1 && name[length] === first[length])) {
    length++;
  }
  while (length > 0 && !SEPARATORS.test(first[length - 1]!)) length--;
  return first.slice(0, length);
}
