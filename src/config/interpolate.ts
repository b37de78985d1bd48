/**
 * `${NAME}` and `${NAME:-default}` are replaced from the environment before the YAML is parsed
 * (contract section 2). `$${` stays a literal `${`. YAML comments are left alone, so a comment can
 * explain the syntax. Every unset variable is reported, with its line.
 */
export function interpolate(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
): { text: string; problems: string[] } {
  const problems: string[] = [];
  const lines = text.split('\n').map((line, i) => {
    const cut = commentStart(line);
    const code = line
      .slice(0, cut)
      .replace(
        /\$?\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
        (match, name: string, fallback?: string) => {
          if (match.startsWith('$$')) return match.slice(1);
          const value = env[name];
          if (value !== undefined && value !== '') return value;
          if (fallback !== undefined) return fallback;
          problems.push(
            `line ${i + 1}: environment variable ${name} is not set (use \${${name}:-default} for a default)`,
          );
          return '';
        },
      );
    return code + line.slice(cut);
  });
  return { text: lines.join('\n'), problems };
}

/** Index of a `#` that starts a YAML comment (outside quotes, at the start or after a space), or the line's length. */
function commentStart(line: string): number {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || line[i - 1] === ' ' || line[i - 1] === '\t')) {
      return i;
    }
  }
  return line.length;
}
