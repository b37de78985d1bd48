/**
 * `${NAME}` and `${NAME:-default}` are replaced from the environment before the YAML is parsed
 * (contract section 2). `$${` stays a literal `${`. Every unset variable is reported, with its line.
 */
export function interpolate(text: string, env: Readonly<Record<string, string | undefined>>): { text: string; problems: string[] } {
  const problems: string[] = [];
  const out = text.replace(/\$?\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (match, name: string, fallback: string | undefined, offset: number) => {
    if (match.startsWith('$$')) return match.slice(1);
    const value = env[name];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    const line = text.slice(0, offset).split('\n').length;
    problems.push(`line ${line}: environment variable ${name} is not set (use \${${name}:-default} for a default)`);
    return '';
  });
  return { text: out, problems };
}
