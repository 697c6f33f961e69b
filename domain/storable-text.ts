export interface UnstorableText {
  /** Where the text sits in the value: keys and array indexes. */
  path: PropertyKey[];
  message: string;
}

/**
 * Why PostgreSQL would refuse this text, or null. A `text` column refuses a NUL byte, a `jsonb`
 * value a `\u0000` escape and the escape of an unpaired surrogate (JSON.stringify writes one for
 * it); either would end a request in a 500 after part of it ran.
 */
export function unstorableTextProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'must not contain a NUL character (\\u0000)';
  if (!text.isWellFormed()) return 'must be valid Unicode text (it holds an unpaired surrogate)';
  return null;
}

interface Place {
  value: unknown;
  key: PropertyKey | undefined;
  parent: Place | undefined;
}

function pathOf(place: Place): PropertyKey[] {
  const path: PropertyKey[] = [];
  for (let at: Place | undefined = place; at?.key !== undefined; at = at.parent) path.push(at.key);
  return path.reverse();
}

/** Every string and object key in a parsed request part that PostgreSQL would refuse, with where it is. */
export function unstorableTexts(value: unknown): UnstorableText[] {
  const found: UnstorableText[] = [];
  // Iterative, with paths built only for what is found: a value may nest deeper than the call stack goes.
  const pending: Place[] = [{ value, key: undefined, parent: undefined }];
  for (let place = pending.pop(); place; place = pending.pop()) {
    const keyProblem = typeof place.key === 'string' && unstorableTextProblem(place.key);
    if (keyProblem) found.push({ path: pathOf(place), message: `has a name that ${keyProblem}` });
    const current = place.value;
    if (typeof current === 'string') {
      const message = unstorableTextProblem(current);
      if (message) found.push({ path: pathOf(place), message });
    } else if (typeof current === 'object' && current !== null) {
      const children: Place[] = Array.isArray(current)
        ? current.map((item, index) => ({ value: item, key: index, parent: place }))
        : Object.entries(current).map(([key, child]) => ({ value: child, key, parent: place }));
      for (let index = children.length - 1; index >= 0; index--) pending.push(children[index]!);
    }
  }
  return found;
}
